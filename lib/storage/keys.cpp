// storage/keys.cpp: key encoding, so that LMDB's byte order is (series, time) order for chunks,
// (series, timeframe, alignment, time) order for prewarmed aggregates and (symbol, base) order
// for the catalog.
#include "storage/keys.hpp"

#include <cstring>

#include "barstore/error.hpp"
#include "core/bytes.hpp"

namespace barstore::storage {

namespace {
constexpr std::uint64_t kSignBit = std::uint64_t{1} << 63;
}  // namespace

void put_time_key(std::byte* p, std::int64_t t) noexcept { put_be(p, static_cast<std::uint64_t>(t) ^ kSignBit); }

std::int64_t get_time_key(const std::byte* p) noexcept {
    return static_cast<std::int64_t>(get_be<std::uint64_t>(p) ^ kSignBit);
}

SeriesPrefix series_prefix(std::uint32_t series_id) noexcept {
    SeriesPrefix p{};
    put_be(p.data(), series_id);
    return p;
}

ChunkKey chunk_key(std::uint32_t series_id, std::int64_t first_ts) noexcept {
    ChunkKey k{};
    put_be(k.data(), series_id);
    put_time_key(k.data() + sizeof(SeriesPrefix), first_ts);
    return k;
}

ChunkKeyParts parse_chunk_key(std::span<const std::byte> key) noexcept {
    return {get_be<std::uint32_t>(key.data()), get_time_key(key.data() + sizeof(SeriesPrefix))};
}

AggregatePrefix aggregate_prefix(std::uint32_t series_id, std::int64_t timeframe_ns, std::uint8_t align) noexcept {
    AggregatePrefix k{};
    put_be(k.data(), series_id);
    put_be(k.data() + sizeof(SeriesPrefix), static_cast<std::uint64_t>(timeframe_ns));
    k[sizeof(SeriesPrefix) + 8] = static_cast<std::byte>(align);
    return k;
}

AggregatePrefixParts parse_aggregate_prefix(std::span<const std::byte> key) noexcept {
    return {get_be<std::uint32_t>(key.data()),
            static_cast<std::int64_t>(get_be<std::uint64_t>(key.data() + sizeof(SeriesPrefix))),
            static_cast<std::uint8_t>(key[sizeof(SeriesPrefix) + 8])};
}

AggregateChunkKey aggregate_chunk_key(const AggregatePrefix& prefix, std::int64_t first_label) noexcept {
    AggregateChunkKey k{};
    std::memcpy(k.data(), prefix.data(), prefix.size());
    put_time_key(k.data() + prefix.size(), first_label);
    return k;
}

std::vector<std::byte> catalog_key(const SeriesKey& key) {
    std::vector<std::byte> k(key.symbol.size() + 9);
    std::memcpy(k.data(), key.symbol.data(), key.symbol.size());
    k[key.symbol.size()] = std::byte{0};
    put_be(k.data() + key.symbol.size() + 1, static_cast<std::uint64_t>(key.base.count()));
    return k;
}

SeriesKey parse_catalog_key(std::span<const std::byte> key) {
    if (key.size() < 10 || key[key.size() - 9] != std::byte{0}) throw CorruptData("bad catalog key");
    SeriesKey k;
    k.symbol.assign(reinterpret_cast<const char*>(key.data()), key.size() - 9);
    k.base = Duration{static_cast<std::int64_t>(get_be<std::uint64_t>(key.data() + key.size() - 8))};
    return k;
}

}  // namespace barstore::storage
