// core/decimal_parse.hpp: the one exact-decimal core behind parse_decimal and the CSV number
// fields: the only table of powers of ten, and the only checked parser of [sign]digits[.digits].
// Not public API; callers pick the rules (scale, noise rounding, sign range) they need.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace barstore::decimal_core {

/// A scale finer than 10^-18 leaves no room in an int64 for anything but a fraction.
inline constexpr int kMaxDecimals = 18;

/// 10^k for k < 20 (10^19 still fits a uint64). Larger k hold 0: the table has 64 entries so a
/// hot loop may index it with `k & 63` unchecked; only a number with more than 19 digits can
/// reach those entries, and such a number must go through parse_exact anyway.
inline constexpr auto kPow10 = [] {
    std::array<std::uint64_t, 64> t{};
    std::uint64_t v = 1;
    for (std::size_t k = 0; k < 20; ++k, v *= 10) t[k] = v;
    return t;
}();
/// 10^k as int64 for 0 <= k <= 18, the exponents a scale difference can have.
inline std::int64_t pow10(int k) { return static_cast<std::int64_t>(kPow10[static_cast<std::size_t>(k)]); }

inline bool is_digit(char c) { return static_cast<unsigned char>(c) - 48u < 10u; }

/// value = (negative ? -mag : mag) / 10^decimals.
struct Parts {
    std::uint64_t mag = 0;
    int decimals = 0;
    bool negative = false;
    bool rounded = false;  ///< digits past max_significant_digits were rounded away
};

enum class Status : std::uint8_t { ok, syntax, decimals, range };

struct Rules {
    /// `46319.0` is 46319 at 0 decimals, so a written zero never forces a finer scale.
    bool drop_trailing_zeros = false;
    /// A fraction with more significant digits than this is rounded, half-even and in decimal,
    /// to this many (or to a whole number where the integer part is longer); then trailing zeros
    /// are dropped too. Integer digits are never rounded. 0: never round.
    std::size_t max_significant_digits = 0;
    /// A negative magnitude may be 2^63 (INT64_MIN); else both signs stop at INT64_MAX.
    bool allow_int64_min = false;
};

/// Parses all of `text`: an optional sign, then digits with at most one '.', at least one digit.
/// No blanks, exponents, NaN or inf. `syntax` for anything else, `decimals` for more than
/// kMaxDecimals after the rules applied, `range` if the magnitude passes the rules' limit.
/// Exact: no floating point, no digit lost except by max_significant_digits.
Status parse_exact(std::string_view text, const Rules& rules, Parts& out);

}  // namespace barstore::decimal_core
