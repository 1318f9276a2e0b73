// core/digits.hpp: decimal digits written two at a time into a caller's buffer, shared by
// write_decimal (core) and write_time (time) so that both print without snprintf or a string.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace barstore::digits {

/// "00".."99": two digits per division halves the divisions of a 19-digit number.
inline constexpr char kPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/// Writes the decimal digits of v ending just before `end` (at most 20); returns where they start.
inline char* before(char* end, std::uint64_t v) noexcept {
    while (v >= 100) {
        const auto pair = static_cast<std::size_t>(v % 100) * 2;
        v /= 100;
        end -= 2;
        std::memcpy(end, kPairs + pair, 2);
    }
    if (v >= 10) {
        end -= 2;
        std::memcpy(end, kPairs + v * 2, 2);
    } else {
        *--end = static_cast<char>('0' + v);
    }
    return end;
}

/// v (0..99) as two digits at `out`; returns the end.
inline char* two(char* out, unsigned v) noexcept {
    std::memcpy(out, kPairs + v * 2, 2);
    return out + 2;
}

}  // namespace barstore::digits
