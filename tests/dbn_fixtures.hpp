// tests/dbn_fixtures.hpp: the DBN sample files, the doc's worked-example values (typed in from
// shared/docs/dbn-ohlcv.md §7, not from our decoder), and byte-level helpers to build bad inputs.
#pragma once
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "barstore/error.hpp"
#include "barstore/ingest.hpp"
#include "support/util.hpp"

namespace dbn_test {

using Bytes = std::vector<std::byte>;

inline std::filesystem::path dbn_dir() { return test::shared_dir() / "data/dbn"; }

inline Bytes read_bytes(const std::filesystem::path& p) {
    const auto text = test::read_text(p);
    if (text.empty() && !std::filesystem::exists(p)) throw std::runtime_error("missing " + p.string());
    Bytes b(text.size());
    std::memcpy(b.data(), text.data(), text.size());
    return b;
}

/// One-shot zstd, independent of the decoder's streaming code.
inline Bytes zstd_decompress(const Bytes& in) {
    Bytes out(1 << 20);
    const auto n = ZSTD_decompress(out.data(), out.size(), in.data(), in.size());
    if (ZSTD_isError(n)) throw std::runtime_error(ZSTD_getErrorName(n));
    out.resize(n);
    return out;
}
inline Bytes zstd_compress(std::span<const std::byte> in, int level = 3) {
    Bytes out(ZSTD_compressBound(in.size()));
    const auto n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), level);
    if (ZSTD_isError(n)) throw std::runtime_error(ZSTD_getErrorName(n));
    out.resize(n);
    return out;
}

inline Bytes concat(const Bytes& a, const Bytes& b) {
    Bytes r = a;
    r.insert(r.end(), b.begin(), b.end());
    return r;
}

template <class T>
void put(Bytes& b, std::size_t off, T v) {
    std::memcpy(b.data() + off, &v, sizeof v);
}
template <class T>
T get(const Bytes& b, std::size_t off) {
    T v;
    std::memcpy(&v, b.data() + off, sizeof v);
    return v;
}
inline void put_text(Bytes& b, std::size_t off, std::size_t width, const std::string& s) {
    std::memset(b.data() + off, 0, width);
    std::memcpy(b.data() + off, s.data(), s.size());
}

inline std::vector<barstore::SeriesBatch> decode(const Bytes& b, const barstore::ParseOptions& opts = {}) {
    return barstore::parse_dbn(b, "mem.dbn", opts);
}

/// The InvalidInput message from decoding `b`, or "" if it did not throw.
inline std::string error_of(const Bytes& b, const barstore::ParseOptions& opts = {}) {
    try {
        decode(b, opts);
    } catch (const barstore::InvalidInput& e) {
        return e.what();
    }
    return "";
}

// ---- the doc's worked examples (shared/docs/dbn-ohlcv.md §7) --------------------------------

struct Expected {
    const char* schema;            // file name part: ohlcv-1s ...
    std::int64_t base_ns;          // 0 for the header-only 1d files
    std::vector<barstore::Bar> bars;
};

inline barstore::Bar bar(std::int64_t ts, std::int64_t o, std::int64_t h, std::int64_t l, std::int64_t c,
                         std::int64_t v) {
    return barstore::Bar{barstore::Timestamp{barstore::Duration{ts}}, o, h, l, c, v};
}

inline const std::vector<Expected>& expected() {
    static const std::vector<Expected> e = {
        {"ohlcv-1s", 1'000'000'000,
         {bar(1609160400000000000, 372025000000000, 372050000000000, 372025000000000, 372050000000000, 57),
          bar(1609160401000000000, 372050000000000, 372050000000000, 372050000000000, 372050000000000, 13)}},
        {"ohlcv-1m", 60'000'000'000,
         {bar(1609160400000000000, 372025000000000, 372150000000000, 372025000000000, 372100000000000, 353),
          bar(1609160460000000000, 372100000000000, 372150000000000, 372100000000000, 372150000000000, 152)}},
        {"ohlcv-1h", 3'600'000'000'000,
         {bar(1609160400000000000, 372025000000000, 372350000000000, 372025000000000, 372225000000000, 9385),
          bar(1609164000000000000, 372225000000000, 372450000000000, 371600000000000, 371950000000000, 112698)}},
        {"ohlcv-1d", 0, {}},
    };
    return e;
}

/// The five files of one schema: plain v1, v1 zstd, plain v2 (no version in the name), v2 zstd, v3 zstd.
inline std::vector<std::string> variants(const std::string& schema) {
    const std::string p = "test_data." + schema;
    return {p + ".v1.dbn", p + ".v1.dbn.zst", p + ".dbn", p + ".v2.dbn.zst", p + ".v3.dbn.zst"};
}

// Layout of the plain 1m samples (doc §7 table): where the metadata ends and records start.
constexpr std::size_t kV1Records = 206;  // L = 198
constexpr std::size_t kV2Records = 353;  // L = 345
constexpr std::size_t kV3Records = 360;  // L = 352, 7 bytes of padding
constexpr std::size_t kRecordBytes = 56;

inline Bytes v1_1m() { return read_bytes(dbn_dir() / "test_data.ohlcv-1m.v1.dbn"); }
inline Bytes v2_1m() { return read_bytes(dbn_dir() / "test_data.ohlcv-1m.dbn"); }
inline Bytes v3_1m() { return zstd_decompress(read_bytes(dbn_dir() / "test_data.ohlcv-1m.v3.dbn.zst")); }

}  // namespace dbn_test
