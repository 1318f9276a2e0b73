// cache/resident.cpp: the entries a Reader holds, their bytes, and the budget over them.
// Invariants guarded: resident bytes <= budget_bytes at the end of every call (the entry being
// answered may exceed it alone, and then is dropped after its answer is copied); eviction takes
// aggregates before raw windows, least recently used first within each, and spills what it takes
// (but an aggregate the store holds prewarmed: the store is its copy).
#include "cache/resident.hpp"

#include <algorithm>

#include "aggregate/binner.hpp"
#include "barstore/time.hpp"

namespace barstore::cache {

namespace {

/// Under budget pressure a raw window still keeps this many bars behind its latest request, so
/// aggregates of the series that lag it by a step or two still fold from memory.
constexpr std::size_t kPressureRawKeep = 256;

}  // namespace

Resident::Resident(const ReaderOptions& opts, ReaderStats& st, const std::filesystem::path& store_dir)
    : opts_(opts), st_(st) {
    if (!opts.spill_dir.empty()) spill_ = std::make_unique<SpillTier>(opts.spill_dir, opts.spill_budget_bytes, store_dir);
}

// ---- entries --------------------------------------------------------------------------------

void Resident::insert(Entry& e) { lru_of(e).push(e, e.held_bytes()); }

bool Resident::rehydrate(const SeriesState& s, Entry& e) {
    if (!spill_ || !spill_->load(id_of(s, e), e)) return false;
    e.built = true;
    e.dirty = false;
    return true;
}

Entry& Resident::raw_entry(SeriesState& s, bool& created, bool& rehydrated) {
    if (s.raw) {
        raw_lru_.touch(*s.raw);
        return *s.raw;
    }
    auto e = std::make_unique<Entry>();
    e->kind = Kind::raw;
    e->base_ns = e->tf_ns = s.key.base.count();
    e->series = &s;
    rehydrated = rehydrate(s, *e);
    created = true;
    s.raw = std::move(e);
    insert(*s.raw);
    return *s.raw;
}

Entry& Resident::agg_entry(SeriesState& s, i64 tf, Alignment a, bool& created, bool& rehydrated) {
    for (auto& e : s.aggs)
        if (e->tf_ns == tf && e->align == a) {
            agg_lru_.touch(*e);
            return *e;
        }
    auto e = std::make_unique<Entry>();
    e->kind = Kind::aggregate;
    e->base_ns = s.key.base.count();
    e->tf_ns = tf;
    e->align = a;
    e->series = &s;
    e->binner.emplace(s.key.base, Duration{tf}, a, s.session,  // throws InvalidInput first
                      s.key.symbol + " " + format_timeframe(s.key.base));
    rehydrated = !s.holds_prewarmed(tf, a) && rehydrate(s, *e);
    created = true;
    s.aggs.push_back(std::move(e));
    insert(*s.aggs.back());
    return *s.aggs.back();
}

std::unique_ptr<Entry> Resident::detach(Entry& e) {
    lru_of(e).erase(e);
    return release(e);
}

std::unique_ptr<Entry> Resident::release(Entry& e) {
    SeriesState& s = *e.series;
    if (e.kind == Kind::raw) return std::move(s.raw);
    const auto it = std::find_if(s.aggs.begin(), s.aggs.end(), [&](const auto& p) { return p.get() == &e; });
    auto out = std::move(*it);
    s.aggs.erase(it);
    return out;
}

void Resident::forget_series(SeriesState& s) {
    auto drop = [&](std::unique_ptr<Entry>& e) {
        lru_of(*e).erase(*e);
        e.reset();
    };
    if (s.raw) drop(s.raw);
    for (auto& e : s.aggs) drop(e);
    s.aggs.clear();
    if (spill_) spill_->drop_series(s.key);
}

// ---- the budget -----------------------------------------------------------------------------

/// Gives up what is held speculatively: history no request has asked for (what history_bars
/// keeps beyond the largest N) and, in raw windows, bars read ahead beyond lookahead_bars.
void Resident::pressure_trim(Entry& e) {
    const u64 before = EntryLru::cost_of(e);
    std::size_t pos_idx = 0, keep = 0;
    if (e.kind == Kind::raw) {
        pos_idx = lower(e, e.pos);
        keep = std::max(e.want, kPressureRawKeep);
        if (e.bars.size() - pos_idx > opts_.lookahead_bars) {
            e.drop_back(pos_idx + opts_.lookahead_bars);
            e.dirty = true;
        }
    } else {
        pos_idx = e.closed_at(e.pos);
        keep = std::max<std::size_t>(e.want, 1);
    }
    if (pos_idx > keep) {
        e.drop_front(pos_idx - keep);
        e.dirty = true;
    }
    e.shrink();
    account(e);
    if (EntryLru::cost_of(e) < before) ++st_.trims;
}

void Resident::make_room(Entry* served) {
    const u64 budget = opts_.budget_bytes;
    for (EntryLru* l : {&agg_lru_, &raw_lru_})
        for (Entry* e = l->coldest(); e && bytes() > budget; e = EntryLru::warmer(*e)) pressure_trim(*e);
    // Each tier is shed to what the other leaves of the budget: aggregates first, then raw
    // windows, least recently used first in each, the entry being answered spared.
    std::vector<std::unique_ptr<Entry>> out;
    auto take = [&](Entry& e) { out.push_back(release(e)); };
    agg_lru_.shed(budget - std::min(budget, raw_lru_.total_cost()), served, take);
    raw_lru_.shed(budget - std::min(budget, agg_lru_.total_cost()), served, take);
    evict(out);
}

void Resident::evict(std::vector<std::unique_ptr<Entry>>& out) {
    if (out.empty()) return;
    st_.evictions += out.size();
    if (spill_ && spill_->enabled()) {
        std::vector<SpillTier::Item> items;
        items.reserve(out.size());
        for (const auto& e : out)
            if (e->kind == Kind::aggregate ? !e->series->holds_prewarmed(e->tf_ns, e->align) : opts_.spill_raw_windows)
                items.push_back({id_of(*e->series, *e), e.get()});
        st_.spills += spill_->put(items);
    }
    out.clear();
}

BarView Resident::transient(Entry& e, std::size_t a, std::size_t b) {
    scratch_.clear();
    scratch_.append(e.bars, a, b);
    auto gone = detach(e);
    ++st_.transients;
    return view_of(scratch_, 0, scratch_.size());
}

void Resident::clear() {
    std::vector<std::unique_ptr<Entry>> out;
    for (EntryLru* l : {&agg_lru_, &raw_lru_})
        while (Entry* e = l->coldest()) out.push_back(detach(*e));
    evict(out);
}

void Resident::fill_stats(ReaderStats& s) const {
    s.raw_bytes = raw_lru_.total_cost();
    s.aggregate_bytes = agg_lru_.total_cost();
    s.resident_bytes = bytes();
    s.raw_entries = raw_lru_.size();
    s.aggregate_entries = agg_lru_.size();
    if (spill_) {
        s.spill_bytes = spill_->bytes();
        s.spill_entries = spill_->entries();
        s.spill_evictions = spill_->evictions();
        s.spill_errors = spill_->errors();
        s.spill_disabled = !spill_->enabled();
        s.spill_disabled_reason = spill_->disabled_reason();
    }
}

}  // namespace barstore::cache
