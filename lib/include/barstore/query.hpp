// barstore/query.hpp: resample base bars to any whole multiple of the base, with as-of rules.
#pragma once
#include <cstddef>
#include <optional>

#include "barstore/store.hpp"
#include "barstore/types.hpp"

namespace barstore {

/// Aggregates `bars` (at base timeframe `base`) into bins [label, label + tf) aligned to the UTC
/// epoch: open first, high max, low min, close last, volume sum; empty bins omitted.
/// tf must be a positive multiple of base (else InvalidInput). Returns owned columns.
BarColumns resample(const BarColumns& bars, Duration base, Duration tf);

struct QueryOptions {
    std::optional<Duration> timeframe;   ///< default: the series' base
    std::optional<Timestamp> from, to;   ///< bins whose label is in [from, to)
    std::optional<std::size_t> last;     ///< the last N selected bins
    std::optional<Timestamp> as_of;      ///< only bins that ended at or before as_of
    bool include_forming = false;        ///< with as_of: add the forming bin, built only from
                                         ///< base bars that ended by as_of
};

/// Reads and aggregates in one pass over the needed chunks. Throws NotFound for an unknown
/// series, InvalidInput for a timeframe that is not a multiple of the base.
BarColumns query(const Store& store, const SeriesKey& key, const QueryOptions& opts);

}  // namespace barstore
