// core/bytes.hpp: integers as bytes at any alignment, and text as bytes: the one place for byte
// order. Values are little-endian (x86-64 and arm64 are, so a field is a memcpy); keys are
// big-endian, so that LMDB's bytewise key order is numeric order (docs/format.md).
#pragma once
#include <bit>
#include <cstddef>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>

namespace barstore {

static_assert(std::endian::native == std::endian::little, "values are read from LMDB pages as they lie");

// memcpy, not a cast: LMDB hands out values at any byte offset.
template <class T>
void put_le(std::byte* p, T v) {
    std::memcpy(p, &v, sizeof v);
}
template <class T>
T get_le(const std::byte* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

/// An unsigned integer, most significant byte first (key fields).
template <class T>
void put_be(std::byte* p, T v) {
    static_assert(std::is_unsigned_v<T> && sizeof(T) >= 4);
    for (std::size_t i = sizeof v; i-- > 0; v >>= 8) p[i] = static_cast<std::byte>(v & 0xFF);
}
template <class T>
T get_be(const std::byte* p) {
    static_assert(std::is_unsigned_v<T> && sizeof(T) >= 4);
    T v = 0;
    for (std::size_t i = 0; i < sizeof v; ++i) v = v << 8 | static_cast<T>(p[i]);
    return v;
}

/// A string's bytes, borrowed: valid while the string is.
inline std::span<const std::byte> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

}  // namespace barstore
