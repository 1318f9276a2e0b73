// barstore/query.hpp: resample base bars to any whole multiple of the base, with as-of rules.
#pragma once
#include <cstddef>
#include <optional>

#include "barstore/session.hpp"
#include "barstore/store.hpp"
#include "barstore/types.hpp"

namespace barstore {

/// Where bins start (docs/time.md). utc: multiples of the timeframe from the UTC epoch (weeks
/// from Monday 1970-01-05). session: from each session's open, truncated at its close; 1d bins
/// are sessions, 1w bins Monday-based weeks of sessions; bars outside sessions are left out.
enum class Alignment { utc, session };

/// Aggregates `bars` (at base timeframe `base`) into bins: open first, high max, low min, close
/// last, volume sum; empty bins omitted; each bin labelled with its start. tf must be a positive
/// multiple of base of at most kMaxTimeframe (else InvalidInput). A bin whose volume sum does
/// not fit int64, or that would start or end outside int64, is an InvalidInput naming it, never
/// a wrapped value (docs/time.md, "Counts and sums"). Returns owned columns.
BarColumns resample(const BarColumns& bars, Duration base, Duration tf);
BarColumns resample(const BarColumns& bars, Duration base, Duration tf, Alignment align, const Session& session);

struct QueryOptions {
    std::optional<Duration> timeframe;   ///< default: the series' base
    std::optional<Timestamp> from, to;   ///< bins whose label is in [from, to)
    std::optional<std::size_t> last;     ///< the last N selected bins
    std::optional<Timestamp> as_of;      ///< only bins that ended at or before as_of
    bool include_forming = false;        ///< with as_of: add the forming bin, built only from
                                         ///< base bars that ended by as_of
    /// default: session when the series has a session other than 24x7, else utc
    std::optional<Alignment> align;
};

/// Reads and aggregates in one pass over the needed chunks. Throws NotFound for an unknown
/// series; InvalidInput for a timeframe that is not a multiple of the base (or is past
/// kMaxTimeframe), a from/to/as_of outside the supported range (time.hpp), from after to, or an
/// answer holding a bin whose volume sum does not fit int64 (bins outside the answer may).
/// Any `last` works: a count past the series' bins returns them all.
BarColumns query(const Store& store, const SeriesKey& key, const QueryOptions& opts);

}  // namespace barstore
