// cache/aggregates.cpp: memoized aggregates, built backwards once and extended incrementally.
// Invariant guarded: an aggregate's bins are exactly resample() of every base bar with ts < to,
// minus whole bins at the front; a request never sees a bar that ended after its as-of (a step
// back onto a bin with an overhang rebuilds as of the request).
#include "cache/aggregates.hpp"

#include <algorithm>

#include "barstore/error.hpp"
#include "cache/raw_window.hpp"
#include "query/last_bins.hpp"
#include "query/prewarmed.hpp"

namespace barstore::cache {

namespace {

u64 ratio_of(const Entry& e) { return static_cast<u64>(std::min<i64>(e.tf_ns / e.base_ns, i64{1} << 20)); }

/// Stored bins a prewarmed entry reads past its latest request, so that a forward-stepping
/// backtest reads the store about once per this many bins; and the bins it keeps beyond the
/// largest N before trimming. Both small: the entry's copy is all the heap holds of it, while
/// the store's pages are shared by every process (docs/cache.md, "Prewarmed aggregates").
/// Not smaller: every read decodes a whole stored chunk (up to 4096 bins) to take these, and at
/// 32 that decode was a fifth of a 1h ma_cross backtest's CPU time (156 ms -> 127 ms at 256,
/// 14 KB more per entry).
constexpr std::size_t kPrewarmedAheadBins = 256;
constexpr std::size_t kPrewarmedSlackBins = 16;

i64 add_saturated(i64 a, i64 b) {
    i64 out = 0;
    return __builtin_add_overflow(a, b, &out) ? (b > 0 ? kMaxTs : kMinTs) : out;
}

/// Notes what stored bins [from, size) of e may hold: their bars are not known, only that they
/// start on the base grid before the bin's end, so the latest could end at the last grid point
/// before the end, plus base. Assuming it did marks every bin that might overhang (entry.hpp),
/// so a request never serves one holding a bar that had not ended by its as-of. A stored bin
/// may carry kVolumeOverflow.
void mark_stored(Entry& e, std::size_t from) {
    for (std::size_t i = from; i < e.bars.size(); ++i) {
        const i64 end = e.ends[i];
        i64 last_start = end - 1;
        last_start -= ((last_start % e.base_ns) + e.base_ns) % e.base_ns;
        if (last_start + e.base_ns > end) e.overhang.push_back({e.bars.ts[i], last_start + e.base_ns});
    }
    e.maybe_overflowed = true;
}

/// Room for `rows` bins in e, allocated exactly: a prewarmed entry's size cycles within a few
/// bins, so this allocates about once, where doubling would hold nearly twice the bins for good.
void reserve_exactly(Entry& e, std::size_t rows) {
    if (e.ends.capacity() >= rows && e.bars.ts.capacity() >= rows) return;
    for (auto* col : e.bars.columns()) col->reserve(rows);
    e.ends.reserve(rows);
}

/// The store holds (tf, a) of the series damaged, or not as the hint said: stop asking it. The
/// entry then keeps history, spills and extends from the raw window like any other.
void forget_prewarmed(SeriesState& s, const Entry& e) {
    if (!s.prewarmed) return;
    const AggregateSpec spec{Duration{e.tf_ns}, e.align};
    std::erase(*s.prewarmed, spec);
}

/// Extends a prewarmed entry to hi from the store's bins, without a raw window: drops the bins
/// still forming when they were folded (only near the series' end), appends the stored whole
/// bins that follow, through the one holding hi and kPrewarmedAheadBins more, and folds base
/// bars only past the last whole stored bin. False, with e's bins whole up to e.to, when the
/// store could not serve them (a damaged chunk: the series then stops asking it) or e holds no
/// whole bin (the series' first bins): the caller extends from base bars instead.
bool extend_prewarmed(Source& src, SeriesState& s, Entry& e, i64 hi) {
    const std::size_t whole = e.closed_at(e.to);
    if (whole == 0) return false;
    e.drop_back(whole);  // if any bin was forming, e.to is now the last whole bin's end
    // Every bar before e.to is in e's bins, all whole: the bins that follow the last one hold
    // only bars from e.to on (bins never overlap, and a bin [label, end) holds its bars).
    const i64 lo = e.ends.back();
    const i64 until = add_saturated(std::max(hi, e.to), static_cast<i64>(kPrewarmedAheadBins) * e.tf_ns);
    const AggregateSpec spec{Duration{e.tf_ns}, e.align};
    src.note_read();
    auto more = prewarmed::range_complete(*src.store, s.key, spec, s.generation, *e.binner, lo, until, s.last_close);
    if (!more) {
        forget_prewarmed(s, e);
        return false;
    }
    if (!more->bins.empty()) {
        const std::size_t from = e.bars.size();
        reserve_exactly(e, from + more->bins.size());
        e.bars.append(more->bins, 0, more->bins.size());
        e.ends.insert(e.ends.end(), more->ends.begin(), more->ends.end());
        mark_stored(e, from);
        e.to = std::max(e.to, e.ends.back());
    }
    // Every stored bin labelled before `until` came, whole: so did every bar before `until` (a
    // bar's bin starts at or before it). A gap in the series is crossed in one read, not one a step.
    if (!more->cut_short) e.to = std::max(e.to, until);
    // Past the last whole stored bin (the series' end): the forming bins, from base bars.
    if (e.to < hi) {
        reserve_exactly(e, e.bars.size() + 2);  // the bin of the last bar, and one overhanging it
        src.note_read();
        src.store->scan(s.key, at(e.to), at(hi), [&](const BarColumns& piece) { e.fold(piece, 0, piece.size()); });
        e.to = hi;
    }
    e.dirty = true;
    return true;
}

/// Builds the bins as of t from the store's prewarmed aggregate of e's timeframe and alignment,
/// if it holds one current at the series' generation: its last n bins that are whole by hi
/// (query/prewarmed.hpp), then the base bars after them, folded as usual. False, with e as it
/// was, when it holds none (or a damaged one): the caller aggregates base bars instead.
bool rebuild_prewarmed(Source& src, SeriesState& s, Entry& e, i64 t, std::size_t n) {
    const i64 hi = hi_of(t, e.base_ns);
    if (s.last_close == kMinTs) return false;
    const AggregateSpec spec{Duration{e.tf_ns}, e.align};
    if (!s.prewarmed) {
        s.prewarmed.emplace();
        try {
            for (const auto& p : src.store->prewarmed(s.key))
                if (p.current) s.prewarmed->push_back(p.spec);
        } catch (const Error&) {
            // A damaged record: its aggregates are not read; base bars answer.
        }
    }
    if (!s.holds_prewarmed(e.tf_ns, e.align)) return false;
    n = std::max<std::size_t>(n, 1);
    auto stored = prewarmed::last_complete(*src.store, s.key, spec, s.generation, *e.binner, n, hi,
                                           prewarmed::cut_of(hi, s.last_close));
    // Fewer than n whole bins but older ones exist: not what the bins can be (prewarmed.hpp).
    if (!stored || stored->bins.empty() || (stored->bins.size() < n && !stored->at_start)) return false;
    src.note_read();  // the bins were read: the call's end checks that no write came between
    const i64 resume = stored->resume();
    e.reset_bins();
    e.bars = std::move(stored->bins);
    e.ends = std::move(stored->ends);
    e.at_start = stored->at_start;
    mark_stored(e, 0);
    // Room for the forming bins below and a first read ahead (extend_prewarmed), allocated now:
    // a push_back onto exactly n bins would double them for good.
    reserve_exactly(e, e.bars.size() + kPrewarmedAheadBins + 2);
    // Bins never overlap: every base bar from the last stored bin's end on is in a later bin.
    if (resume < hi) {
        src.note_read();
        src.store->scan(s.key, at(resume), at(hi), [&](const BarColumns& piece) { e.fold(piece, 0, piece.size()); });
    }
    e.to = hi;
    e.built = true;
    e.dirty = true;
    ++src.st->prewarmed_hits;
    return true;
}

/// Builds the bins from scratch as of t, with at least n closed ones if the series has them:
/// from prewarmed bins when the store has them, else folding base bars backwards like query(),
/// chunk by chunk until enough bins closed at t are whole (query/last_bins.hpp), so only the
/// chunks holding them are decoded. At least one: the newest bin, whole up to hi, is what a
/// later extend() folds on.
void rebuild(Source& src, SeriesState& s, Entry& e, i64 t, std::size_t n) {
    if (rebuild_prewarmed(src, s, e, t, n)) return;
    const i64 hi = hi_of(t, e.base_ns);
    src.note_read();
    last_bins::LastBins got;
    try {
        got = last_bins::fold_last(*src.store, s.key, *e.binner, at(hi), {std::max<std::size_t>(n, 1), kMaxTs, t});
    } catch (const InvalidInput&) {
        // The Binner refused a bar: unbuilt, as fold() leaves it. (A store error leaves e as it
        // was, as the read before the fold did: its bins are still those of its own reads.)
        e.reset_bins();
        e.built = false;
        e.dirty = true;
        throw;
    }
    e.assign_bins(std::move(got.bins), std::move(got.ends), got.last_ts);
    e.at_start = got.at_start;
    e.to = hi;
    e.built = true;
    e.dirty = true;
}

/// Folds the base bars in [e.to, hi) into the bins: from the series' raw window, which reads
/// ahead, and from the store for any part the window does not hold.
void extend(Source& src, Resident& held, SeriesState& s, Entry& e, i64 hi) {
    bool created = false, rehydrated = false;
    Entry& raw = held.raw_entry(s, created, rehydrated);
    if (rehydrated) ++src.st->spill_hits;
    reach_raw(src, s.key, raw, e.to, hi);
    i64 lo = e.to;
    if (lo < raw.from) {
        const i64 stop = std::min(raw.from, hi);
        src.note_read();
        src.store->scan(s.key, at(lo), at(stop), [&](const BarColumns& piece) { e.fold(piece, 0, piece.size()); });
        lo = stop;
    }
    if (lo < hi) e.fold(raw.bars, lower(raw, lo), lower(raw, hi));
    e.to = hi;
    e.dirty = true;
    settle_raw(src, raw, hi);
    held.account(raw);
}

}  // namespace

bool serve_agg(Source& src, Resident& held, SeriesState& s, Entry& e, i64 t, std::size_t n) {
    const i64 hi = hi_of(t, e.base_ns);
    e.want = std::max(e.want, n);
    // History beyond what requests ask for is speculative; for an aggregate the store holds
    // prewarmed it is in the store's shared pages already, so the heap keeps only what is asked.
    const bool prewarmed = s.holds_prewarmed(e.tf_ns, e.align);
    const std::size_t keep = prewarmed ? e.want : std::max(src.opts->history_bars, e.want);
    const std::size_t extra = prewarmed ? kPrewarmedSlackBins : slack(keep);
    bool miss = false;
    if (!e.built) {
        rebuild(src, s, e, t, n);
        miss = true;
    } else if (hi > e.to) {
        // Folding a long gap costs more than building n bins afresh.
        if (span_bars(e.to, hi, e.base_ns) > (n + 2) * ratio_of(e) + src.opts->lookahead_bars) {
            rebuild(src, s, e, t, n);
            miss = true;
        } else if (!prewarmed || !extend_prewarmed(src, s, e, hi)) {
            extend(src, held, s, e, hi);
        }
    }
    std::size_t j = e.closed_at(t);
    // Stepped back: the bins hold bars that ended after t. Bins closed at t are complete at
    // t, except an overhang bin, whose later bars must not be seen: rebuild as of t.
    if (e.to > hi && j > 0 && e.incomplete_at(j - 1, t)) {
        rebuild(src, s, e, t, n);
        miss = true;
        j = e.closed_at(t);
    }
    if (j < n && !e.at_start) {
        rebuild(src, s, e, t, n);  // more history than held (or a jump back before it)
        miss = true;
        j = e.closed_at(t);
    }
    e.pos = t;
    if (j > keep + extra) {
        e.drop_front(j - keep);
        e.dirty = true;
    }
    return miss;
}

}  // namespace barstore::cache
