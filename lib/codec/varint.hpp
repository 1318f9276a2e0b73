// codec/varint.hpp: integer kernels the chunk codec is built from (pure, span -> bytes).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace barstore::codec {

/// Maps small magnitudes of either sign to small unsigned values: 0,-1,1,-2 -> 0,1,2,3.
constexpr std::uint64_t zigzag(std::int64_t v) noexcept {
    return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
constexpr std::int64_t unzigzag(std::uint64_t u) noexcept {
    return static_cast<std::int64_t>((u >> 1) ^ (0 - (u & 1)));
}

/// Bytes needed for the largest value (0 for an all-zero column).
unsigned byte_width(std::span<const std::uint64_t> values) noexcept;

/// Writes `width` little-endian byte planes: all rows' byte 0, then all rows' byte 1, ...
/// Planes of similar bytes are what lets zstd's entropy stage get close to the data's entropy.
void shuffle_pack(std::span<const std::uint64_t> values, unsigned width, std::vector<std::byte>& out);
/// Inverse of shuffle_pack; `in` must hold exactly values.size() * width bytes.
void shuffle_unpack(std::span<const std::byte> in, unsigned width, std::span<std::uint64_t> values) noexcept;

/// LEB128: 7 bits per byte, high bit = more bytes follow.
void varint_pack(std::span<const std::uint64_t> values, std::vector<std::byte>& out);
/// Returns false if `in` does not hold exactly values.size() well-formed varints.
bool varint_unpack(std::span<const std::byte> in, std::span<std::uint64_t> values) noexcept;

}  // namespace barstore::codec
