// store/prewarm_record.hpp: the value of one `prewarm` entry, what the store records about one
// prewarmed aggregate (docs/format.md, "`prewarm`: one record per prewarmed aggregate").
// Pure: bytes in, bytes out, checked by a checksum over the whole value.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "barstore/types.hpp"

namespace barstore::prewarm {

inline constexpr std::uint16_t kRecordVersion = 1;
/// Fixed fields before the session text.
inline constexpr std::size_t kRecordFixedBytes = 64;
/// Where the checksum field lies (docs/format.md): it covers every other byte of the value.
inline constexpr std::size_t kRecordChecksumAt = 56;
/// Longest session text a record holds: a session with years of holidays is a few KB; more
/// than this is a damaged length, refused before anything is allocated for it.
inline constexpr std::size_t kMaxSessionBytes = 1 << 20;

struct Record {
    Scale scale;                 ///< the decimals of the bins' prices and volumes
    std::uint64_t built_generation = 0;
    std::uint64_t rows = 0, chunks = 0, stored_bytes = 0;
    std::int64_t first_label = 0, last_label = 0;  ///< meaningless when rows == 0
    std::string session;         ///< canonical session text the bins were built for
    friend bool operator==(const Record&, const Record&) = default;
};

std::vector<std::byte> encode_record(const Record& r);
/// Throws CorruptData("...: why") for a short, long, unknown-version, bad-checksum or
/// bad-decimals value.
Record decode_record(std::span<const std::byte> value);

}  // namespace barstore::prewarm
