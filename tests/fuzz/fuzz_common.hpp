// tests/fuzz/fuzz_common.hpp: what every fuzz target checks beyond "no crash": a parser either
// throws InvalidInput or returns batches that keep the store's invariants and resample exactly
// (or are refused where a bin does not fit int64); anything else (another exception type, a bad
// batch, a wrapped sum or bin boundary) aborts, which libFuzzer and the replay report.
#pragma once
#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <initializer_list>
#include <string>
#include <vector>

#include "barstore/error.hpp"
#include "barstore/ingest.hpp"
#include "barstore/query.hpp"
#include "barstore/time.hpp"

namespace fuzz {

[[noreturn]] inline void fail(const std::string& why) {
    std::fprintf(stderr, "fuzz target invariant broken: %s\n", why.c_str());
    std::abort();
}

inline void check_batches(const std::vector<barstore::SeriesBatch>& batches) {
    for (const auto& b : batches) {
        if (b.bars.empty()) fail("empty batch for " + b.key.symbol);
        if (b.key.base.count() <= 0) fail("non-positive base timeframe");
        const auto n = b.bars.size();
        if (b.bars.open.size() != n || b.bars.high.size() != n || b.bars.low.size() != n ||
            b.bars.close.size() != n || b.bars.volume.size() != n)
            fail("columns of different lengths");
        if (const auto p = barstore::check_bars(b.bars, b.key.base)) fail("bar " + std::to_string(p->index) + ": " + p->reason);
        if (b.scale.price_decimals < 0 || b.scale.price_decimals > 18 || b.scale.volume_decimals < 0 ||
            b.scale.volume_decimals > 18)
            fail("decimals out of 0..18");
        try {
            barstore::validate_symbol(b.key.symbol);
        } catch (const barstore::InvalidInput&) {
            fail("invalid symbol '" + b.key.symbol + "'");
        }
    }
}

/// Resamples bars (strictly increasing ts) at `multiples` of `base`, those up to the longest
/// supported timeframe, and checks every bin against a fold in 128 bits: the exact bins, or
/// InvalidInput exactly when some bin's volume sum, start or end does not fit int64. Bars at the
/// ends of int64 (a chunk's, an epoch stamp's) and volumes near its limit are where a wrap hid.
inline void check_resample(const barstore::BarColumns& bars, std::int64_t base,
                           std::initializer_list<std::int64_t> multiples = {1, 2, 3, 60, 1440, 10080}) {
    using i64 = std::int64_t;
    __extension__ using i128 = __int128;  // __extension__: -Wpedantic knows no 128-bit integers
    constexpr i128 kLo = INT64_MIN, kHi = INT64_MAX;
    constexpr i64 kDay = 86'400'000'000'000, kWeek = 7 * kDay;
    for (std::size_t i = 1; i < bars.size(); ++i)
        if (bars.ts[i] <= bars.ts[i - 1]) return;  // resample() wants time order
    for (const i64 k : multiples) {
        i64 tf = 0;
        if (base <= 0 || __builtin_mul_overflow(base, k, &tf) || barstore::Duration{tf} > barstore::kMaxTimeframe) continue;
        // The oracle: labels from the epoch (weeks from Monday 1970-01-05), sums in 128 bits.
        const i128 anchor = tf % kWeek == 0 ? 4 * kDay : 0;
        struct Bin {
            i128 label;
            i64 open, high, low, close;
            i128 volume;
        };
        std::vector<Bin> want;
        bool refused = false;
        for (std::size_t i = 0; i < bars.size() && !refused; ++i) {
            const i128 d = static_cast<i128>(bars.ts[i]) - anchor;
            i128 q = d / tf;
            if (q * tf > d) --q;
            const i128 label = anchor + q * tf;
            if (label < kLo || label + tf > kHi) refused = true;
            if (!want.empty() && want.back().label == label) {
                Bin& b = want.back();
                b.high = std::max(b.high, bars.high[i]);
                b.low = std::min(b.low, bars.low[i]);
                b.close = bars.close[i];
                b.volume += bars.volume[i];
            } else {
                want.push_back({label, bars.open[i], bars.high[i], bars.low[i], bars.close[i], bars.volume[i]});
            }
        }
        for (const auto& b : want) refused = refused || b.volume < kLo || b.volume > kHi;
        const std::string what = "resample at " + std::to_string(k) + " x base " + std::to_string(base) + "ns: ";
        barstore::BarColumns got;
        try {
            got = barstore::resample(bars, barstore::Duration{base}, barstore::Duration{tf});
        } catch (const barstore::InvalidInput& e) {
            if (!refused) fail(what + "refused an answer that fits int64: " + e.what());
            continue;
        } catch (const std::exception& e) {
            fail(what + "unexpected exception: " + e.what());
        }
        if (refused) fail(what + "answered where a bin does not fit int64 (a wrapped value)");
        if (got.size() != want.size()) fail(what + "wrong number of bins");
        for (std::size_t i = 0; i < want.size(); ++i) {
            const Bin& b = want[i];
            if (got.ts[i] != static_cast<i64>(b.label) || got.open[i] != b.open || got.high[i] != b.high ||
                got.low[i] != b.low || got.close[i] != b.close || got.volume[i] != static_cast<i64>(b.volume))
                fail(what + "bin " + std::to_string(i) + " differs from the 128-bit fold");
        }
    }
}

/// Runs a parser: InvalidInput is a fine answer to bad bytes; any other exception is a bug.
/// What it returns must keep the store's invariants and resample exactly (or refuse to).
template <class Fn>
void expect_clean(Fn&& parse) {
    std::vector<barstore::SeriesBatch> batches;
    try {
        batches = parse();
    } catch (const barstore::InvalidInput&) {
        return;
    } catch (const std::exception& e) {
        fail(std::string("unexpected exception: ") + e.what());
    }
    check_batches(batches);
    for (const auto& b : batches) check_resample(b.bars, b.key.base.count());
}

}  // namespace fuzz
