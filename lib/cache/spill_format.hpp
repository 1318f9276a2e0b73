// cache/spill_format.hpp: the spill's keys and values (docs/cache.md, "The spill"): how an entry
// is named, written and read back, apart from where the values are kept (SpillTier). Pure: bytes
// in, bytes out, no LMDB, no file system.
#pragma once
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "barstore/reader.hpp"
#include "cache/entry.hpp"

namespace barstore::cache {

/// The one LMDB table of a spill environment (a second table means a store was written into it).
inline constexpr const char* kSpillTable = "spill";

/// What names an entry: its series at one generation (and session), and the entry within it.
/// A spilled copy is only ever returned for exactly this name.
struct EntryId {
    const SeriesKey* key = nullptr;
    u64 generation = 0;
    const std::string* session_text = nullptr;  ///< format_session() of the series' session
    Kind kind = Kind::raw;
    i64 tf_ns = 0;
    Alignment align = Alignment::utc;
};

/// The LMDB key: symbol, 0x00, be64 base, be64 timeframe, kind, alignment, be64 XXH3 of the
/// session text, be64 generation. Keys of one series share the first |symbol| + 9 bytes.
std::string spill_key(const EntryId& id);
/// Those first |symbol| + 9 bytes: every key of the series (all generations) starts with them.
std::string spill_series_prefix(const SeriesKey& key);

/// The value: header, names, overhang list, chunk sizes, then codec chunks of <= kChunkRows
/// rows (bars; for aggregates also the bins' ends as the ts column of extra chunks).
std::vector<std::byte> encode_spill(const EntryId& id, const Entry& e);
/// Fills out's rows and window fields from `value`. Throws CorruptData unless the value is
/// intact (checksums, sizes, order) and names exactly `id`; `out` is untouched then.
void decode_spill(std::span<const std::byte> value, const EntryId& id, Entry& out);
/// Header fields and first/last ts for listing, without decoding the rows.
SpillEntryInfo describe_spill(std::span<const std::byte> value);

}  // namespace barstore::cache
