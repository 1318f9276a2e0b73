// store/chunk_reads.hpp: range and last-N reads over a (prefix, time)-keyed table of chunks, for
// base bars (Store::scan, read_last) and prewarmed bins alike, so both read with the same rules.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "barstore/error.hpp"
#include "barstore/store.hpp"
#include "barstore/types.hpp"
#include "storage/chunk_cursor.hpp"

namespace barstore::chunk_reads {

/// Throws CorruptData "NAME chunk at TIME: why" for a chunk keyed `key_ts` of `name` ("SPY 1m").
[[noreturn]] void rethrow_naming(const CorruptData& e, const std::string& name, std::int64_t key_ts);

/// Calls fn with the rows whose ts is in [lo, hi) of the cursor's table, one chunk at a time,
/// in time order, until fn returns false (Store::scan's contract). lo < hi.
void scan(storage::ChunkCursor& cur, std::int64_t lo, std::int64_t hi, const std::string& name, ScanFn fn);

/// Calls fn with the rows whose ts is < hi, one chunk at a time, newest chunk first (each piece
/// in time order), until fn returns false (Store::scan_last's contract). Chunks are decoded into
/// one per-thread buffer, so a read backwards allocates nothing once it is warm. hi must not be
/// INT64_MIN.
void scan_last(storage::ChunkCursor& cur, std::int64_t hi, const std::string& name, ScanFn fn);

/// The last n rows with ts < hi (fewer if there are fewer), read backwards from the chunk
/// holding hi - 1 and copied once into the result. `rows_bound`: at most this many rows are
/// stored (the catalog's count), so the result is sized once. hi must not be INT64_MIN.
BarColumns read_last(storage::ChunkCursor& cur, std::size_t n, std::int64_t hi, std::uint64_t rows_bound,
                     const std::string& name);

}  // namespace barstore::chunk_reads
