// storage/keys.hpp: LMDB key layouts (docs/format.md, "Tables (LMDB named databases)" and
// "`chunks`: the bars"). Integers in keys are big-endian so that LMDB's bytewise order is
// numeric order; range scans need no decode.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "barstore/types.hpp"

namespace barstore::storage {

/// A time closing a key: be64 with the sign bit flipped, so that bytewise order is time order,
/// negative times included.
inline constexpr std::size_t kTimeKeyBytes = 8;
void put_time_key(std::byte* p, std::int64_t t) noexcept;
std::int64_t get_time_key(const std::byte* p) noexcept;

/// What every chunk key of one series starts with: its be32 series id.
using SeriesPrefix = std::array<std::byte, 4>;
SeriesPrefix series_prefix(std::uint32_t series_id) noexcept;

/// Chunk key: the series prefix, then the chunk's first ts as a time key.
using ChunkKey = std::array<std::byte, sizeof(SeriesPrefix) + kTimeKeyBytes>;
ChunkKey chunk_key(std::uint32_t series_id, std::int64_t first_ts) noexcept;
struct ChunkKeyParts {
    std::uint32_t series_id;
    std::int64_t first_ts;
};
/// nullopt-free: the caller checks key.size() == sizeof(ChunkKey) first.
ChunkKeyParts parse_chunk_key(std::span<const std::byte> key) noexcept;

/// What every entry of one prewarmed aggregate starts with, and its `prewarm` key: the be32
/// series id, the be64 timeframe in ns, one byte of alignment (0 utc, 1 session). Its bin
/// chunks are keyed this prefix + the chunk's first bin label as a time key (`aggregates`).
using AggregatePrefix = std::array<std::byte, sizeof(SeriesPrefix) + 8 + 1>;
AggregatePrefix aggregate_prefix(std::uint32_t series_id, std::int64_t timeframe_ns, std::uint8_t align) noexcept;
struct AggregatePrefixParts {
    std::uint32_t series_id;
    std::int64_t timeframe_ns;
    std::uint8_t align;
};
/// nullopt-free: the caller checks key.size() == sizeof(AggregatePrefix) first.
AggregatePrefixParts parse_aggregate_prefix(std::span<const std::byte> key) noexcept;
using AggregateChunkKey = std::array<std::byte, sizeof(AggregatePrefix) + kTimeKeyBytes>;
AggregateChunkKey aggregate_chunk_key(const AggregatePrefix& prefix, std::int64_t first_label) noexcept;

/// Catalog key: the symbol's bytes, a 0x00 byte (symbols never contain NUL), be64 base ns.
std::vector<std::byte> catalog_key(const SeriesKey& key);
/// Throws CorruptData if the bytes are not a catalog key.
SeriesKey parse_catalog_key(std::span<const std::byte> key);

}  // namespace barstore::storage
