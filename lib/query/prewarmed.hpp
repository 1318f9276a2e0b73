// query/prewarmed.hpp: the bins of a prewarmed aggregate (Store::scan_prewarmed) that a reader
// may serve in place of aggregating base bars: only whole bins, each ending by a cut the caller
// derives from what its base-bar path would read. query() and the Reader's cold build use it.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "aggregate/binner.hpp"
#include "barstore/store.hpp"
#include "barstore/types.hpp"

namespace barstore::prewarmed {

/// A run of consecutive stored bins, oldest first, and where each ends (Binner's end).
struct StoredBins {
    BarColumns bins;
    std::vector<std::int64_t> ends;
    /// The run starts at the aggregate's first bin: no older bin exists.
    bool at_start = false;
    /// range_complete: the run stopped at a bin ending after the cut, before the label range's
    /// end. False: every stored bin with a label in the range is in the run.
    bool cut_short = false;
    /// Where base bars pick up after the run: the last bin's end (meaningless when empty). Bins
    /// never overlap, so every base bar from here on is in a later bin.
    std::int64_t resume() const noexcept { return ends.back(); }
};

/// Where stored bins stop being servable: a bin is served only if it ends by both the end of
/// what the base-bar path reads (hi_read: base bars with ts < hi_read; a bin ending by it holds
/// no bar the path would not read, overhangs included) and the close of the series' last bar
/// (`last_close`: a bin still forming when the series grows is never served from the store,
/// however current its stored copy is).
inline std::int64_t cut_of(std::int64_t hi_read, std::int64_t last_close) { return std::min(hi_read, last_close); }

/// The last bins of `spec` with label < before that end by `cut`: the last n of them, or all
/// when fewer. nullopt when the store does not hold `spec` current at `generation` (see
/// Store::read_last_prewarmed), when a chunk or record of it is damaged, or when a stored bin
/// is not a bin `binner` makes: the caller aggregates base bars instead. Never throws.
std::optional<StoredBins> last_complete(const Store& store, const SeriesKey& key, const AggregateSpec& spec,
                                        std::uint64_t generation, aggregate::Binner& binner, std::size_t n,
                                        std::int64_t before, std::int64_t cut) noexcept;

/// The bins of `spec` with label in [lo, hi) that end by `cut`, up to the first that does not.
/// nullopt as for last_complete. Never throws.
std::optional<StoredBins> range_complete(const Store& store, const SeriesKey& key, const AggregateSpec& spec,
                                         std::uint64_t generation, aggregate::Binner& binner, std::int64_t lo,
                                         std::int64_t hi, std::int64_t cut) noexcept;

/// The labels of the bins whose volume sum did not fit int64 (kVolumeOverflow: stored volumes
/// are never negative, so a negative one is the mark), in order.
std::vector<std::int64_t> overflowed_labels(const BarColumns& bins);

}  // namespace barstore::prewarmed
