// core/check.cpp: the bar invariants every writer must pass, in one place so that the CSV
// parser, the DBN decoder and Store::write cannot disagree about what a valid bar is.
#include <algorithm>

#include "barstore/batch.hpp"

namespace barstore {

namespace {

// The range's ends are midnights of 1 January (types.hpp), which format_time (time module,
// out of core's reach) prints as `YYYY-01-01T00:00:00Z`: spelled here from the constants.
constexpr std::chrono::year year_of(Timestamp t) {
    return std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(t)}.year();
}
static_assert(kMinTime == std::chrono::sys_days{year_of(kMinTime) / 1 / 1} &&
              kEndTime == std::chrono::sys_days{year_of(kEndTime) / 1 / 1});

std::string range_text() {
    auto text = [](Timestamp t) { return std::to_string(static_cast<int>(year_of(t))) + "-01-01T00:00:00Z"; };
    return text(kMinTime) + " .. " + text(kEndTime);
}

}  // namespace

std::optional<BarProblem> check_bars(const BarColumns& b, Duration base) {
    const auto base_ns = base.count();
    for (std::size_t i = 0; i < b.size(); ++i) {
        if (b.high[i] < b.low[i]) return BarProblem{i, "high below low"};
        if (b.low[i] > std::min(b.open[i], b.close[i]))
            return BarProblem{i, "low above open or close"};
        if (b.high[i] < std::max(b.open[i], b.close[i]))
            return BarProblem{i, "high below open or close"};
        if (b.volume[i] < 0) return BarProblem{i, "negative volume"};
        // A bar outside it could never end (its bin would pass int64) and would block every
        // later append: refused here, where every writer passes (docs/time.md).
        if (!in_supported_range(Timestamp{Duration{b.ts[i]}}))
            return BarProblem{i, "timestamp outside the supported range " + range_text() + " (docs/time.md)"};
        if (base_ns > 0 && b.ts[i] % base_ns != 0)
            return BarProblem{i, "timestamp not aligned to the " + format_timeframe(base) + " timeframe", true};
        if (i > 0 && b.ts[i] == b.ts[i - 1]) return BarProblem{i, "duplicate timestamp"};
        if (i > 0 && b.ts[i] < b.ts[i - 1]) return BarProblem{i, "timestamp goes backwards"};
    }
    return std::nullopt;
}

}  // namespace barstore
