// tests/fuzz/fuzz_chunk.cpp: libFuzzer target for codec::decode_chunk. Each input is decoded as
// it is (the checksum rejects nearly every mutation) and again with its checksum recomputed, so
// the header checks, size bounds, zstd frames, unpacking and transforms are all reached. A
// decode either throws CorruptData leaving the output untouched, or yields rows that agree
// with the header, survive a re-encode round trip, and resample exactly or not at all.
#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "codec/chunk.hpp"
#include "fuzz_common.hpp"

namespace {

void decode_one(std::span<const std::byte> chunk) {
    using barstore::BarColumns;
    BarColumns out;
    out.push_back(barstore::Bar{});  // a row already there must survive a failed decode
    const BarColumns before = out;
    try {
        barstore::codec::decode_chunk(chunk, out);
    } catch (const barstore::CorruptData&) {
        if (!(out == before)) fuzz::fail("a failed decode changed its output");
        return;
    } catch (const std::exception& e) {
        fuzz::fail(std::string("unexpected exception: ") + e.what());
    }
    const auto h = barstore::codec::read_chunk_header(chunk, true);
    const std::size_t rows = out.size() - 1;
    if (rows != h.rows || rows == 0) fuzz::fail("decoded rows do not match the header");
    if (out.ts[1] != h.first_ts || out.ts.back() != h.last_ts) fuzz::fail("first/last ts do not match the header");
    BarColumns decoded;
    decoded.append(out, 1, out.size());
    // Decoded columns hold any int64 (INT64_MIN/MAX stamps, huge volumes): binned from a 1 ns
    // base to 1 ns .. 1 week, every bin must be exact or refused, never wrapped.
    fuzz::check_resample(decoded, 1, {1, 7, 1'000'000'000, 60'000'000'000, 3'600'000'000'000, 86'400'000'000'000,
                                      604'800'000'000'000});
    if (rows <= barstore::codec::kMaxChunkRows) {
        const auto again = barstore::codec::encode_chunk(decoded, 0, rows);
        BarColumns round;
        barstore::codec::decode_chunk(again, round);
        if (!(round == decoded)) fuzz::fail("decode(encode(decoded)) differs");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> raw(reinterpret_cast<const std::byte*>(data), size);
    decode_one(raw);
    if (size >= 40) {
        std::vector<std::byte> sealed(raw.begin(), raw.end());
        XXH3_state_t* st = XXH3_createState();
        XXH3_64bits_reset(st);
        XXH3_64bits_update(st, sealed.data(), 32);
        XXH3_64bits_update(st, sealed.data() + 40, sealed.size() - 40);
        const std::uint64_t sum = XXH3_64bits_digest(st);
        XXH3_freeState(st);
        std::memcpy(sealed.data() + 32, &sum, 8);  // little-endian, as docs/format.md says
        decode_one(sealed);
    }
    return 0;
}
