// tests/fuzz/fuzz_dbn_zstd.cpp: libFuzzer target for the zstd path of barstore::parse_dbn with
// well-formed frames: the input is plain DBN, compressed here into one frame or, for odd
// lengths, two frames split at a point the input picks, so mutations reach the records.
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz_common.hpp"

namespace {
void append_frame(std::vector<std::byte>& out, const std::uint8_t* p, std::size_t n) {
    const std::size_t bound = ZSTD_compressBound(n);
    const std::size_t at = out.size();
    out.resize(at + bound);
    const std::size_t got = ZSTD_compress(out.data() + at, bound, p, n, 1);
    if (ZSTD_isError(got)) fuzz::fail(std::string("ZSTD_compress: ") + ZSTD_getErrorName(got));
    out.resize(at + got);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::byte> z;
    if (size % 2 == 1 && size > 2) {
        const std::size_t split = (data[size - 1] * size) / 256;  // the last byte picks the split
        append_frame(z, data, split);
        append_frame(z, data + split, size - split);
    } else {
        append_frame(z, data, size);
    }
    fuzz::expect_clean([&] { return barstore::parse_dbn(z, "fuzz.dbn.zst", {}); });
    return 0;
}
