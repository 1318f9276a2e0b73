// cache/resident.hpp: what a Reader holds in memory: each series' entries, in two cost-bounded
// LRUs (aggregates, raw windows) whose costs are the bytes held, the byte budget enforced over
// both at the end of every call, and what is evicted sent to the spill (docs/cache.md, "The budget").
#pragma once
#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "barstore/reader.hpp"
#include "barstore/session.hpp"
#include "cache/entry.hpp"
#include "cache/lru.hpp"
#include "cache/spill.hpp"

namespace barstore::cache {

/// What the Reader knows of one series: its catalog generation and session, and its entries.
struct SeriesState {
    SeriesKey key;
    u64 generation = 0;
    u64 checked_version = 0;  // the store version at which `generation` was last confirmed
    Session session;
    std::string session_text;
    bool session_24x7 = true;
    /// The close (ts + base) of the series' last bar at `generation`; kMinTs when it has none.
    /// A prewarmed bin ending after it may still be forming: it is never served from the store.
    i64 last_close = kMinTs;
    /// The aggregates the store held prewarmed and current when first asked at `generation`
    /// (Store::prewarmed); unset until a build asks. A hint that spares series without any a
    /// read per build: the read of the bins checks the generation itself.
    std::optional<std::vector<AggregateSpec>> prewarmed;
    /// Whether the store holds the aggregate (tf, a) prewarmed and current, as far as `prewarmed`
    /// knows: the store is then the entry's disk copy, shared by every process and cheap to read
    /// again, so the entry keeps no history beyond what requests ask for and is neither spilled
    /// nor re-hydrated (docs/cache.md, "Prewarmed aggregates").
    bool holds_prewarmed(i64 tf, Alignment a) const {
        if (!prewarmed) return false;
        const AggregateSpec spec{Duration{tf}, a};
        return std::find(prewarmed->begin(), prewarmed->end(), spec) != prewarmed->end();
    }
    std::unique_ptr<Entry> raw;
    std::vector<std::unique_ptr<Entry>> aggs;  // a handful per series: a linear search is fastest
};

/// Rows [a, b) of c as a view (valid while c is not changed).
inline BarView view_of(const BarColumns& c, std::size_t a, std::size_t b) {
    auto s = [&](const std::vector<i64>& v) { return std::span<const i64>(v.data() + a, b - a); };
    return {s(c.ts), s(c.open), s(c.high), s(c.low), s(c.close), s(c.volume)};
}

class Resident {
public:
    /// Reads `opts` (budget, spill settings, lookahead_bars) and writes the eviction counters of
    /// `st` for as long as it lives: both are the Reader's, and outlive it. Opens the spill tier
    /// if opts.spill_dir is set (throws InvalidInput if that is not a spill directory).
    Resident(const ReaderOptions& opts, ReaderStats& st, const std::filesystem::path& store_dir);

    /// The series' raw window, now the most recently used; made if absent (`created`), from its
    /// spilled copy if there is one (`rehydrated`, counted by the caller), else empty and unbuilt.
    Entry& raw_entry(SeriesState& s, bool& created, bool& rehydrated);
    /// The same for the aggregate (tf, a) of the series. Throws InvalidInput, having made
    /// nothing, if the series' base and session allow no such bins.
    Entry& agg_entry(SeriesState& s, i64 tf, Alignment a, bool& created, bool& rehydrated);
    /// Counts e's bytes again, after it grew or shrank.
    void account(Entry& e) {
        (e.kind == Kind::raw ? raw_lru_ : agg_lru_).set_cost(e, e.held_bytes());
    }

    /// Drops every resident entry of the series without spilling (they are stale or orphaned),
    /// and deletes its spilled copies.
    void forget_series(SeriesState& s);
    /// Brings resident bytes within the budget, sparing `served`: first unrequested history,
    /// then least recently used aggregates, then least recently used raw windows, to the spill.
    /// Inline: on every call, and nearly always one comparison.
    void enforce(Entry* served) {
        if (bytes() > opts_.budget_bytes) make_room(served);
    }
    /// Rows [a, b) of e, after enforce(): a view into e, or into a buffer of its own if e alone
    /// is over the budget (then e is dropped: a transient answer).
    BarView answer(Entry& e, std::size_t a, std::size_t b) {
        if (bytes() <= opts_.budget_bytes) return view_of(e.bars, a, b);
        return transient(e, a, b);
    }
    /// Evicts every entry (to the spill).
    void clear();

    u64 bytes() const noexcept { return raw_lru_.total_cost() + agg_lru_.total_cost(); }
    /// Sizes, entry counts and the spill's state, into `s`.
    void fill_stats(ReaderStats& s) const;

private:
    using EntryLru = CostLru<Entry, &Entry::lru>;
    EntryLru& lru_of(const Entry& e) { return e.kind == Kind::raw ? raw_lru_ : agg_lru_; }
    void insert(Entry& e);
    bool rehydrate(const SeriesState& s, Entry& e);
    /// Takes e out of its LRU and its series; the caller now owns it.
    std::unique_ptr<Entry> detach(Entry& e);
    /// Takes e, already out of its LRU, out of its series.
    std::unique_ptr<Entry> release(Entry& e);
    void pressure_trim(Entry& e);
    /// enforce() when over the budget.
    void make_room(Entry* served);
    /// answer() when e alone is over the budget.
    BarView transient(Entry& e, std::size_t a, std::size_t b);
    void evict(std::vector<std::unique_ptr<Entry>>& out);

    const ReaderOptions& opts_;
    ReaderStats& st_;
    EntryLru agg_lru_, raw_lru_;
    BarColumns scratch_;  // a transient answer's bars
    std::unique_ptr<SpillTier> spill_;
};

/// The name of e (an entry of series s) in the spill.
inline EntryId id_of(const SeriesState& s, const Entry& e) {
    return {&s.key, s.generation, &s.session_text, e.kind, e.tf_ns, e.align};
}

}  // namespace barstore::cache
