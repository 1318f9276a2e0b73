// storage/keys.cpp: big-endian key encoding so that byte order is (series, time) order.
#include "storage/keys.hpp"

#include <cstring>

#include "barstore/error.hpp"

namespace barstore::storage {

void put_be32(std::byte* p, std::uint32_t v) {
    for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<std::byte>(v & 0xFF);
}
void put_be64(std::byte* p, std::uint64_t v) {
    for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<std::byte>(v & 0xFF);
}
std::uint32_t get_be32(const std::byte* p) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<std::uint32_t>(p[i]);
    return v;
}
std::uint64_t get_be64(const std::byte* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<std::uint64_t>(p[i]);
    return v;
}

constexpr std::uint64_t kSignBit = std::uint64_t{1} << 63;

ChunkKey chunk_key(std::uint32_t series_id, std::int64_t first_ts) {
    ChunkKey k{};
    put_be32(k.data(), series_id);
    put_be64(k.data() + 4, static_cast<std::uint64_t>(first_ts) ^ kSignBit);
    return k;
}

ChunkKeyParts parse_chunk_key(std::span<const std::byte> key) {
    return {get_be32(key.data()), static_cast<std::int64_t>(get_be64(key.data() + 4) ^ kSignBit)};
}

std::vector<std::byte> catalog_key(const SeriesKey& key) {
    std::vector<std::byte> k(key.symbol.size() + 9);
    std::memcpy(k.data(), key.symbol.data(), key.symbol.size());
    k[key.symbol.size()] = std::byte{0};
    put_be64(k.data() + key.symbol.size() + 1, static_cast<std::uint64_t>(key.base.count()));
    return k;
}

SeriesKey parse_catalog_key(std::span<const std::byte> key) {
    if (key.size() < 10 || key[key.size() - 9] != std::byte{0}) throw CorruptData("bad catalog key");
    SeriesKey k;
    k.symbol.assign(reinterpret_cast<const char*>(key.data()), key.size() - 9);
    k.base = Duration{static_cast<std::int64_t>(get_be64(key.data() + key.size() - 8))};
    return k;
}

}  // namespace barstore::storage
