// ingest/csv_number.hpp: the price and volume fields of a CSV row, as exact decimals. The hot
// fast path lives here, inline; anything long or odd goes to the exact-decimal core in core/.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "core/decimal_parse.hpp"

namespace barstore::csv_detail {

using decimal_core::is_digit;
using decimal_core::kMaxDecimals;
using decimal_core::kPow10;
using decimal_core::pow10;
using Num = decimal_core::Parts;

// Text with more than 15 significant digits can only come from a binary double printed in full
// (Python's repr gives `218102.59507500002` for an interpolated 218102.595075); 15 digits is what
// any double guarantees (DBL_DIG), the rest is noise of the binary-to-decimal conversion. Such a
// fraction is rounded, half-even and in decimal, to 15 significant digits. Without this one noisy
// value forces 11 volume decimals on a whole file and larger volumes overflow int64. Integer
// digits are never rounded, and text of up to 15 significant digits is always kept exactly.
inline constexpr std::size_t kSignificantDigits = 15;

/// A CSV number: trailing zeros never force a finer scale (`46319.0` is 46319 at 0 decimals),
/// float noise is rounded away, and both signs stop at INT64_MAX.
inline constexpr decimal_core::Rules kNumberRules{
    .drop_trailing_zeros = true, .max_significant_digits = kSignificantDigits, .allow_int64_min = false};

/// [sign] digits [. digits], at least one digit, under kNumberRules. Trailing zeros of the
/// fraction are dropped on the fly. Stops at the first other byte, which must exist (the row
/// parser's ranges end in '\n'); false for anything that is not such a number (NaN, inf, 1e5,
/// empty) or does not fit.
[[gnu::always_inline]] inline bool parse_number(const char*& p, Num& n) {
    const char* start = p;
    n.negative = *p == '-';
    if (*p == '-' || *p == '+') ++p;
    const char* digits = p;
    std::uint64_t m = 0;
    while (is_digit(*p)) m = m * 10 + static_cast<unsigned>(*p++ - '0');
    auto count = static_cast<std::size_t>(p - digits);
    int decimals = 0;
    if (*p == '.') {
        const char* frac = ++p;
        int zeros = 0;
        while (is_digit(*p)) {
            const auto d = static_cast<unsigned>(*p++ - '0');
            if (d == 0) {
                ++zeros;
                continue;
            }
            m = m * kPow10[static_cast<std::size_t>(zeros + 1) & 63] + d;
            decimals += zeros + 1;
            zeros = 0;
        }
        count += static_cast<std::size_t>(p - frac);
    }
    if (count == 0) return false;
    // Up to 19 digits cannot overflow uint64; longer fields, and fractions with more than 15
    // significant digits (m >= 10^15), take the exact core's general path.
    if (count > 19 || (m >= kPow10[kSignificantDigits] && decimals > 0)) [[unlikely]]
        return decimal_core::parse_exact({start, static_cast<std::size_t>(p - start)}, kNumberRules, n) ==
               decimal_core::Status::ok;
    if (decimals > kMaxDecimals || m > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return false;
    n.mag = m;
    n.decimals = decimals;
    n.rounded = false;
    return true;
}

/// Why a number field failed, for the message: `WHAT is empty`, `... is not a decimal number`,
/// `... has more than 18 decimals`, `... does not fit in a 64-bit integer` (cold).
std::string diagnose_number(std::string_view field, const char* what);

}  // namespace barstore::csv_detail
