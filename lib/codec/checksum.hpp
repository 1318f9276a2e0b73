// codec/checksum.hpp: the checksum a stored value carries over itself.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

namespace barstore::codec {

/// Bytes of the checksum field that a value's checksum leaves out.
inline constexpr std::size_t kChecksumBytes = 8;

/// XXH3-64 (seed 0) of `value` with its 8-byte checksum field at `field_at` cut out: bytes
/// [0, field_at) followed by [field_at + 8, end), as docs/format.md ("Fixed part") specifies
/// for chunks. Requires field_at + 8 <= value.size(). Streams over both parts on a stack state:
/// nothing is copied or allocated.
std::uint64_t checksum_without_field(std::span<const std::byte> value, std::size_t field_at) noexcept;

}  // namespace barstore::codec
