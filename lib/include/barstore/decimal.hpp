// barstore/decimal.hpp: exact decimal text <-> fixed-point integers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace barstore {

/// A decimal parsed without rounding: value = mantissa / 10^decimals.
struct Decimal {
    std::int64_t mantissa = 0;
    int decimals = 0;
};

/// Parses `-12`, `130.23`, `46319.0`, `1e-3`-free plain decimals exactly. nullopt for anything
/// else (empty, NaN, inf, exponent, overflow past int64).
std::optional<Decimal> parse_decimal(std::string_view text);
/// mantissa * 10^(to - from) when it fits; nullopt on overflow. Requires to >= from.
std::optional<std::int64_t> rescale(std::int64_t mantissa, int from_decimals, int to_decimals);
/// `130.23`, `-0.5`, `46319`: trailing zeros dropped, no exponent, exact; never `-0`. A
/// negative `decimals` prints the mantissa as it is. The text of write_decimal().
std::string format_decimal(std::int64_t mantissa, int decimals);

/// Longest write_decimal() text for decimals up to 18 (every Scale's): '-', the 19 digits of
/// |INT64_MIN| and '.'; or "-0." and 18 digits.
inline constexpr std::size_t kMaxDecimalChars = 21;
/// format_decimal()'s text written at `out`, without a string: for loops that print many values
/// (barstore query's CSV). Writes at most kMaxDecimalChars when decimals <= 18, decimals + 3
/// beyond; returns the end of what it wrote.
char* write_decimal(char* out, std::int64_t mantissa, int decimals) noexcept;

}  // namespace barstore
