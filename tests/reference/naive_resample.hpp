// tests/reference/naive_resample.hpp: OHLCV bins the obvious way: a std::map from bin label to
// bar, filled one input bar at a time, plus the query rules (range, as-of, forming, last N)
// applied as plain filters.
#pragma once
#include <algorithm>
#include <climits>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "reference/naive_bars.hpp"

namespace reference {

/// The start of the tf-long bin holding t, bins aligned to the epoch (also before 1970), except
/// that whole weeks start on Mondays: from 1970-01-05 (the epoch was a Thursday).
inline std::int64_t bin_label(std::int64_t t, std::int64_t tf) {
    constexpr std::int64_t day = 86'400'000'000'000;
    const std::int64_t anchor = tf % (7 * day) == 0 ? 4 * day : 0;
    std::int64_t r = (t - anchor) % tf;
    if (r < 0) r += tf;
    return t - r;
}

/// Input sorted by ts. Open = first bar's, high = max, low = min, close = last bar's, volume = sum.
inline std::vector<IntBar> resample(const std::vector<IntBar>& bars, std::int64_t tf) {
    std::map<std::int64_t, IntBar> bins;
    for (const auto& b : bars) {
        const std::int64_t label = bin_label(b.ts, tf);
        auto it = bins.find(label);
        if (it == bins.end()) {
            IntBar first = b;
            first.ts = label;
            bins.emplace(label, first);
        } else {
            IntBar& bin = it->second;
            bin.high = std::max(bin.high, b.high);
            bin.low = std::min(bin.low, b.low);
            bin.close = b.close;
            bin.volume += b.volume;
        }
    }
    std::vector<IntBar> out;
    for (const auto& [label, bin] : bins) out.push_back(bin);
    return out;
}

struct NaiveQuery {
    std::optional<std::int64_t> timeframe, from, to, as_of;
    std::optional<std::size_t> last;
    bool include_forming = false;
};

/// What a query must return: resample only the base bars that ended by as_of, keep bins with
/// label in [from, to), drop bins still open at as_of unless include_forming, then the last N.
inline std::vector<IntBar> query(const std::vector<IntBar>& bars, std::int64_t base, const NaiveQuery& q) {
    const std::int64_t tf = q.timeframe.value_or(base);
    std::vector<IntBar> known;
    for (const auto& b : bars)
        if (!q.as_of || b.ts + base <= *q.as_of) known.push_back(b);
    std::vector<IntBar> out;
    for (const auto& bin : resample(known, tf)) {
        if (q.from && bin.ts < *q.from) continue;
        if (q.to && bin.ts >= *q.to) continue;
        if (q.as_of && !q.include_forming && bin.ts + tf > *q.as_of) continue;
        out.push_back(bin);
    }
    if (q.last && out.size() > *q.last) out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(*q.last));
    return out;
}

/// A bin with its volume summed in 128 bits: the exact value barstore must return, or refuse
/// when it does not fit int64 (volumes near 2^63 would wrap an int64 sum).
__extension__ using Wide = __int128;  // __extension__: -Wpedantic knows no 128-bit integers

struct WideBin {
    std::int64_t ts = 0, open = 0, high = 0, low = 0, close = 0;
    Wide volume = 0;
};

inline bool fits_int64(Wide v) { return v >= INT64_MIN && v <= INT64_MAX; }

/// query() above, with 128-bit volume sums.
inline std::vector<WideBin> query_wide(const std::vector<IntBar>& bars, std::int64_t base, const NaiveQuery& q) {
    const std::int64_t tf = q.timeframe.value_or(base);
    std::map<std::int64_t, WideBin> bins;
    for (const auto& b : bars) {
        if (q.as_of && b.ts + base > *q.as_of) continue;
        const std::int64_t label = bin_label(b.ts, tf);
        auto [it, fresh] = bins.try_emplace(label, WideBin{label, b.open, b.high, b.low, b.close, 0});
        WideBin& bin = it->second;
        bin.high = std::max(bin.high, b.high);
        bin.low = std::min(bin.low, b.low);
        bin.close = b.close;
        bin.volume += b.volume;
    }
    std::vector<WideBin> out;
    for (const auto& [label, bin] : bins) {
        if (q.from && label < *q.from) continue;
        if (q.to && label >= *q.to) continue;
        if (q.as_of && !q.include_forming && label + tf > *q.as_of) continue;
        out.push_back(bin);
    }
    if (q.last && out.size() > *q.last) out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(*q.last));
    return out;
}

}  // namespace reference
