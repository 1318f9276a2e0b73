// tests/fuzz/fuzz_dbn.cpp: libFuzzer target for barstore::parse_dbn on raw bytes: plain DBN
// v1-v3 and zstd frames (the decoder tells them apart), so bombs and broken frames are reached.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    barstore::ParseOptions opts;
    if (size % 3 == 1) opts.symbol = "FUZZ";  // the one-symbol rename path
    fuzz::expect_clean([&] { return barstore::parse_dbn(bytes, "fuzz.dbn", opts); });
    return 0;
}
