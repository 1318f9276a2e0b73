// codec/varint.cpp: byte-plane shuffle and LEB128 varints over unsigned 64-bit values.
// Decoders never read past their input span: corrupt chunks must fail, not crash.
#include "codec/varint.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace barstore::codec {

unsigned byte_width(std::span<const std::uint64_t> values) noexcept {
    std::uint64_t all = 0;
    for (auto v : values) all |= v;
    return static_cast<unsigned>((64 - std::countl_zero(all) + 7) / 8);
}

void shuffle_pack(std::span<const std::uint64_t> values, unsigned width, std::vector<std::byte>& out) {
    const std::size_t n = values.size();
    const std::size_t base = out.size();
    out.resize(base + n * width);
    auto* dst = reinterpret_cast<unsigned char*>(out.data() + base);
    for (unsigned b = 0; b < width; ++b) {
        const unsigned shift = 8 * b;
        unsigned char* plane = dst + b * n;
        for (std::size_t i = 0; i < n; ++i) plane[i] = static_cast<unsigned char>(values[i] >> shift);
    }
}

void shuffle_unpack(std::span<const std::byte> in, unsigned width, std::span<std::uint64_t> values) noexcept {
    const std::size_t n = values.size();
    const auto* src = reinterpret_cast<const unsigned char*>(in.data());
    std::fill(values.begin(), values.end(), 0);  // not memset: data() may be null when n == 0
    for (unsigned b = 0; b < width; ++b) {
        const unsigned shift = 8 * b;
        const unsigned char* plane = src + b * n;
        for (std::size_t i = 0; i < n; ++i) values[i] |= static_cast<std::uint64_t>(plane[i]) << shift;
    }
}

void varint_pack(std::span<const std::uint64_t> values, std::vector<std::byte>& out) {
    for (auto v : values) {
        while (v >= 0x80) {
            out.push_back(static_cast<std::byte>((v & 0x7F) | 0x80));
            v >>= 7;
        }
        out.push_back(static_cast<std::byte>(v));
    }
}

bool varint_unpack(std::span<const std::byte> in, std::span<std::uint64_t> values) noexcept {
    std::size_t pos = 0;
    for (auto& v : values) {
        std::uint64_t x = 0;
        for (unsigned shift = 0;; shift += 7) {
            if (pos >= in.size() || shift > 63) return false;
            const auto byte = static_cast<std::uint64_t>(in[pos++]);
            // The 10th byte holds bit 63 only; more would be a value past 2^64, silently cut.
            if (shift == 63 && byte > 1) return false;
            x |= (byte & 0x7F) << shift;
            if (!(byte & 0x80)) break;
        }
        v = x;
    }
    return pos == in.size();
}

}  // namespace barstore::codec
