// barstore/time.hpp: timeframe strings and ISO 8601 timestamps.
#pragma once
#include <string>
#include <string_view>

#include "barstore/types.hpp"

namespace barstore {

/// Parses `30s`, `1m`, `5min`, `5 minutes`, `minute`, `1h`, `2 hours`, `1d`, `day`,
/// `1w`, `week` (case-insensitive except `M`, which is not accepted, to avoid
/// month/minute confusion). Throws InvalidInput listing the accepted forms.
Duration parse_timeframe(std::string_view text);
/// Canonical spelling: the largest unit that divides evenly (`5m`, `1h`, `90m`, `1d`, `1w`).
std::string format_timeframe(Duration tf);

/// Parses ISO 8601 `2022-01-15T10:00:00Z`, `2022-01-15 10:00`, `2022-01-15`, with optional
/// fraction and `Z`/`+HH:MM` offset; no zone means UTC. Throws InvalidInput.
Timestamp parse_time(std::string_view text);
/// `2022-01-15T10:00:00Z`, with a fraction only when it is non-zero.
std::string format_time(Timestamp t);

}  // namespace barstore
