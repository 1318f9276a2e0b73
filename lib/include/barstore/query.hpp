// barstore/query.hpp: bins of a stored series read and resampled in one pass, with range, last N
// and as-of rules. Alignment and resample() are in resample.hpp, included here.
#pragma once
#include <cstddef>
#include <optional>

#include "barstore/resample.hpp"
#include "barstore/session.hpp"
#include "barstore/store.hpp"
#include "barstore/types.hpp"

namespace barstore {

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
/// answer holding a bin whose volume sum does not fit int64 (bins outside the answer may); and
/// the Store's read errors (CorruptData naming a chunk that cannot be decoded, IoError).
/// Any `last` works: a count past the series' bins returns them all.
/// When the store holds the (timeframe, alignment) prewarmed and current (Store::prewarm), the
/// bins that end by what the base bars read would cover come from it, and only the bins after
/// them from base bars; the answer is the same bins and errors either way (docs/cache.md,
/// "Prewarmed aggregates"). A damaged or stale aggregate is not an error: base bars answer.
BarColumns query(const Store& store, const SeriesKey& key, const QueryOptions& opts);

/// query()'s answer handed to `fn` in pieces, oldest first, as its bins close: the pieces joined
/// are exactly query()'s bins, and without `last` memory does not grow with the answer (a whole
/// history at 5m is ~4096 bins at a time). `fn` returns void, or bool (false: no more pieces).
/// Each piece is lent for the call only. The same errors as query(), thrown when reached: a
/// bin whose volume does not fit int64 is found when its piece is, so `fn` may already have
/// had the pieces before it. With `last`, or when a prewarmed aggregate serves the range, the
/// answer is computed whole and handed over as one piece.
void query_each(const Store& store, const SeriesKey& key, const QueryOptions& opts, ScanFn fn);

}  // namespace barstore
