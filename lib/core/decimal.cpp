// core/decimal.cpp: exact decimal parsing and printing; no floating point anywhere, so
// `130.23` is stored as 13023 x 10^-2 and printed back as `130.23`. Owns the exact-decimal core
// (decimal_parse.hpp) that the CSV parser's number fields fall back to, and the one printer,
// write_decimal, that format_decimal and the CLI's CSV cells both are.
#include "barstore/decimal.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "core/decimal_parse.hpp"
#include "core/digits.hpp"

namespace barstore {

namespace decimal_core {

// The digits are collected as text so that rounding works on decimal digits, never on a binary
// value; this is the slow, general path (the CSV parser calls it only for long or bad fields).
Status parse_exact(std::string_view t, const Rules& rules, Parts& n) {
    n = Parts{};
    std::size_t i = 0;
    if (i < t.size() && (t[i] == '-' || t[i] == '+')) n.negative = t[i++] == '-';
    std::string digits;  // all digits, leading zeros dropped: value = digits / 10^frac
    std::size_t frac = 0, count = 0;
    bool dot = false;
    for (; i < t.size(); ++i) {
        if (t[i] == '.' && !dot) {
            dot = true;
            continue;
        }
        if (!is_digit(t[i])) return Status::syntax;
        ++count;
        if (dot) ++frac;
        if (!digits.empty() || t[i] != '0') digits += t[i];
    }
    if (count == 0) return Status::syntax;
    const auto drop_trailing_zeros = [&] {
        while (frac > 0 && !digits.empty() && digits.back() == '0') {
            digits.pop_back();
            --frac;
        }
        if (digits.empty()) frac = 0;
    };
    if (rules.drop_trailing_zeros) drop_trailing_zeros();
    const std::size_t max_digits = rules.max_significant_digits;
    if (max_digits > 0 && digits.size() > max_digits && frac > 0) {
        const std::size_t keep = digits.size() - std::min(digits.size() - max_digits, frac);
        const char first = digits[keep];
        const bool rest = digits.find_first_not_of('0', keep + 1) != std::string::npos;
        const bool odd = (digits[keep - 1] - '0') % 2 == 1;
        frac -= digits.size() - keep;
        digits.resize(keep);
        n.rounded = true;
        if (first > '5' || (first == '5' && (rest || odd))) {
            std::size_t j = keep;
            for (; j > 0 && digits[j - 1] == '9'; --j) digits[j - 1] = '0';
            if (j == 0) digits.insert(digits.begin(), '1');
            else ++digits[j - 1];
        }
        drop_trailing_zeros();
    }
    if (frac > static_cast<std::size_t>(kMaxDecimals)) return Status::decimals;
    std::uint64_t m = 0;
    for (const char c : digits)
        if (__builtin_mul_overflow(m, 10u, &m) || __builtin_add_overflow(m, static_cast<unsigned>(c - '0'), &m))
            return Status::range;
    constexpr auto kInt64Max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (m > kInt64Max + (n.negative && rules.allow_int64_min ? 1 : 0)) return Status::range;
    n.mag = m;
    n.decimals = static_cast<int>(frac);
    return Status::ok;
}

}  // namespace decimal_core

std::optional<Decimal> parse_decimal(std::string_view s) {
    // Exactly as written: `46319.0` keeps its decimal, and INT64_MIN parses too.
    constexpr decimal_core::Rules kExact{.drop_trailing_zeros = false, .max_significant_digits = 0,
                                         .allow_int64_min = true};
    decimal_core::Parts p;
    if (decimal_core::parse_exact(s, kExact, p) != decimal_core::Status::ok) return std::nullopt;
    const auto m = p.negative ? static_cast<std::int64_t>(0 - p.mag) : static_cast<std::int64_t>(p.mag);
    return Decimal{m, p.decimals};
}

std::optional<std::int64_t> rescale(std::int64_t mantissa, int from_decimals, int to_decimals) {
    const int k = to_decimals - from_decimals;
    if (k < 0 || k > decimal_core::kMaxDecimals) return std::nullopt;
    std::int64_t out = 0;
    if (__builtin_mul_overflow(mantissa, decimal_core::pow10(k), &out)) return std::nullopt;
    return out;
}

char* write_decimal(char* out, std::int64_t mantissa, int decimals) noexcept {
    const bool negative = mantissa < 0;
    const auto mag = negative ? 0 - static_cast<std::uint64_t>(mantissa) : static_cast<std::uint64_t>(mantissa);
    if (mag == 0) {
        *out = '0';  // never "-0" or "0.0"
        return out + 1;
    }
    char tmp[20];
    char* const tmp_end = tmp + sizeof tmp;
    const char* first = digits::before(tmp_end, mag);
    const auto count = static_cast<std::size_t>(tmp_end - first);
    if (negative) *out++ = '-';
    // A negative scale has no fraction to place: the digits as they are, as always printed.
    const auto frac_digits = static_cast<std::size_t>(decimals > 0 ? decimals : 0);
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

std::string format_decimal(std::int64_t mantissa, int decimals) {
    if (decimals <= decimal_core::kMaxDecimals) {
        char buf[kMaxDecimalChars];
        return std::string(buf, write_decimal(buf, mantissa, decimals));
    }
    // A scale no series has (the call takes any int): "-0." and up to `decimals` digits.
    std::string out(static_cast<std::size_t>(decimals) + 3, '\0');
    out.resize(static_cast<std::size_t>(write_decimal(out.data(), mantissa, decimals) - out.data()));
    return out;
}

}  // namespace barstore
