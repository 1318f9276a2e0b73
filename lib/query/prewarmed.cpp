// query/prewarmed.cpp: reads prewarmed bins for readers and keeps only what they may serve: whole
// bins ending by the caller's cut, each checked to be a bin of the caller's Binner. Any doubt
// (absent, stale, damaged, unexpected) is a nullopt, never an error: the base bars answer then.
#include "query/prewarmed.hpp"

#include <cstdint>

namespace barstore::prewarmed {

namespace {

using i64 = std::int64_t;
Timestamp at(i64 t) { return Timestamp{Duration{t}}; }

/// Appends the end of the bin labelled `label` to out.ends; false if `label` is not the label of
/// a bin (a stored value the checksum missed), or does not follow the previous bin.
bool note_end(aggregate::Binner& binner, i64 label, StoredBins& out) {
    if (!out.ends.empty() && label < out.ends.back()) return false;
    const aggregate::Bin b = binner.bin_of(label);
    if (!b.included || b.label != label) return false;
    out.ends.push_back(b.end);
    return true;
}

}  // namespace

std::optional<StoredBins> last_complete(const Store& store, const SeriesKey& key, const AggregateSpec& spec,
                                        std::uint64_t generation, aggregate::Binner& binner, std::size_t n,
                                        i64 before, i64 cut) noexcept {
    try {
        // At most two read bins end after the cut: the one across hi_read and the one across
        // the last bar's close (bins do not overlap). Two more than n leave n whole ones.
        const std::size_t want = n > SIZE_MAX - 2 ? SIZE_MAX : n + 2;
        auto got = store.read_last_prewarmed(key, spec, generation, want, at(before));
        if (!got) return std::nullopt;
        StoredBins all;
        for (std::size_t i = 0; i < got->size(); ++i)
            if (!note_end(binner, got->ts[i], all)) return std::nullopt;
        // Ends increase with labels, so the bins ending after the cut are a suffix.
        std::size_t k = got->size();
        while (k > 0 && all.ends[k - 1] > cut) --k;
        const std::size_t first = k > n ? k - n : 0;
        StoredBins out;
        out.at_start = got->size() < want && first == 0;
        out.bins.append(*got, first, k);
        out.ends.assign(all.ends.begin() + static_cast<std::ptrdiff_t>(first),
                        all.ends.begin() + static_cast<std::ptrdiff_t>(k));
        return out;
    } catch (...) {
        // CorruptData (a damaged chunk or record), or anything else: the base bars answer.
        return std::nullopt;
    }
}

std::optional<StoredBins> range_complete(const Store& store, const SeriesKey& key, const AggregateSpec& spec,
                                         std::uint64_t generation, aggregate::Binner& binner, i64 lo, i64 hi,
                                         i64 cut) noexcept {
    try {
        StoredBins out;
        bool bad = false;
        const bool held = store.scan_prewarmed(key, spec, generation, at(lo), at(hi), [&](const BarColumns& piece) {
            std::size_t i = 0;
            for (; i < piece.size(); ++i) {
                const std::size_t before = out.ends.size();
                if (!note_end(binner, piece.ts[i], out)) {
                    bad = true;
                    return false;
                }
                if (out.ends.back() > cut) {
                    out.ends.resize(before);
                    out.cut_short = true;
                    break;
                }
            }
            out.bins.append(piece, 0, i);
            return i == piece.size();  // the first bin past the cut ends the run
        });
        if (!held || bad) return std::nullopt;
        return out;
    } catch (...) {
        return std::nullopt;
    }
}

std::vector<i64> overflowed_labels(const BarColumns& bins) {
    std::vector<i64> out;
    for (std::size_t i = 0; i < bins.size(); ++i)
        if (bins.volume[i] < 0) out.push_back(bins.ts[i]);
    return out;
}

}  // namespace barstore::prewarmed
