// barstore/resample.hpp: bins of base bars at any whole multiple of the base, for both
// alignments; pure functions of the bars given (query.hpp reads them from a store first).
#pragma once
#include <cstdint>
#include <limits>

#include "barstore/session.hpp"
#include "barstore/types.hpp"

namespace barstore {

/// Where bins start (docs/time.md). utc: multiples of the timeframe from the UTC epoch (weeks
/// from Monday 1970-01-05). session: from each session's open, truncated at its close; 1d bins
/// are sessions, 1w bins Monday-based weeks of sessions; bars outside sessions are left out.
enum class Alignment { utc, session };

/// The volume a bin is given where the sum of its bars' volumes does not fit int64: in the
/// Reader's aggregates and in prewarmed aggregates (Store::scan_prewarmed). Stored volumes are
/// never negative (check_bars), so for bins of a store's bars it cannot be a real sum, and a
/// further run folded into such a bin keeps it negative: "volume < 0" marks an overflowed bin
/// even in a copy that lost the list of overflowed labels (a spilled or prewarmed aggregate).
/// resample() takes any volumes and never returns such a bin: it throws instead.
inline constexpr std::int64_t kVolumeOverflow = std::numeric_limits<std::int64_t>::min();

/// Aggregates `bars` (at base timeframe `base`) into bins: open first, high max, low min, close
/// last, volume sum; empty bins omitted; each bin labelled with its start. tf must be a positive
/// multiple of base of at most kMaxTimeframe (else InvalidInput). A bin whose volume sum does
/// not fit int64, or that would start or end outside int64, is an InvalidInput naming it, never
/// a wrapped value (docs/time.md, "Counts and sums"). With session alignment, also an unknown
/// zone and a timeframe other than < 1d, 1d or 1w. Returns owned columns.
BarColumns resample(const BarColumns& bars, Duration base, Duration tf);
BarColumns resample(const BarColumns& bars, Duration base, Duration tf, Alignment align, const Session& session);

}  // namespace barstore
