// query/last_bins.hpp: the last N bins of a series as of a time, folded backwards chunk by chunk
// (Store::scan_last), so the cost is the base bars those bins hold, whatever the timeframe.
// query()'s last-N path and the Reader's cold build use it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "aggregate/binner.hpp"
#include "barstore/store.hpp"
#include "barstore/types.hpp"

namespace barstore::last_bins {

/// Bins oldest first, each exactly as resample() of every base bar before the read's end would
/// give it (the fold is aggregate::fold_runs, so a bin split across chunks is merged by the same
/// rules), with where each closes and its last base bar.
struct LastBins {
    BarColumns bins;
    std::vector<std::int64_t> ends;     ///< Binner's end of each bin
    std::vector<std::int64_t> last_ts;  ///< ts of each bin's last base bar
    /// Labels of the bins whose volume sum does not fit int64 (volume kVolumeOverflow), in order.
    std::vector<std::int64_t> overflowed;
    /// The bins start at the series' first bar. False: older bars exist (in older bins, or in
    /// the oldest bin read, which was dropped as it may lack them), and every bin here is whole.
    bool at_start = false;
};

/// Which bins count towards the N asked for: label < label_before and end <= closed_by. Both
/// cut only the newest bins (labels and ends increase), as query's select() does.
struct Wanted {
    std::size_t n = 0;
    std::int64_t label_before = INT64_MAX;
    std::int64_t closed_by = INT64_MAX;
};

/// Folds the bars of `key` with ts < before, newest chunk first, until `want.n` counted bins are
/// in hand besides the oldest (which may lack older bars), or the series' first bar is reached.
/// Returns the newest `want.n` counted bins (fewer only at the series' start) and the newer
/// bins that do not count (the caller cuts them), nothing older. Throws what
/// Store::scan_last and Binner::bin_of throw.
LastBins fold_last(const Store& store, const SeriesKey& key, aggregate::Binner& binner, Timestamp before,
                   const Wanted& want);

}  // namespace barstore::last_bins
