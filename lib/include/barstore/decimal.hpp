// barstore/decimal.hpp: exact decimal text <-> fixed-point integers.
#pragma once
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
/// `130.23`, `-0.5`, `46319`: trailing zeros dropped, no exponent, exact.
std::string format_decimal(std::int64_t mantissa, int decimals);

}  // namespace barstore
