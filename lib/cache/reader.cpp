// cache/reader.cpp: the Reader: series validated by generation on every call, requests routed to
// raw windows (raw_window.cpp) or memoized aggregates (aggregates.cpp), the budget enforced over
// what is held (resident.cpp) at the end of every call. Invariants: every answer equals query()
// for the same request (no bar with ts + base > as_of is ever folded into or returned by one);
// an entry is only ever used with the generation it was built from; no answer mixes two versions.
#include "barstore/reader.hpp"

#include <algorithm>
#include <functional>
#include <unordered_map>

#include "aggregate/binner.hpp"
#include "barstore/error.hpp"
#include "barstore/session.hpp"
#include "barstore/time.hpp"
#include "cache/aggregates.hpp"
#include "cache/entry.hpp"
#include "cache/raw_window.hpp"
#include "cache/resident.hpp"
#include "cache/source.hpp"

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

struct KeyHash {
    std::size_t operator()(const SeriesKey& k) const noexcept {
        return std::hash<std::string>{}(k.symbol) ^ (static_cast<std::size_t>(k.base.count()) * 0x9E3779B97F4A7C15ull);
    }
};

namespace {

constexpr i64 kWeekNs = 7 * 86'400'000'000'000;

/// tf == base under utc alignment is the identity on base bars (each bar its own bin), except for
/// week multiples, whose bins start on Mondays while base-aligned bars start on Thursdays.
bool is_raw_request(i64 base, i64 tf, Alignment a) { return tf == base && a == Alignment::utc && base % kWeekNs != 0; }

}  // namespace

}  // namespace cache

using cache::Entry;
using cache::i64;
using cache::SeriesState;
using cache::u64;

struct Reader::Impl {
    const Store* store;
    ReaderOptions opts;
    std::unordered_map<SeriesKey, std::unique_ptr<SeriesState>, cache::KeyHash> series;
    ReaderStats st;
    /// The store, as windows and aggregates read it (counted in st.store_reads).
    cache::Source src{store, &opts, &st};
    /// Every entry held, in two LRUs under one budget; the spill behind them. Declared after
    /// `store`, which it reads when made.
    cache::Resident held{opts, st, store->path()};

    Impl(const Store& s, ReaderOptions o)
        : store(&s), opts(std::move(o)) {
        // Far beyond any use, and small enough that no bar count below can overflow.
        opts.history_bars = std::min(opts.history_bars, std::size_t{1} << 32);
        opts.lookahead_bars = std::min(opts.lookahead_bars, std::size_t{1} << 32);
    }

    // ---- series -------------------------------------------------------------------------------

    /// Changes with every write to the store, ours or another process's (Store::version). It
    /// costs a read transaction begin (~60 ns), a catalog lookup with session decoding about
    /// three times that, and it is paid on every call.
    u64 version() const { return store->version(); }

    /// What we hold of the series is still the series: nothing was written to the store since it
    /// was last confirmed, or the catalog's generation is unchanged. `v` is the store's version
    /// read for this call (by the caller, or by us: one read transaction begin either way).
    SeriesState& validate(const SeriesKey& key, u64 v) {
        auto it = series.find(key);
        if (it != series.end() && it->second->checked_version == v) return *it->second;
        const auto info = store->info_fast(key);
        if (!info) {
            if (it != series.end()) {
                held.forget_series(*it->second);
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
            held.forget_series(*it->second);
        }
        SeriesState& s = *it->second;
        s.checked_version = v;
        s.generation = info->generation;
        s.session = info->session;
        s.session_text = format_session(info->session);
        s.session_24x7 = info->session.is_24x7();
        s.prewarmed.reset();
        s.last_close = cache::kMinTs;
        if (info->rows > 0 && __builtin_add_overflow(cache::ns(info->last), key.base.count(), &s.last_close))
            s.last_close = cache::kMaxTs;
        return s;
    }

    // ---- requests -----------------------------------------------------------------------------

    BarView raw_request(SeriesState& s, i64 hi, std::size_t n) {
        bool created = false, rehydrated = false;
        Entry& e = held.raw_entry(s, created, rehydrated);
        const bool miss = cache::serve_raw(src, s.key, e, hi, n);
        held.account(e);
        ++(miss || created ? st.misses : st.hits);
        if (rehydrated) ++st.spill_hits;
        held.enforce(&e);
        const std::size_t idx = cache::lower(e, hi);
        return held.answer(e, idx - std::min(idx, n), idx);
    }

    BarView agg_request(SeriesState& s, i64 tf, Alignment a, i64 t, std::size_t n) {
        bool created = false, rehydrated = false;
        Entry& e = held.agg_entry(s, tf, a, created, rehydrated);
        const bool miss = cache::serve_agg(src, held, s, e, t, n);
        held.account(e);
        ++(miss || created ? st.misses : st.hits);
        if (rehydrated) ++st.spill_hits;
        held.enforce(&e);
        const std::size_t j = e.closed_at(t);
        e.check_sums(j - std::min(j, n), j);  // a bin whose volume overflowed is an error, never served
        return held.answer(e, j - std::min(j, n), j);
    }

    void end_call() { st.peak_resident_bytes = std::max(st.peak_resident_bytes, held.bytes()); }

    /// `known` is the store's version the caller read for this call, if it did; a retry (a write
    /// moved the version during the call) reads a fresh one.
    BarView last_bars(const SeriesKey& key, Duration timeframe, std::size_t n, Timestamp as_of,
                      std::optional<Alignment> align, std::optional<u64> known) {
        check_supported_time(as_of, "as_of");  // as query() does
        for (int attempt = 0;; ++attempt) {
            src.read_in_call = false;
            SeriesState& s = validate(key, attempt == 0 && known ? *known : version());
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
        if (!src.read_in_call || attempt == 2) return true;
        const u64 v = version();
        if (v == s.checked_version) return true;
        const auto now = store->info_fast(s.key);
        if (!now || now->generation != s.generation) return false;
        return true;
    }

    std::optional<i64> last_price(const SeriesKey& key, Timestamp as_of, std::optional<u64> known) {
        for (int attempt = 0;; ++attempt) {
            src.read_in_call = false;
            SeriesState& s = validate(key, attempt == 0 && known ? *known : version());
            const BarView v = raw_request(s, cache::hi_of(cache::ns(as_of), key.base.count()), 1);
            end_call();
            std::optional<i64> out;
            if (!v.empty()) out = v.close.back();
            if (consistent(s, attempt)) return out;
        }
    }

    void clear() { held.clear(); }

    ReaderStats stats() const {
        ReaderStats s = st;
        s.budget_bytes = opts.budget_bytes;
        held.fill_stats(s);
        return s;
    }
};

Reader::Reader(const Store& store, ReaderOptions opts) : impl_(std::make_unique<Impl>(store, std::move(opts))) {}
Reader::Reader(Reader&&) noexcept = default;
Reader& Reader::operator=(Reader&&) noexcept = default;
Reader::~Reader() = default;

BarView Reader::last_bars(const SeriesKey& key, Duration timeframe, std::size_t n, Timestamp as_of,
                          std::optional<Alignment> align) {
    return impl_->last_bars(key, timeframe, n, as_of, align, std::nullopt);
}

BarView Reader::last_bars(const SeriesKey& key, Duration timeframe, std::size_t n, Timestamp as_of,
                          std::optional<Alignment> align, std::uint64_t store_version) {
    return impl_->last_bars(key, timeframe, n, as_of, align, store_version);
}

std::optional<std::int64_t> Reader::last_price(const SeriesKey& key, Timestamp as_of) {
    return impl_->last_price(key, as_of, std::nullopt);
}

std::optional<std::int64_t> Reader::last_price(const SeriesKey& key, Timestamp as_of, std::uint64_t store_version) {
    return impl_->last_price(key, as_of, store_version);
}

ReaderStats Reader::stats() const { return impl_->stats(); }
const ReaderOptions& Reader::options() const noexcept { return impl_->opts; }
void Reader::clear() { impl_->clear(); }

}  // namespace barstore
