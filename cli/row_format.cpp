// cli/row_format.cpp: decimal and time cells without snprintf or a string per cell, and the
// buffered stdout they go to. Invariant: the text equals format_decimal()/format_time()'s.
#include "row_format.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace barstore::cli {

namespace {

/// "00".."99": two digits per division halves the divisions of a 19-digit number.
constexpr char kPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/// Writes the decimal digits of v ending just before `end`; returns where they start.
char* digits_before(char* end, std::uint64_t v) noexcept {
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

char* two(char* out, unsigned v) noexcept {
    std::memcpy(out, kPairs + v * 2, 2);
    return out + 2;
}

}  // namespace

char* write_decimal(char* out, std::int64_t mantissa, int decimals) noexcept {
    const bool negative = mantissa < 0;
    const auto mag = negative ? 0 - static_cast<std::uint64_t>(mantissa) : static_cast<std::uint64_t>(mantissa);
    if (mag == 0) {
        *out = '0';
        return out + 1;
    }
    char tmp[20];
    char* const tmp_end = tmp + sizeof tmp;
    const char* first = digits_before(tmp_end, mag);
    const auto count = static_cast<std::size_t>(tmp_end - first);
    if (negative) *out++ = '-';
    const auto frac_digits = static_cast<std::size_t>(decimals);
    if (frac_digits == 0) {
        std::memcpy(out, first, count);
        return out + count;
    }
    // Trailing zeros of the fraction are not printed; mag != 0, so a nonzero digit stays.
    const char* last = tmp_end;
    std::size_t frac = frac_digits;
    while (frac > 0 && last[-1] == '0') --last, --frac;
    if (count > frac_digits) {
        const std::size_t int_count = count - frac_digits;
        std::memcpy(out, first, int_count);
        out += int_count;
        if (frac == 0) return out;
        *out++ = '.';
        std::memcpy(out, first + int_count, frac);
        return out + frac;
    }
    // |value| < 1: "0." then the zeros the mantissa's digits do not reach.
    *out++ = '0';
    *out++ = '.';
    const std::size_t zeros = frac_digits - count;
    std::memset(out, '0', zeros);
    out += zeros;
    const auto kept = static_cast<std::size_t>(last - first);
    std::memcpy(out, first, kept);
    return out + kept;
}

char* write_time(char* out, std::int64_t ns) noexcept {
    // Floor division so times before 1970 print as format_time() prints them.
    std::int64_t secs = ns / 1'000'000'000;
    std::int64_t frac = ns % 1'000'000'000;
    if (frac < 0) frac += 1'000'000'000, --secs;
    std::int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) sod += 86400, --days;
    const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
    // int64 nanoseconds span the years 1677..2262: always four digits.
    const auto year = static_cast<unsigned>(static_cast<int>(ymd.year()));
    out = two(out, year / 100);
    out = two(out, year % 100);
    *out++ = '-';
    out = two(out, static_cast<unsigned>(ymd.month()));
    *out++ = '-';
    out = two(out, static_cast<unsigned>(ymd.day()));
    *out++ = 'T';
    const auto s = static_cast<unsigned>(sod);
    out = two(out, s / 3600);
    *out++ = ':';
    out = two(out, s / 60 % 60);
    *out++ = ':';
    out = two(out, s % 60);
    if (frac != 0) {
        char tmp[9];
        auto f = static_cast<std::uint64_t>(frac);
        for (int k = 8; k >= 0; --k) tmp[k] = static_cast<char>('0' + f % 10), f /= 10;
        int n = 9;
        while (tmp[n - 1] == '0') --n;
        *out++ = '.';
        std::memcpy(out, tmp, static_cast<std::size_t>(n));
        out += n;
    }
    *out++ = 'Z';
    return out;
}

void OutBuffer::put(std::string_view s) {
    while (!s.empty()) {
        const std::size_t n = std::min(s.size(), kBufferBytes);
        char* p = room(n);
        std::memcpy(p, s.data(), n);
        end(p + n);
        s.remove_prefix(n);
    }
}

void OutBuffer::flush() {
    if (used_ > 0) std::fwrite(buf_, 1, used_, to_);
    used_ = 0;
}

}  // namespace barstore::cli
