// cache/aggregates.hpp: memoized aggregates: the bins of one (timeframe, alignment) of a series,
// built once by reading backwards as query() does, then extended by the new base bars only, from
// the series' raw window (docs/cache.md, "Entries" and "No look-ahead").
#pragma once
#include <cstddef>

#include "cache/entry.hpp"
#include "cache/resident.hpp"
#include "cache/source.hpp"

namespace barstore::cache {

/// Makes e (an aggregate of series s) answer "the n bins closed at t", folding only bars that
/// ended by t into it, and trims bins beyond max(history_bars, largest n). Extending it may make,
/// re-hydrate and read ahead the series' raw window (in `held`, counted in spill_hits). Returns
/// true if e had to be (re)built from the store (a miss).
bool serve_agg(Source& src, Resident& held, SeriesState& s, Entry& e, i64 t, std::size_t n);

}  // namespace barstore::cache
