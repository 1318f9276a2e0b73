// cache/reader.cpp: the Reader: series validated by generation on every call, raw windows counted
// in bars, memoized aggregates extended incrementally, the byte budget enforced at the end of every
// call, and eviction to the spill. Invariants: every answer equals query() for the same request (no
// bar with ts + base > as_of is ever folded into or returned by one); resident <= budget after
// every call; an entry is only ever used with the generation it was built from.
#include "barstore/reader.hpp"

#include <algorithm>
#include <functional>
#include <unordered_map>

#include "aggregate/binner.hpp"
#include "barstore/error.hpp"
#include "barstore/session.hpp"
#include "barstore/time.hpp"
#include "cache/entry.hpp"
#include "cache/spill.hpp"

namespace barstore {

Bar BarView::row(std::size_t i) const {
    return Bar{Timestamp{Duration{ts[i]}}, open[i], high[i], low[i], close[i], volume[i]};
}

BarColumns BarView::to_columns() const {
    BarColumns c;
    c.ts.assign(ts.begin(), ts.end());
    c.open.assign(open.begin(), open.end());
    c.high.assign(high.begin(), high.end());
    c.low.assign(low.begin(), low.end());
    c.close.assign(close.begin(), close.end());
    c.volume.assign(volume.begin(), volume.end());
    return c;
}

namespace cache {

/// What the Reader knows of one series: its catalog generation and session, and its entries.
struct SeriesState {
    SeriesKey key;
    u64 generation = 0;
    u64 checked_version = 0;  // the store version at which `generation` was last confirmed
    Session session;
    std::string session_text;
    bool session_24x7 = true;
    std::unique_ptr<Entry> raw;
    std::vector<std::unique_ptr<Entry>> aggs;  // a handful per series: a linear search is fastest
};

struct KeyHash {
    std::size_t operator()(const SeriesKey& k) const noexcept {
        return std::hash<std::string>{}(k.symbol) ^ (static_cast<std::size_t>(k.base.count()) * 0x9E3779B97F4A7C15ull);
    }
};

/// Intrusive LRU list: head is the most recently used.
struct Lru {
    Entry* head = nullptr;
    Entry* tail = nullptr;
    std::size_t count = 0;

    void push_front(Entry* e) {
        e->lru_prev = nullptr;
        e->lru_next = head;
        if (head) head->lru_prev = e;
        head = e;
        if (!tail) tail = e;
        ++count;
    }
    void remove(Entry* e) {
        (e->lru_prev ? e->lru_prev->lru_next : head) = e->lru_next;
        (e->lru_next ? e->lru_next->lru_prev : tail) = e->lru_prev;
        e->lru_prev = e->lru_next = nullptr;
        --count;
    }
    void touch(Entry* e) {
        if (head == e) return;
        remove(e);
        push_front(e);
    }
};

namespace {

constexpr i64 kWeekNs = 7 * 86'400'000'000'000;
/// Under budget pressure a raw window still keeps this many bars behind its latest request, so
/// aggregates of the series that lag it by a step or two still fold from memory.
constexpr std::size_t kPressureRawKeep = 256;

Timestamp at(i64 t) { return Timestamp{Duration{t}}; }
i64 ns(Timestamp t) { return t.time_since_epoch().count(); }

/// Bars with ts < hi have ended by t (ts + base <= t).
i64 hi_of(i64 t, i64 base) { return t < kMinTs + base ? kMinTs : t - base + 1; }

/// An upper bound on the bars of one series in [a, b): one per base step.
u64 span_bars(i64 a, i64 b, i64 base) {
    if (b <= a) return 0;
    return (static_cast<u64>(b) - static_cast<u64>(a)) / static_cast<u64>(base);
}

/// Trimming waits until this many rows beyond `keep` pile up, so it costs O(1) per step.
std::size_t slack(std::size_t keep) { return keep / 4 + 64; }

std::size_t lower(const Entry& e, i64 t) {
    return static_cast<std::size_t>(std::lower_bound(e.bars.ts.begin(), e.bars.ts.end(), t) - e.bars.ts.begin());
}

BarView view_of(const BarColumns& c, std::size_t a, std::size_t b) {
    auto s = [&](const std::vector<i64>& v) { return std::span<const i64>(v.data() + a, b - a); };
    return {s(c.ts), s(c.open), s(c.high), s(c.low), s(c.close), s(c.volume)};
}

/// tf == base under utc alignment is the identity on base bars (each bar its own bin), except for
/// week multiples, whose bins start on Mondays while base-aligned bars start on Thursdays.
bool is_raw_request(i64 base, i64 tf, Alignment a) { return tf == base && a == Alignment::utc && base % kWeekNs != 0; }

}  // namespace

}  // namespace cache

using cache::Entry;
using cache::i64;
using cache::Kind;
using cache::kMaxTs;
using cache::kMinTs;
using cache::SeriesState;
using cache::u64;

struct Reader::Impl {
    const Store* store;
    ReaderOptions opts;
    std::unordered_map<SeriesKey, std::unique_ptr<SeriesState>, cache::KeyHash> series;
    cache::Lru agg_lru, raw_lru;
    ReaderStats st;
    u64 raw_bytes = 0, agg_bytes = 0;
    BarColumns scratch;  // a transient answer's bars
    std::unique_ptr<cache::SpillTier> spill;
    bool read_in_call = false;
    Impl(const Store& s, ReaderOptions o) : store(&s), opts(std::move(o)) {
        // Far beyond any use, and small enough that no bar count below can overflow.
        opts.history_bars = std::min(opts.history_bars, std::size_t{1} << 32);
        opts.lookahead_bars = std::min(opts.lookahead_bars, std::size_t{1} << 32);
        if (!opts.spill_dir.empty())
            spill = std::make_unique<cache::SpillTier>(opts.spill_dir, opts.spill_budget_bytes, s.path());
    }

    u64 resident() const { return raw_bytes + agg_bytes; }
    cache::Lru& lru_of(const Entry& e) { return e.kind == Kind::raw ? raw_lru : agg_lru; }

    void account(Entry& e) {
        const u64 now = e.held_bytes();
        u64& tier = e.kind == Kind::raw ? raw_bytes : agg_bytes;
        tier = tier - e.bytes + now;
        e.bytes = now;
    }

    cache::EntryId id_of(const SeriesState& s, const Entry& e) const {
        return {&s.key, s.generation, &s.session_text, e.kind, e.tf_ns, e.align};
    }

    // ---- series -------------------------------------------------------------------------------

    /// Drops every resident entry of the series without spilling (they are stale or orphaned).
    void drop_entries(SeriesState& s) {
        auto drop = [&](std::unique_ptr<Entry>& e) {
            lru_of(*e).remove(e.get());
            (e->kind == Kind::raw ? raw_bytes : agg_bytes) -= e->bytes;
            e.reset();
        };
        if (s.raw) drop(s.raw);
        for (auto& e : s.aggs) drop(e);
        s.aggs.clear();
    }

    /// Changes with every write to the store, ours or another process's (Store::version). It
    /// costs a read transaction begin (~60 ns), a catalog lookup with session decoding about
    /// three times that, and it is paid on every call.
    u64 version() const { return store->version(); }

    /// What we hold of the series is still the series: nothing was written to the store since it
    /// was last confirmed, or the catalog's generation is unchanged.
    SeriesState& validate(const SeriesKey& key) {
        const u64 v = version();
        auto it = series.find(key);
        if (it != series.end() && it->second->checked_version == v) return *it->second;
        const auto info = store->info_fast(key);
        if (!info) {
            if (it != series.end()) {
                drop_entries(*it->second);
                if (spill) spill->drop_series(key);
                series.erase(it);
            }
            throw NotFound("no series " + key.symbol + " at " + format_timeframe(key.base));
        }
        if (it == series.end()) {
            auto s = std::make_unique<SeriesState>();
            s->key = key;
            it = series.emplace(key, std::move(s)).first;
        } else if (it->second->generation == info->generation) {
            it->second->checked_version = v;
            return *it->second;
        } else {
            // Written since (append, replace, re-ingest, new session): nothing held may be served.
            drop_entries(*it->second);
            if (spill) spill->drop_series(key);
        }
        SeriesState& s = *it->second;
        s.checked_version = v;
        s.generation = info->generation;
        s.session = info->session;
        s.session_text = format_session(info->session);
        s.session_24x7 = info->session.is_24x7();
        return s;
    }

    // ---- entries ------------------------------------------------------------------------------

    void insert(Entry& e) {
        lru_of(e).push_front(&e);
        account(e);
    }

    /// Loads the entry's spilled copy, if any. Counted by the caller.
    bool rehydrate(const SeriesState& s, Entry& e) {
        if (!spill || !spill->load(id_of(s, e), e)) return false;
        e.built = true;
        e.dirty = false;
        return true;
    }

    Entry& raw_entry(SeriesState& s, bool& created, bool& rehydrated) {
        if (s.raw) {
            raw_lru.touch(s.raw.get());
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

    Entry& agg_entry(SeriesState& s, i64 tf, Alignment a, bool& created, bool& rehydrated) {
        for (auto& e : s.aggs)
            if (e->tf_ns == tf && e->align == a) {
                agg_lru.touch(e.get());
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
        rehydrated = rehydrate(s, *e);
        created = true;
        s.aggs.push_back(std::move(e));
        insert(*s.aggs.back());
        return *s.aggs.back();
    }

    std::unique_ptr<Entry> detach(Entry& e) {
        lru_of(e).remove(&e);
        (e.kind == Kind::raw ? raw_bytes : agg_bytes) -= e.bytes;
        SeriesState& s = *e.series;
        if (e.kind == Kind::raw) return std::move(s.raw);
        const auto it = std::find_if(s.aggs.begin(), s.aggs.end(), [&](const auto& p) { return p.get() == &e; });
        auto out = std::move(*it);
        s.aggs.erase(it);
        return out;
    }

    // ---- raw windows --------------------------------------------------------------------------

    void reset_raw(Entry& e, i64 at_ts) {
        e.bars.clear();
        e.from = e.to = at_ts;
        e.built = true;
        e.dirty = true;
    }

    /// Appends the bars from e.to on until `lookahead_bars` bars at or after hi are in (or the
    /// series ends): one store read, however far hi is. The store decodes whole chunks, so the
    /// rest of the chunk that holds the last of those bars comes along (up to 4x lookahead_bars
    /// ahead in all): the next read then starts a chunk instead of decoding this one again.
    void fill_forward(const SeriesState& s, Entry& e, i64 hi) {
        ++st.store_reads;
        read_in_call = true;
        std::size_t ahead = 0;
        const std::size_t want_ahead = opts.lookahead_bars, cap = 4 * opts.lookahead_bars;
        i64 next_to = kMaxTs;
        // Returns false once enough is in: later chunks are not decoded.
        store->scan(s.key, cache::at(e.to), cache::at(kMaxTs), [&](const BarColumns& piece) {
            const std::size_t m = piece.size();
            std::size_t k = 0;
            bool reached = false;  // lookahead_bars are in: the rest of this piece, up to the cap
            for (; k < m; ++k) {
                if (piece.ts[k] < hi) continue;
                if (ahead >= want_ahead) {
                    reached = true;
                    if (ahead >= cap) break;
                }
                ++ahead;
            }
            e.bars.append(piece, 0, k);
            if (k < m) {
                next_to = piece.ts[k];
                return false;
            }
            if (m > 0 && (reached || (ahead > 0 && ahead >= want_ahead))) {
                next_to = piece.ts[m - 1] + 1;  // every bar up to this chunk's last is held
                return false;
            }
            return true;
        });
        e.to = next_to;
        e.dirty = true;
    }

    /// Prepends the k bars before e.from (fewer at the series' start).
    void fill_back(const SeriesState& s, Entry& e, std::size_t k) {
        ++st.store_reads;
        read_in_call = true;
        BarColumns older = store->read_last(s.key, k, cache::at(e.from));
        const bool at_series_start = older.size() < k;
        if (!older.empty()) {
            older.reserve(older.size() + e.bars.size());
            older.append(e.bars, 0, e.bars.size());
            e.bars = std::move(older);
        }
        e.from = at_series_start ? kMinTs : e.bars.ts.front();
        e.dirty = true;
    }

    void trim_raw(Entry& e, i64 hi, std::size_t keep) {
        const std::size_t idx = cache::lower(e, hi);
        if (idx > keep + cache::slack(keep)) {
            e.drop_front(idx - keep);
            e.dirty = true;
        }
    }

    /// Makes e hold the n bars before hi (all of them if the series has fewer). Returns true if
    /// history had to be read (a miss); reading ahead is what a window is for (a hit).
    bool serve_raw(const SeriesState& s, Entry& e, i64 hi, std::size_t n) {
        e.want = std::max(e.want, n);
        const std::size_t keep = std::max(opts.history_bars, e.want);
        bool miss = false;
        if (!e.built) reset_raw(e, hi);
        if (hi > e.to) {
            if (cache::span_bars(e.to, hi, e.base_ns) > keep + opts.lookahead_bars) {
                reset_raw(e, hi);  // a jump: what is held is of no use
                miss = true;
            } else {
                fill_forward(s, e, hi);
            }
        }
        if (hi < e.from) {
            reset_raw(e, hi);  // a jump back before the window
            miss = true;
        }
        const std::size_t idx = cache::lower(e, hi);
        if (idx < n && e.from != kMinTs) {
            fill_back(s, e, std::max(n, keep) - idx);
            miss = true;
        }
        e.pos = hi;
        trim_raw(e, hi, keep);
        account(e);
        return miss;
    }

    // ---- aggregates ---------------------------------------------------------------------------

    static u64 ratio_of(const Entry& e) { return static_cast<u64>(std::min<i64>(e.tf_ns / e.base_ns, i64{1} << 20)); }

    /// Builds the bins from scratch as of t, with at least n closed ones if the series has them:
    /// reads backwards like query(), growing the read until enough bins are in hand.
    void rebuild(const SeriesState& s, Entry& e, i64 t, std::size_t n) {
        const i64 hi = cache::hi_of(t, e.base_ns);
        std::size_t want = (std::max<std::size_t>(n, 1) + 2) * static_cast<std::size_t>(ratio_of(e)) + 1;
        for (;;) {
            ++st.store_reads;
            read_in_call = true;
            const BarColumns bars = store->read_last(s.key, want, cache::at(hi));
            const bool exhausted = bars.size() < want;
            e.reset_bins();
            e.fold(bars, 0, bars.size());
            // Unless the read reached the series' first bar, the oldest bin may lack bars.
            if (!exhausted) e.drop_front(1);
            e.at_start = exhausted;
            if (exhausted || e.closed_at(t) >= n) break;
            want *= 4;
        }
        e.to = hi;
        e.built = true;
        e.dirty = true;
    }

    /// Folds the base bars in [e.to, hi) into the bins: from the series' raw window, which reads
    /// ahead, and from the store for any part the window does not hold.
    void extend(SeriesState& s, Entry& e, i64 hi) {
        bool created = false, rehydrated = false;
        Entry& raw = raw_entry(s, created, rehydrated);
        if (rehydrated) ++st.spill_hits;
        const std::size_t raw_keep = std::max(opts.history_bars, raw.want);
        if (!raw.built) reset_raw(raw, e.to);
        if (raw.to < hi) {
            if (cache::span_bars(raw.to, hi, e.base_ns) > raw_keep + opts.lookahead_bars) reset_raw(raw, hi);
            fill_forward(s, raw, hi);
        }
        i64 lo = e.to;
        if (lo < raw.from) {
            const i64 stop = std::min(raw.from, hi);
            ++st.store_reads;
            read_in_call = true;
            store->scan(s.key, cache::at(lo), cache::at(stop), [&](const BarColumns& piece) { e.fold(piece, 0, piece.size()); });
            lo = stop;
        }
        if (lo < hi) e.fold(raw.bars, cache::lower(raw, lo), cache::lower(raw, hi));
        e.to = hi;
        e.dirty = true;
        raw.pos = hi;
        trim_raw(raw, hi, raw_keep);
        account(raw);
    }

    /// Makes e answer "n bins closed at t". Returns true if it had to be (re)built (a miss).
    bool serve_agg(SeriesState& s, Entry& e, i64 t, std::size_t n) {
        const i64 hi = cache::hi_of(t, e.base_ns);
        e.want = std::max(e.want, n);
        const std::size_t keep = std::max(opts.history_bars, e.want);
        bool miss = false;
        if (!e.built) {
            rebuild(s, e, t, n);
            miss = true;
        } else if (hi > e.to) {
            // Folding a long gap costs more than building n bins afresh.
            if (cache::span_bars(e.to, hi, e.base_ns) > (n + 2) * ratio_of(e) + opts.lookahead_bars) {
                rebuild(s, e, t, n);
                miss = true;
            } else {
                extend(s, e, hi);
            }
        }
        std::size_t j = e.closed_at(t);
        // Stepped back: the bins hold bars that ended after t. Bins closed at t are complete at
        // t, except an overhang bin, whose later bars must not be seen: rebuild as of t.
        if (e.to > hi && j > 0 && e.incomplete_at(j - 1, t)) {
            rebuild(s, e, t, n);
            miss = true;
            j = e.closed_at(t);
        }
        if (j < n && !e.at_start) {
            rebuild(s, e, t, n);  // more history than held (or a jump back before it)
            miss = true;
            j = e.closed_at(t);
        }
        e.pos = t;
        if (j > keep + cache::slack(keep)) {
            e.drop_front(j - keep);
            e.dirty = true;
        }
        account(e);
        return miss;
    }

    // ---- the budget ---------------------------------------------------------------------------

    /// Gives up what is held speculatively: history no request has asked for (what history_bars
    /// keeps beyond the largest N) and, in raw windows, bars read ahead beyond lookahead_bars.
    void pressure_trim(Entry& e) {
        const u64 before = e.bytes;
        std::size_t pos_idx = 0, keep = 0;
        if (e.kind == Kind::raw) {
            pos_idx = cache::lower(e, e.pos);
            keep = std::max(e.want, cache::kPressureRawKeep);
            if (e.bars.size() - pos_idx > opts.lookahead_bars) {
                e.drop_back(pos_idx + opts.lookahead_bars);
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
        if (e.bytes < before) ++st.trims;
    }

    /// Brings resident bytes within the budget, sparing `served`: first unrequested history, then
    /// least recently used aggregates, then least recently used raw windows, to the spill.
    void enforce(Entry* served) {
        const u64 budget = opts.budget_bytes;
        if (resident() <= budget) return;
        for (cache::Lru* l : {&agg_lru, &raw_lru})
            for (Entry* e = l->tail; e && resident() > budget; e = e->lru_prev) pressure_trim(*e);
        std::vector<std::unique_ptr<Entry>> out;
        for (cache::Lru* l : {&agg_lru, &raw_lru})
            for (Entry* e = l->tail; e && resident() > budget;) {
                Entry* newer = e->lru_prev;
                if (e != served) out.push_back(detach(*e));
                e = newer;
            }
        evict(out);
    }

    void evict(std::vector<std::unique_ptr<Entry>>& out) {
        if (out.empty()) return;
        st.evictions += out.size();
        if (spill && spill->enabled()) {
            std::vector<cache::SpillTier::Item> items;
            items.reserve(out.size());
            for (const auto& e : out)
                if (e->kind == Kind::aggregate || opts.spill_raw_windows) items.push_back({id_of(*e->series, *e), e.get()});
            st.spills += spill->put(items);
        }
        out.clear();
    }

    /// The answer rows of e, after enforce(): a view into e, or into scratch if e alone is over
    /// the budget (then e is dropped: a transient answer).
    BarView answer(Entry& e, std::size_t a, std::size_t b) {
        if (resident() <= opts.budget_bytes) return cache::view_of(e.bars, a, b);
        scratch.clear();
        scratch.append(e.bars, a, b);
        auto gone = detach(e);
        ++st.transients;
        return cache::view_of(scratch, 0, scratch.size());
    }

    void end_call() { st.peak_resident_bytes = std::max(st.peak_resident_bytes, resident()); }

    // ---- requests -----------------------------------------------------------------------------

    BarView raw_request(SeriesState& s, i64 hi, std::size_t n) {
        bool created = false, rehydrated = false;
        Entry& e = raw_entry(s, created, rehydrated);
        const bool miss = serve_raw(s, e, hi, n);
        ++(miss || created ? st.misses : st.hits);
        if (rehydrated) ++st.spill_hits;
        enforce(&e);
        const std::size_t idx = cache::lower(e, hi);
        return answer(e, idx - std::min(idx, n), idx);
    }

    BarView agg_request(SeriesState& s, i64 tf, Alignment a, i64 t, std::size_t n) {
        bool created = false, rehydrated = false;
        Entry& e = agg_entry(s, tf, a, created, rehydrated);
        const bool miss = serve_agg(s, e, t, n);
        ++(miss || created ? st.misses : st.hits);
        if (rehydrated) ++st.spill_hits;
        enforce(&e);
        const std::size_t j = e.closed_at(t);
        e.check_sums(j - std::min(j, n), j);  // a bin whose volume overflowed is an error, never served
        return answer(e, j - std::min(j, n), j);
    }

    BarView last_bars(const SeriesKey& key, Duration timeframe, std::size_t n, Timestamp as_of,
                      std::optional<Alignment> align) {
        check_supported_time(as_of, "as_of");  // as query() does
        for (int attempt = 0;; ++attempt) {
            read_in_call = false;
            SeriesState& s = validate(key);
            const i64 base = key.base.count(), tf = timeframe.count();
            const Alignment a = align.value_or(s.session_24x7 ? Alignment::utc : Alignment::session);
            const bool raw = cache::is_raw_request(base, tf, a);
            if (n == 0) {
                if (!raw) aggregate::Binner(key.base, timeframe, a, s.session);  // same errors as query()
                return {};
            }
            n = std::min(n, std::size_t{1} << 40);  // more than any series holds; no overflow below
            const i64 t = cache::ns(as_of);
            const BarView out = raw ? raw_request(s, cache::hi_of(t, base), n) : agg_request(s, tf, a, t, n);
            end_call();
            if (consistent(s, attempt)) return out;
        }
    }

    /// After a call: if it read the store and a write committed since the series was confirmed,
    /// what was read may mix versions. False (call again: validate drops the series' entries)
    /// only when the series' generation moved.
    bool consistent(SeriesState& s, int attempt) {
        if (!read_in_call || attempt == 2) return true;
        const u64 v = version();
        if (v == s.checked_version) return true;
        const auto now = store->info_fast(s.key);
        if (!now || now->generation != s.generation) return false;
        return true;
    }

    std::optional<i64> last_price(const SeriesKey& key, Timestamp as_of) {
        for (int attempt = 0;; ++attempt) {
            read_in_call = false;
            SeriesState& s = validate(key);
            const BarView v = raw_request(s, cache::hi_of(cache::ns(as_of), key.base.count()), 1);
            end_call();
            std::optional<i64> out;
            if (!v.empty()) out = v.close.back();
            if (consistent(s, attempt)) return out;
        }
    }

    void clear() {
        std::vector<std::unique_ptr<Entry>> out;
        for (cache::Lru* l : {&agg_lru, &raw_lru})
            while (l->tail) out.push_back(detach(*l->tail));
        evict(out);
    }

    ReaderStats stats() const {
        ReaderStats s = st;
        s.budget_bytes = opts.budget_bytes;
        s.raw_bytes = raw_bytes;
        s.aggregate_bytes = agg_bytes;
        s.resident_bytes = resident();
        s.raw_entries = raw_lru.count;
        s.aggregate_entries = agg_lru.count;
        if (spill) {
            s.spill_bytes = spill->bytes();
            s.spill_entries = spill->entries();
            s.spill_evictions = spill->evictions();
            s.spill_errors = spill->errors();
            s.spill_disabled = !spill->enabled();
            s.spill_disabled_reason = spill->disabled_reason();
        }
        return s;
    }
};

Reader::Reader(const Store& store, ReaderOptions opts) : impl_(std::make_unique<Impl>(store, std::move(opts))) {}
Reader::Reader(Reader&&) noexcept = default;
Reader& Reader::operator=(Reader&&) noexcept = default;
Reader::~Reader() = default;

BarView Reader::last_bars(const SeriesKey& key, Duration timeframe, std::size_t n, Timestamp as_of,
                          std::optional<Alignment> align) {
    return impl_->last_bars(key, timeframe, n, as_of, align);
}

std::optional<std::int64_t> Reader::last_price(const SeriesKey& key, Timestamp as_of) {
    return impl_->last_price(key, as_of);
}

ReaderStats Reader::stats() const { return impl_->stats(); }
const ReaderOptions& Reader::options() const noexcept { return impl_->opts; }
void Reader::clear() { impl_->clear(); }

}  // namespace barstore
