// storage/keys.hpp: LMDB key layouts (docs/format.md, "Keys").
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "barstore/types.hpp"

namespace barstore::storage {

/// Chunk key: be32 series id, be64 (first ts with its sign bit flipped). Big-endian with the
/// sign flipped so LMDB's bytewise order is (series, time) order, negative times included.
using ChunkKey = std::array<std::byte, 12>;
ChunkKey chunk_key(std::uint32_t series_id, std::int64_t first_ts);
struct ChunkKeyParts {
    std::uint32_t series_id;
    std::int64_t first_ts;
};
/// nullopt-free: the caller checks size == 12 first.
ChunkKeyParts parse_chunk_key(std::span<const std::byte> key);

/// Catalog key: the symbol's bytes, a 0x00 byte (symbols never contain NUL), be64 base ns.
std::vector<std::byte> catalog_key(const SeriesKey& key);
/// Throws CorruptData if the bytes are not a catalog key.
SeriesKey parse_catalog_key(std::span<const std::byte> key);

void put_be32(std::byte* p, std::uint32_t v);
void put_be64(std::byte* p, std::uint64_t v);
std::uint32_t get_be32(const std::byte* p);
std::uint64_t get_be64(const std::byte* p);

}  // namespace barstore::storage
