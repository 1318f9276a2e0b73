// tests/reference/naive_prewarm.hpp: reads `prewarm` records and keys, and `aggregates` keys,
// written from docs/format.md ("`prewarm`", "`aggregates`") alone, byte by byte, with none of
// lib/'s code. Slow and strict; throws std::runtime_error("why").
#pragma once
#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "reference/naive_chunk.hpp"

namespace reference {

struct SpecPrewarmRecord {
    int price_decimals = 0, volume_decimals = 0;
    std::uint64_t built_generation = 0, rows = 0, chunks = 0, stored_bytes = 0;
    std::int64_t first_label = 0, last_label = 0;
    std::string session;
};

/// Decodes one `prewarm` value as docs/format.md describes it.
inline SpecPrewarmRecord decode_prewarm_record_per_spec(std::span<const std::byte> b) {
    auto fail = [](const std::string& why) -> void { throw std::runtime_error(why); };
    if (b.size() < 64) fail("short");
    if (le(b, 0, 2) != 1) fail("version");
    const std::uint64_t n = le(b, 4, 4);
    if (n > (1u << 20)) fail("session length");
    if (b.size() != 64 + n) fail("size");
    std::vector<std::byte> covered(b.begin(), b.begin() + 56);
    covered.insert(covered.end(), b.begin() + 64, b.end());
    if (XXH3_64bits(covered.data(), covered.size()) != le(b, 56, 8)) fail("checksum");
    SpecPrewarmRecord r;
    r.price_decimals = static_cast<int>(le(b, 2, 1));
    r.volume_decimals = static_cast<int>(le(b, 3, 1));
    if (r.price_decimals > 18 || r.volume_decimals > 18) fail("decimals");
    r.built_generation = le(b, 8, 8);
    r.rows = le(b, 16, 8);
    r.chunks = le(b, 24, 8);
    r.stored_bytes = le(b, 32, 8);
    r.first_label = static_cast<std::int64_t>(le(b, 40, 8));
    r.last_label = static_cast<std::int64_t>(le(b, 48, 8));
    for (std::uint64_t i = 0; i < n; ++i) r.session += static_cast<char>(b[64 + i]);
    return r;
}

inline std::uint64_t be(std::span<const std::byte> b, std::size_t at, int bytes) {
    if (at + static_cast<std::size_t>(bytes) > b.size()) throw std::runtime_error("key too short");
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<std::uint64_t>(b[at + static_cast<std::size_t>(i)]);
    return v;
}

/// A `prewarm` key, or the first 13 bytes of an `aggregates` key.
struct SpecAggregateKey {
    std::uint32_t series_id = 0;
    std::int64_t timeframe_ns = 0;
    bool session = false;       // alignment byte 1; 0 is utc
    std::int64_t first_label = 0;  // `aggregates` keys only
};

inline SpecAggregateKey parse_aggregate_key_per_spec(std::span<const std::byte> k) {
    if (k.size() != 13 && k.size() != 21) throw std::runtime_error("key size");
    SpecAggregateKey out;
    out.series_id = static_cast<std::uint32_t>(be(k, 0, 4));
    out.timeframe_ns = static_cast<std::int64_t>(be(k, 4, 8));
    const auto align = be(k, 12, 1);
    if (align > 1) throw std::runtime_error("alignment byte");
    out.session = align == 1;
    if (k.size() == 21) out.first_label = static_cast<std::int64_t>(be(k, 13, 8) ^ (std::uint64_t{1} << 63));
    return out;
}

}  // namespace reference
