// tests/reference/naive_store.hpp: what a store holds, as a plain sorted vector of bars per
// series with the documented write rules applied the obvious way (no chunks, no LMDB).
#pragma once
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "barstore/types.hpp"
#include "reference/naive_decimal.hpp"

namespace reference {

struct NaiveSeries {
    barstore::Scale scale;
    std::vector<barstore::Bar> bars;  // sorted by ts, unique

    static std::int64_t ts(const barstore::Bar& b) { return b.ts.time_since_epoch().count(); }

    /// Bars with ts in [from, to).
    std::vector<barstore::Bar> range(std::int64_t from, std::int64_t to) const {
        std::vector<barstore::Bar> out;
        for (const auto& b : bars)
            if (ts(b) >= from && ts(b) < to) out.push_back(b);
        return out;
    }
    /// The last n bars with ts < before.
    std::vector<barstore::Bar> last_n(std::size_t n, std::int64_t before) const {
        std::vector<barstore::Bar> out;
        for (const auto& b : bars)
            if (ts(b) < before) out.push_back(b);
        if (out.size() > n) out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(n));
        return out;
    }
};

/// Multiplies every price by 10^dp and volume by 10^dv; false if any value would overflow.
inline bool scale_bars(std::vector<barstore::Bar>& bars, int dp, int dv) {
    auto mul = [](std::int64_t& v, int k) {
        const i128 x = static_cast<i128>(v) * pow10_128(k);
        if (x > INT64_MAX || x < INT64_MIN) return false;
        v = static_cast<std::int64_t>(x);
        return true;
    };
    for (auto& b : bars) {
        if (!mul(b.open, dp) || !mul(b.high, dp) || !mul(b.low, dp) || !mul(b.close, dp) || !mul(b.volume, dv))
            return false;
    }
    return true;
}

/// One batch applied to a series (append or replace). Returns false where the store must throw
/// InvalidInput: append at or before the last bar, or a value that no longer fits after scaling.
/// On false the series is unchanged.
inline bool apply(NaiveSeries& s, bool exists, barstore::Scale batch_scale, std::vector<barstore::Bar> batch,
                  bool replace) {
    if (batch.empty()) return true;
    NaiveSeries next = s;
    if (!exists) next.scale = batch_scale;
    const barstore::Scale target{std::max(next.scale.price_decimals, batch_scale.price_decimals),
                                 std::max(next.scale.volume_decimals, batch_scale.volume_decimals)};
    if (!scale_bars(next.bars, target.price_decimals - next.scale.price_decimals,
                    target.volume_decimals - next.scale.volume_decimals))
        return false;
    if (!scale_bars(batch, target.price_decimals - batch_scale.price_decimals,
                    target.volume_decimals - batch_scale.volume_decimals))
        return false;
    next.scale = target;
    const std::int64_t first = NaiveSeries::ts(batch.front()), last = NaiveSeries::ts(batch.back());
    if (!replace && !next.bars.empty() && first <= NaiveSeries::ts(next.bars.back())) return false;
    std::vector<barstore::Bar> merged;
    for (const auto& b : next.bars)
        if (NaiveSeries::ts(b) < first) merged.push_back(b);
    for (const auto& b : batch) merged.push_back(b);
    for (const auto& b : next.bars)
        if (NaiveSeries::ts(b) > last) merged.push_back(b);
    next.bars = std::move(merged);
    s = std::move(next);
    return true;
}

/// Removes the bars with ts in [from, to); returns how many went.
inline std::size_t remove(NaiveSeries& s, std::int64_t from, std::int64_t to) {
    const std::size_t before = s.bars.size();
    std::erase_if(s.bars, [&](const barstore::Bar& b) { return NaiveSeries::ts(b) >= from && NaiveSeries::ts(b) < to; });
    return before - s.bars.size();
}

}  // namespace reference
