// core/decimal.cpp: exact decimal parsing and printing; no floating point anywhere, so
// `130.23` is stored as 13023 x 10^-2 and printed back as `130.23`.
#include "barstore/decimal.hpp"

#include <limits>

namespace barstore {

namespace {
constexpr std::int64_t kPow10[19] = {1,
                                     10,
                                     100,
                                     1000,
                                     10000,
                                     100000,
                                     1000000,
                                     10000000,
                                     100000000,
                                     1000000000,
                                     10000000000,
                                     100000000000,
                                     1000000000000,
                                     10000000000000,
                                     100000000000000,
                                     1000000000000000,
                                     10000000000000000,
                                     100000000000000000,
                                     1000000000000000000};
}  // namespace

std::optional<Decimal> parse_decimal(std::string_view s) {
    std::size_t i = 0;
    bool negative = false;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) negative = s[i++] == '-';
    // Accumulate as unsigned magnitude so INT64_MIN parses too.
    std::uint64_t mag = 0;
    int digits = 0, decimals = 0;
    bool dot = false;
    for (; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '.' && !dot) {
            dot = true;
            continue;
        }
        if (c < '0' || c > '9') return std::nullopt;
        const auto d = static_cast<std::uint64_t>(c - '0');
        if (mag > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return std::nullopt;
        mag = mag * 10 + d;
        ++digits;
        if (dot) ++decimals;
    }
    if (digits == 0 || decimals > 18) return std::nullopt;
    const std::uint64_t limit = negative ? std::uint64_t{1} << 63 : (std::uint64_t{1} << 63) - 1;
    if (mag > limit) return std::nullopt;
    const auto m = negative ? static_cast<std::int64_t>(0 - mag) : static_cast<std::int64_t>(mag);
    return Decimal{m, decimals};
}

std::optional<std::int64_t> rescale(std::int64_t mantissa, int from_decimals, int to_decimals) {
    const int k = to_decimals - from_decimals;
    if (k < 0 || k > 18) return std::nullopt;
    std::int64_t out = 0;
    if (__builtin_mul_overflow(mantissa, kPow10[k], &out)) return std::nullopt;
    return out;
}

std::string format_decimal(std::int64_t mantissa, int decimals) {
    const bool negative = mantissa < 0;
    auto mag = negative ? 0 - static_cast<std::uint64_t>(mantissa) : static_cast<std::uint64_t>(mantissa);
    std::string digits = std::to_string(mag);
    if (decimals > 0) {
        if (digits.size() <= static_cast<std::size_t>(decimals))
            digits.insert(0, static_cast<std::size_t>(decimals) + 1 - digits.size(), '0');
        digits.insert(digits.size() - static_cast<std::size_t>(decimals), 1, '.');
        while (digits.back() == '0') digits.pop_back();
        if (digits.back() == '.') digits.pop_back();
    }
    return negative && digits != "0" ? "-" + digits : digits;
}

}  // namespace barstore
