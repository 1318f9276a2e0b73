// ingest/check.cpp: the bar invariants every writer must pass, in one place so that the CSV
// parser, the DBN decoder and Store::write cannot disagree about what a valid bar is.
#include "barstore/ingest.hpp"

#include <algorithm>

#include "barstore/time.hpp"

namespace barstore {

std::optional<BarProblem> check_bars(const BarColumns& b, Duration base) {
    const auto base_ns = base.count();
    for (std::size_t i = 0; i < b.size(); ++i) {
        if (b.high[i] < b.low[i]) return BarProblem{i, "high below low"};
        if (b.low[i] > std::min(b.open[i], b.close[i]))
            return BarProblem{i, "low above open or close"};
        if (b.high[i] < std::max(b.open[i], b.close[i]))
            return BarProblem{i, "high below open or close"};
        if (b.volume[i] < 0) return BarProblem{i, "negative volume"};
        if (base_ns > 0 && b.ts[i] % base_ns != 0)
            return BarProblem{i, "timestamp not aligned to the " + format_timeframe(base) + " timeframe", true};
        if (i > 0 && b.ts[i] == b.ts[i - 1]) return BarProblem{i, "duplicate timestamp"};
        if (i > 0 && b.ts[i] < b.ts[i - 1]) return BarProblem{i, "timestamp goes backwards"};
    }
    return std::nullopt;
}

}  // namespace barstore
