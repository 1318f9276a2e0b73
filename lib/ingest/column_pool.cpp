// ingest/column_pool.cpp: ColumnPool, column buffers reused from one streamed block to the next.
#include <algorithm>

#include "barstore/ingest.hpp"

namespace barstore {

void ColumnPool::give(BarColumns&& bars) {
    if (bars.ts.capacity() == 0) return;
    bars.clear();
    const std::lock_guard lock(mutex_);
    if (kept_.size() < kMaxSets) kept_.push_back(std::move(bars));
}

BarColumns ColumnPool::take(std::size_t rows) {
    BarColumns out;
    {
        const std::lock_guard lock(mutex_);
        // The smallest set with room, else the largest (reserve() then grows it): a block's
        // first chunk asks for the whole block, the others for their part of it.
        const auto cap = [](const BarColumns& b) { return b.ts.capacity(); };
        auto best = kept_.end();
        for (auto it = kept_.begin(); it != kept_.end(); ++it) {
            if (best == kept_.end()) {
                best = it;
                continue;
            }
            const bool fits = cap(*it) >= rows, best_fits = cap(*best) >= rows;
            if (fits != best_fits ? fits : (fits ? cap(*it) < cap(*best) : cap(*it) > cap(*best))) best = it;
        }
        if (best != kept_.end()) {
            out = std::move(*best);
            kept_.erase(best);
        }
    }
    // With room to spare when new: the next block's estimate may be a few rows more.
    if (out.ts.capacity() < rows) out.reserve(rows + rows / 8);
    return out;
}

}  // namespace barstore
