// aggregate/query.cpp: turns a query (timeframe, range, last N, as-of) into the base bars to read
// and the bins to return. No look-ahead: with as_of set, no base bar that ends after as_of is
// ever read, so no returned value can depend on one.
#include <algorithm>
#include <limits>

#include "aggregate/resampler.hpp"
#include "barstore/error.hpp"
#include "barstore/query.hpp"
#include "barstore/time.hpp"

namespace barstore {

namespace {

using i64 = std::int64_t;
constexpr i64 kMin = std::numeric_limits<i64>::min();
constexpr i64 kMax = std::numeric_limits<i64>::max();

i64 floor_to(i64 t, i64 step) {
    const i64 q = t / step;
    return (q * step > t ? q - 1 : q) * step;
}
i64 ceil_to(i64 t, i64 step) {
    const i64 f = floor_to(t, step);
    return f == t ? t : f + step;
}
i64 ns(Timestamp t) { return t.time_since_epoch().count(); }
Timestamp at(i64 t) { return Timestamp{Duration{t}}; }

/// Keeps bins with label in [lo_label, hi_label_excl) and drops bins still open at as_of.
void select(BarColumns& bins, i64 lo_label, i64 hi_label, i64 tf, std::optional<i64> as_of, bool forming) {
    std::size_t a = 0, b = bins.size();
    while (a < b && bins.ts[a] < lo_label) ++a;
    while (b > a && bins.ts[b - 1] >= hi_label) --b;
    if (as_of && !forming)
        while (b > a && bins.ts[b - 1] > *as_of - tf) --b;  // label + tf > as_of: still forming
    if (a == 0 && b == bins.size()) return;
    BarColumns kept;
    kept.append(bins, a, b);
    bins = std::move(kept);
}

}  // namespace

BarColumns query(const Store& store, const SeriesKey& key, const QueryOptions& opts) {
    const auto info = store.info(key);
    if (!info) throw NotFound("no series " + key.symbol + " at " + format_timeframe(key.base));
    const i64 base = key.base.count();
    const i64 tf = opts.timeframe.value_or(key.base).count();
    if (tf <= 0 || tf % base != 0)
        throw InvalidInput("timeframe " + format_timeframe(Duration{tf}) + " is not a whole multiple of " +
                           key.symbol + "'s base timeframe " + format_timeframe(key.base));

    // Bins with label in [lo_label, hi_label); their base bars have ts in [lo_label, hi_label).
    const i64 lo_label = opts.from ? ceil_to(ns(*opts.from), tf) : kMin;
    const i64 hi_label = opts.to ? ceil_to(ns(*opts.to), tf) : kMax;
    // Base bars read: only those that ended by as_of (ts + base <= as_of).
    i64 hi_read = hi_label;
    std::optional<i64> as_of;
    if (opts.as_of) {
        as_of = ns(*opts.as_of);
        hi_read = std::min(hi_read, *as_of - base + 1);
    }
    if (hi_read <= lo_label) return {};

    if (!opts.last || opts.from) {
        // Bin chunk by chunk: a year of 1-minute bars is never materialised.
        aggregate::Resampler resampler(key.base, Duration{tf});
        store.scan(key, at(lo_label), at(hi_read), [&](const BarColumns& piece) { resampler.feed(piece); });
        auto bins = resampler.finish();
        select(bins, lo_label, hi_label, tf, as_of, opts.include_forming);
        if (opts.last && bins.size() > *opts.last) {
            BarColumns tail;
            tail.append(bins, bins.size() - *opts.last, bins.size());
            return tail;
        }
        return bins;
    }

    // Last N without a lower bound: read backwards, growing the window until N whole bins are
    // in hand (gaps make the number of base bars per bin unknown).
    const std::size_t n = *opts.last;
    if (n == 0) return {};
    const std::size_t ratio = static_cast<std::size_t>(tf / base);
    std::size_t want = (n + 1) * ratio + 1;
    for (;;) {
        auto bars = store.read_last(key, want, at(hi_read));
        const bool exhausted = bars.size() < want;
        auto bins = resample(bars, key.base, Duration{tf});
        select(bins, lo_label, hi_label, tf, as_of, opts.include_forming);
        // The oldest bin may be cut by the read window; with more than N bins it is not needed.
        if (exhausted || bins.size() > n) {
            if (bins.size() > n) {
                BarColumns tail;
                tail.append(bins, bins.size() - n, bins.size());
                return tail;
            }
            return bins;
        }
        want *= 4;
    }
}

}  // namespace barstore
