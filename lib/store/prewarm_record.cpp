// store/prewarm_record.cpp: encodes and checks `prewarm` records (docs/format.md). A record is
// trusted only after its checksum: a reader that finds a bad one treats the aggregate as absent.
#include "store/prewarm_record.hpp"

#include "barstore/error.hpp"
#include "codec/checksum.hpp"
#include "core/bytes.hpp"

namespace barstore::prewarm {

std::vector<std::byte> encode_record(const Record& r) {
    std::vector<std::byte> b(kRecordFixedBytes + r.session.size());
    put_le<std::uint16_t>(b.data(), kRecordVersion);
    b[2] = static_cast<std::byte>(r.scale.price_decimals);
    b[3] = static_cast<std::byte>(r.scale.volume_decimals);
    put_le(b.data() + 4, static_cast<std::uint32_t>(r.session.size()));
    put_le(b.data() + 8, r.built_generation);
    put_le(b.data() + 16, r.rows);
    put_le(b.data() + 24, r.chunks);
    put_le(b.data() + 32, r.stored_bytes);
    put_le(b.data() + 40, r.first_label);
    put_le(b.data() + 48, r.last_label);
    for (std::size_t i = 0; i < r.session.size(); ++i) b[kRecordFixedBytes + i] = static_cast<std::byte>(r.session[i]);
    put_le(b.data() + kRecordChecksumAt, codec::checksum_without_field(b, kRecordChecksumAt));
    return b;
}

Record decode_record(std::span<const std::byte> b) {
    auto bad = [](const std::string& why) { return CorruptData("prewarm record: " + why); };
    if (b.size() < kRecordFixedBytes) throw bad(std::to_string(b.size()) + " bytes, shorter than its fixed part");
    if (const auto v = get_le<std::uint16_t>(b.data()); v != kRecordVersion)
        throw bad("version " + std::to_string(v) + ", but this barstore reads only " + std::to_string(kRecordVersion));
    const auto session_bytes = get_le<std::uint32_t>(b.data() + 4);
    if (session_bytes > kMaxSessionBytes || b.size() != kRecordFixedBytes + session_bytes)
        throw bad("length " + std::to_string(b.size()) + " does not match its session text of " +
                  std::to_string(session_bytes) + " bytes");
    if (get_le<std::uint64_t>(b.data() + kRecordChecksumAt) != codec::checksum_without_field(b, kRecordChecksumAt))
        throw bad("checksum mismatch");
    Record r;
    r.scale.price_decimals = static_cast<int>(b[2]);
    r.scale.volume_decimals = static_cast<int>(b[3]);
    if (r.scale.price_decimals > 18 || r.scale.volume_decimals > 18) throw bad("decimals past 18");
    r.built_generation = get_le<std::uint64_t>(b.data() + 8);
    r.rows = get_le<std::uint64_t>(b.data() + 16);
    r.chunks = get_le<std::uint64_t>(b.data() + 24);
    r.stored_bytes = get_le<std::uint64_t>(b.data() + 32);
    r.first_label = get_le<std::int64_t>(b.data() + 40);
    r.last_label = get_le<std::int64_t>(b.data() + 48);
    r.session.assign(reinterpret_cast<const char*>(b.data() + kRecordFixedBytes), session_bytes);
    return r;
}

}  // namespace barstore::prewarm
