// cache/raw_window.hpp: raw windows: a contiguous run of one series' base bars, counted in bars,
// read ahead in one store scan, filled back with one read, trimmed in bars (docs/cache.md,
// "Entries"). An entry of kind raw keeps "every bar with from <= ts < to is held, and no other".
#pragma once
#include <cstddef>

#include "barstore/types.hpp"
#include "cache/entry.hpp"
#include "cache/source.hpp"

namespace barstore::cache {

/// Makes e hold the n bars before hi (all of them if the series has fewer), reading ahead when hi
/// is past what it holds and starting afresh after a jump it cannot bridge. Returns true if
/// history had to be read or the window started over (a miss); reading ahead is what a window is
/// for (a hit). Sets e.pos and trims history beyond max(history_bars, largest n) bars.
bool serve_raw(Source& src, const SeriesKey& key, Entry& e, i64 hi, std::size_t n);

/// For an aggregate about to fold the bars in [lo, hi) from the window: makes it hold bars up to
/// hi (reading ahead), starting it at lo if it was never built and afresh at hi after a jump it
/// cannot bridge. Bars before `from` are not fetched: the aggregate reads those from the store.
void reach_raw(Source& src, const SeriesKey& key, Entry& raw, i64 lo, i64 hi);
/// After the aggregate folded up to hi: the window's latest position is hi; history is trimmed.
void settle_raw(const Source& src, Entry& raw, i64 hi);

}  // namespace barstore::cache
