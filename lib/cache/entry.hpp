// cache/entry.hpp: one resident entry of the Reader: a raw window of a series' base bars, or the
// memoized bins of one (timeframe, alignment) with the incremental fold that extends them.
// The invariants each kind keeps are stated on the fields; the rest of lib/cache relies on them.
#pragma once
#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <vector>

#include "aggregate/binner.hpp"
#include "barstore/resample.hpp"
#include "barstore/types.hpp"
#include "cache/lru.hpp"

namespace barstore::cache {

using i64 = std::int64_t;
using u64 = std::uint64_t;
inline constexpr i64 kMinTs = std::numeric_limits<i64>::min();
inline constexpr i64 kMaxTs = std::numeric_limits<i64>::max();

enum class Kind : std::uint8_t { raw = 0, aggregate = 1 };

/// A bin whose last bar ends after the bin does: a session close or a Monday week start that is
/// off the base grid (base 1h with a 15:45 close; base 1w bars on Thursdays). Rare, so kept
/// apart; for it "closed at t" does not imply "complete at t", which the Reader must respect.
struct Overhang {
    i64 label = 0;
    i64 done_at = 0;  ///< the bin's last folded bar's ts + base
};

struct SeriesState;

struct Entry {
    Kind kind = Kind::raw;
    i64 base_ns = 0, tf_ns = 0;
    Alignment align = Alignment::utc;

    /// raw: base bars. aggregate: bins, the last possibly still forming.
    BarColumns bars;
    /// aggregate: where each bin closes (Binner's end), strictly increasing.
    std::vector<i64> ends;
    /// aggregate: the bins with an overhang, by label.
    std::vector<Overhang> overhang;

    /// raw: every bar of the series with from <= ts < to is in `bars`, and no other (from ==
    /// kMinTs: bars start at the series' first bar; to == kMaxTs: they reach its last).
    /// aggregate: `bars` == the bins of resample(every bar with ts < to), minus whole bins at the
    /// front; `from` unused.
    i64 from = 0, to = 0;
    /// aggregate: no bin was dropped at the front (the bins start at the series' first bar).
    bool at_start = false;
    /// The most bars (raw) or bins (aggregate) one request has asked of this entry.
    std::size_t want = 0;
    /// The as-of of the latest request (raw: hi = as_of - base + 1), for trimming.
    i64 pos = 0;
    /// aggregate: false only when no bin is known to have a negative (overflowed) volume, so
    /// check_sums costs nothing. True for a new entry, whose bins may come from the spill.
    mutable bool maybe_overflowed = true;
    /// aggregate: bin boundaries; one per entry so its session calendar cache stays warm.
    std::optional<aggregate::Binner> binner;

    // Bookkeeping owned by the Reader.
    SeriesState* series = nullptr;
    LruHook<Entry> lru;  ///< recency in its tier; its cost is the bytes as last accounted
    bool dirty = true;          ///< differs from (or has no) spilled copy
    /// from/to (raw) or the bins (aggregate) describe bars that were read; false for a new entry.
    bool built = false;

    /// Bytes held: vector capacities plus a fixed overhead.
    u64 held_bytes() const noexcept;

    /// aggregate: folds base bars [first, last) of `in` (in time order, after every bar folded so
    /// far) into the bins. Same result however the bars are split across calls. A bin whose
    /// volume does not fit int64 gets a negative volume (aggregate::kVolumeOverflow), which no
    /// sum of stored (non-negative) volumes can be, so the mark survives the spill. If the Binner
    /// throws (a stored bar outside the supported range), the bins are dropped and `built` is
    /// cleared: a half-folded entry must never be extended.
    void fold(const BarColumns& in, std::size_t first, std::size_t last);
    /// aggregate: replaces the bins with `b` (oldest first), `e` where each closes and `last_ts`
    /// each one's last base bar: what fold() would leave from the bars of those bins, for a build
    /// that folded them backwards (query/last_bins.hpp). at_start is left to the caller.
    void assign_bins(BarColumns b, std::vector<i64> e, std::span<const i64> last_ts);
    /// aggregate: throws InvalidInput naming the first of bins [a, b) whose volume overflowed.
    void check_sums(std::size_t a, std::size_t b) const;
    /// aggregate: forgets every bin (before a rebuild).
    void reset_bins();
    /// Drops rows [0, k) (both kinds); an aggregate then no longer starts at the series' start.
    void drop_front(std::size_t k);
    /// Drops the rows from `keep` on. raw: `to` becomes the first dropped bar's ts. aggregate
    /// (keep > 0): `to` becomes the last kept bin's end (bins never overlap: every bar from there
    /// on is in a dropped or a later bin).
    void drop_back(std::size_t keep);
    /// Releases spare capacity (after a trim under budget pressure).
    void shrink();

    /// Number of bins closed at t: those with end <= t (a prefix, since ends increase).
    std::size_t closed_at(i64 t) const;
    /// Whether bin i holds a bar that ended after t (only an overhang bin can, once it closed).
    bool incomplete_at(std::size_t i, i64 t) const;

private:
    void note_last_bar(i64 label, i64 end, i64 last_ts);
};

// ---- arithmetic shared by raw windows, aggregates and the budget ----------------------------

inline Timestamp at(i64 t) { return Timestamp{Duration{t}}; }
inline i64 ns(Timestamp t) { return t.time_since_epoch().count(); }

/// Bars with ts < hi have ended by t (ts + base <= t).
inline i64 hi_of(i64 t, i64 base) { return t < kMinTs + base ? kMinTs : t - base + 1; }

/// An upper bound on the bars of one series in [a, b): one per base step.
inline u64 span_bars(i64 a, i64 b, i64 base) {
    if (b <= a) return 0;
    return (static_cast<u64>(b) - static_cast<u64>(a)) / static_cast<u64>(base);
}

/// Trimming waits until this many rows beyond `keep` pile up, so it costs O(1) per step.
inline std::size_t slack(std::size_t keep) { return keep / 4 + 64; }

/// The first row of e at or after t.
inline std::size_t lower(const Entry& e, i64 t) {
    return static_cast<std::size_t>(std::lower_bound(e.bars.ts.begin(), e.bars.ts.end(), t) - e.bars.ts.begin());
}

}  // namespace barstore::cache
