// query/last_bins.cpp: a backwards fold. Each chunk is folded forwards on its own (fold_runs),
// then joined to the newer bins already held: only the newest bin of a chunk can share its
// label with the oldest bin held, since bins are disjoint intervals in time order.
// Invariant: the bins returned equal the tail of a forward fold of the same bars.
#include "query/last_bins.hpp"

#include <algorithm>
#include <iterator>
#include <limits>
#include <utility>

namespace barstore::last_bins {

namespace {

using i64 = std::int64_t;
__extension__ using i128 = __int128;  // __extension__: -Wpedantic knows no 128-bit integers

/// Bins newest first, so that an older chunk's bins are appended, never inserted in front.
struct Reversed {
    BarColumns bins;
    std::vector<i64> ends, last_ts;
    std::vector<bool> overflowed;

    void push(const BarColumns& b, std::size_t i, i64 end, i64 last, bool over) {
        bins.append(b, i, i + 1);
        ends.push_back(end);
        last_ts.push_back(last);
        overflowed.push_back(over);
    }
    /// Joins bin i of b, the older part of the oldest bin held, to it: as fold_runs joins a run
    /// to the bin it continues (open from the older part, close from the newer, volume summed
    /// exactly; stored volumes are never negative, so once past int64 a sum stays past it).
    void join_older(const BarColumns& b, std::size_t i, bool over) {
        bins.open.back() = b.open[i];
        bins.high.back() = std::max(bins.high.back(), b.high[i]);
        bins.low.back() = std::min(bins.low.back(), b.low[i]);
        if (!overflowed.back()) {
            const i128 sum = i128{bins.volume.back()} + i128{b.volume[i]};
            if (over || sum > std::numeric_limits<i64>::max()) {
                overflowed.back() = true;
                bins.volume.back() = kVolumeOverflow;
            } else {
                bins.volume.back() = static_cast<i64>(sum);
            }
        }
    }
};

}  // namespace

LastBins fold_last(const Store& store, const SeriesKey& key, aggregate::Binner& binner, Timestamp before,
                   const Wanted& want) {
    Reversed held;
    // One chunk's bins, oldest first; reused from chunk to chunk.
    BarColumns part;
    std::vector<i64> part_ends, part_last, part_overflowed;
    // Counted bins held, and whether the oldest held is one of them (it may still lack bars).
    std::size_t counted = 0;
    bool oldest_counted = false;
    bool stopped = false;
    store.scan_last(key, before, [&](const BarColumns& piece) {
        part.clear();
        part_ends.clear();
        part_last.clear();
        part_overflowed.clear();
        aggregate::fold_runs(binner, piece, 0, piece.size(), part, part_ends, part_overflowed,
                             [&](i64, i64, i64 last_ts) {
                                 // Called per run: a new bin, or a later run of the last one.
                                 if (part_last.size() < part.size()) part_last.push_back(last_ts);
                                 else part_last.back() = last_ts;
                             });
        for (std::size_t k = part.size(); k-- > 0;) {
            const bool over = std::binary_search(part_overflowed.begin(), part_overflowed.end(), part.ts[k]);
            if (k + 1 == part.size() && !held.bins.empty() && held.bins.ts.back() == part.ts[k]) {
                held.join_older(part, k, over);
                continue;
            }
            held.push(part, k, part_ends[k], part_last[k], over);
            oldest_counted = part.ts[k] < want.label_before && part_ends[k] <= want.closed_by;
            counted += oldest_counted;
        }
        if (counted - (oldest_counted ? 1 : 0) >= want.n && !held.bins.empty()) {
            stopped = true;
            return false;
        }
        return true;
    });

    // Unless the series' first bar was read, the oldest bin may lack older bars: drop it. A chunk
    // is folded whole, so more than N counted bins may be held (a chunk of 1m bars holds 800 5m
    // bins): keep only the newest N, and the newer ones that do not count.
    const auto counts = [&](std::size_t k) { return held.bins.ts[k] < want.label_before && held.ends[k] <= want.closed_by; };
    std::size_t keep = 0, kept_counted = 0;
    for (const std::size_t whole = stopped ? held.bins.size() - 1 : held.bins.size(); keep < whole; ++keep) {
        if (counts(keep) && kept_counted++ == want.n) break;
    }
    LastBins out;
    out.at_start = !stopped && keep == held.bins.size();
    // The newest `keep` held, back in time order.
    const auto oldest_first = [keep](std::vector<i64>& to, const std::vector<i64>& from) {
        const auto end = from.begin() + static_cast<std::ptrdiff_t>(keep);
        to.assign(std::make_reverse_iterator(end), std::make_reverse_iterator(from.begin()));
    };
    const auto dst = out.bins.columns();
    const auto src = std::as_const(held.bins).columns();
    for (std::size_t c = 0; c < dst.size(); ++c) oldest_first(*dst[c], *src[c]);
    oldest_first(out.ends, held.ends);
    oldest_first(out.last_ts, held.last_ts);
    for (std::size_t k = keep; k-- > 0;)
        if (held.overflowed[k]) out.overflowed.push_back(held.bins.ts[k]);
    return out;
}

}  // namespace barstore::last_bins
