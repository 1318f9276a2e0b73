// tests/reference/naive_chunk.hpp: a chunk decoder written from docs/format.md alone, byte by
// byte, with none of lib/codec's code. Slow and strict; throws std::runtime_error("why").
#pragma once
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace reference {

struct SpecColumns {
    std::vector<std::int64_t> col[6];  // ts, open, high, low, close, volume
    std::size_t rows() const { return col[0].size(); }
};

inline std::uint64_t le(std::span<const std::byte> b, std::size_t at, int bytes) {
    if (at + static_cast<std::size_t>(bytes) > b.size()) throw std::runtime_error("read past the end");
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<std::uint64_t>(b[at + static_cast<std::size_t>(i)]);
    return v;
}

/// Decodes one chunk exactly as docs/format.md ("Chunk") describes.
inline SpecColumns decode_chunk_per_spec(std::span<const std::byte> b) {
    auto fail = [](const std::string& why) -> void { throw std::runtime_error(why); };
    if (b.size() < 232) fail("short");
    if (le(b, 0, 4) != 0x4B435342) fail("magic");  // "BSCK" read little-endian
    if (le(b, 4, 2) != 1) fail("version");
    if (le(b, 6, 2) != 232) fail("header size");
    const std::uint64_t rows = le(b, 8, 4);
    if (rows < 1) fail("rows");
    if (le(b, 12, 4) != b.size() - 232) fail("payload size");
    const auto first_ts = static_cast<std::int64_t>(le(b, 16, 8));
    const auto last_ts = static_cast<std::int64_t>(le(b, 24, 8));
    // XXH3-64, seed 0, over [0, 32) ++ [40, end): computed on a copy with one-shot hashing.
    std::vector<std::byte> covered(b.begin(), b.begin() + 32);
    covered.insert(covered.end(), b.begin() + 40, b.end());
    if (XXH3_64bits(covered.data(), covered.size()) != le(b, 32, 8)) fail("checksum");

    std::vector<std::uint64_t> r[6];  // residuals (after divisor), as uint64 for mod-2^64 math
    std::uint8_t transform[6];
    std::uint64_t base[6];
    std::size_t pos = 232, stored_sum = 0;
    for (int c = 0; c < 6; ++c) {
        const std::size_t d = 40 + 32 * static_cast<std::size_t>(c);
        transform[c] = static_cast<std::uint8_t>(le(b, d, 1));
        const auto packing = le(b, d + 1, 1), width = le(b, d + 2, 1), compression = le(b, d + 3, 1);
        const auto stored = le(b, d + 4, 4), packed = le(b, d + 8, 4);
        if (le(b, d + 12, 4) != 0) fail("reserved");
        base[c] = le(b, d + 16, 8);
        const std::uint64_t divisor = le(b, d + 24, 8);
        if (divisor < 1) fail("divisor");
        const bool shuffle = packing == 1 || packing == 2;
        if (packing < 1 || packing > 4) fail("packing");
        if (shuffle && (width > 8 || packed != rows * width)) fail("width");
        if (!shuffle && (packed < rows || packed > 10 * rows)) fail("varint size");
        if (compression > 1) fail("compression");
        if (compression == 0 && stored != packed) fail("stored != packed");
        const bool ok_transform = transform[c] <= 1 || (transform[c] == 2 && c == 0) ||
                                  (transform[c] >= 3 && transform[c] <= 6 && c == transform[c] - 2);
        if (!ok_transform) fail("transform");
        stored_sum += stored;
        if (pos + stored > b.size()) fail("column past the end");
        std::vector<unsigned char> bytes(packed);
        if (compression == 1) {
            const std::size_t z = ZSTD_decompress(bytes.data(), bytes.size(), b.data() + pos, stored);
            if (ZSTD_isError(z) || z != packed) fail("zstd");
        } else {
            for (std::size_t i = 0; i < stored; ++i) bytes[i] = static_cast<unsigned char>(b[pos + i]);
        }
        pos += stored;
        std::vector<std::uint64_t> q(rows, 0);
        if (shuffle) {
            for (std::uint64_t plane = 0; plane < width; ++plane)
                for (std::uint64_t i = 0; i < rows; ++i) q[i] |= std::uint64_t{bytes[plane * rows + i]} << (8 * plane);
        } else {
            std::size_t at = 0;
            for (std::uint64_t i = 0; i < rows; ++i) {
                std::uint64_t v = 0;
                for (int shift = 0;; shift += 7) {
                    if (at >= bytes.size() || shift > 63) fail("varint");
                    if (shift == 63 && bytes[at] > 1) fail("varint past 2^64");
                    v |= std::uint64_t{bytes[at] & 0x7Fu} << shift;
                    if (!(bytes[at++] & 0x80)) break;
                }
                q[i] = v;
            }
            if (at != bytes.size()) fail("varint bytes left over");
        }
        const bool zigzag = packing == 1 || packing == 3;
        r[c].resize(rows);
        for (std::uint64_t i = 0; i < rows; ++i) {
            const std::uint64_t s = zigzag ? (q[i] >> 1) ^ (0 - (q[i] & 1)) : q[i];
            r[c][i] = s * divisor;
        }
    }
    if (stored_sum != b.size() - 232) fail("sizes do not add up");

    // Undo the transforms in the documented order, modulo 2^64.
    std::vector<std::uint64_t> x[6];
    for (auto& v : x) v.assign(rows, 0);
    auto simple = [&](int c) {
        if (transform[c] == 0) {
            for (std::uint64_t i = 0; i < rows; ++i) x[c][i] = base[c] + r[c][i];
        } else if (transform[c] == 1) {
            std::uint64_t prev = base[c];
            for (std::uint64_t i = 0; i < rows; ++i) x[c][i] = prev = prev + r[c][i];
        } else if (transform[c] == 2) {
            std::uint64_t prev = base[c], d = 0;
            for (std::uint64_t i = 0; i < rows; ++i) {
                d += r[c][i];
                x[c][i] = prev = prev + d;
            }
        } else {
            return false;
        }
        return true;
    };
    auto s64 = [](std::uint64_t v) { return static_cast<std::int64_t>(v); };
    simple(0);
    simple(5);
    const bool open_simple = simple(1), close_simple = simple(4);
    std::uint64_t prev_close = base[1];
    for (std::uint64_t i = 0; i < rows; ++i) {
        if (!open_simple) x[1][i] = prev_close + r[1][i];  // from_prev_close
        if (!close_simple) x[4][i] = x[1][i] + r[4][i];    // from_open
        prev_close = x[4][i];
    }
    if (!simple(2))
        for (std::uint64_t i = 0; i < rows; ++i)
            x[2][i] = static_cast<std::uint64_t>(std::max(s64(x[1][i]), s64(x[4][i]))) + r[2][i];
    if (!simple(3))
        for (std::uint64_t i = 0; i < rows; ++i)
            x[3][i] = static_cast<std::uint64_t>(std::min(s64(x[1][i]), s64(x[4][i]))) - r[3][i];
    if (s64(x[0].front()) != first_ts || s64(x[0].back()) != last_ts) fail("ts range differs from header");

    SpecColumns out;
    for (int c = 0; c < 6; ++c)
        for (auto v : x[c]) out.col[c].push_back(s64(v));
    return out;
}

}  // namespace reference
