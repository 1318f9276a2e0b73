// core/le.hpp: little-endian fields at any alignment, for values read straight from LMDB pages.
#pragma once
#include <cstddef>
#include <cstring>

namespace barstore {

// memcpy, not a cast: LMDB hands out values at any byte offset, and x86-64 and arm64 are both
// little-endian, which is the byte order docs/format.md fixes for values.
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

}  // namespace barstore
