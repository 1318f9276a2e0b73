// barstore/batch.hpp: a series' bars on their way into the store, and the invariants every bar
// must pass. Core: ingest produces batches, Store::write consumes them, neither knows the other.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "barstore/types.hpp"

namespace barstore {

/// Bars of one series, ready for Store::write. Every bar has passed check_bars().
struct SeriesBatch {
    SeriesKey key;
    Scale scale;
    BarColumns bars;
    /// CSV values whose text had more than 15 significant digits and a fraction (a binary double
    /// printed in full, like `218102.59507500002`): each rounded half-even to 15 significant
    /// digits, or to a whole number where the integer part is longer (`92233720368547758.08`
    /// keeps its 17 integer digits). Integer digits are never rounded; every other value is exact.
    std::uint64_t rounded_values = 0;
    /// Set by the caller (ingest --session): stored with the bars, in the same transaction.
    std::optional<Session> session;
    /// What the file held that is not stored, or what was assumed, one sentence each, for the
    /// caller to show (the library never prints): "columns not stored: Adj Close", "no volume
    /// column: volume stored as 0". Never silently dropped.
    std::vector<std::string> notes = {};
};

/// The store's invariants for one series: low <= min(open, close), high >= max(open, close),
/// volume >= 0, ts in the supported range [kMinTime, kEndTime), strictly increasing and a
/// multiple of `base` since the epoch (`base` 0: no alignment rule).
/// Returns the index of the first bad bar and why, or nullopt if all hold.
struct BarProblem {
    std::size_t index;
    std::string reason;
    bool misaligned = false;  ///< the rule broken is the base's alignment (callers may say more)
};
std::optional<BarProblem> check_bars(const BarColumns& bars, Duration base);

}  // namespace barstore
