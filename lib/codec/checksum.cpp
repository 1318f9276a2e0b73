// codec/checksum.cpp: XXH3-64 over a value minus its own checksum field; the one checksum
// routine, so that writer and reader of a value cannot cover different bytes.
#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack: no heap state per value
#include "codec/checksum.hpp"

#include <xxhash.h>

namespace barstore::codec {

std::uint64_t checksum_without_field(std::span<const std::byte> value, std::size_t field_at) noexcept {
    XXH3_state_t st;
    XXH3_INITSTATE(&st);
    XXH3_64bits_reset(&st);
    XXH3_64bits_update(&st, value.data(), field_at);
    XXH3_64bits_update(&st, value.data() + field_at + kChecksumBytes, value.size() - field_at - kChecksumBytes);
    return XXH3_64bits_digest(&st);
}

}  // namespace barstore::codec
