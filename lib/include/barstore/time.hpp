// barstore/time.hpp: timeframe strings and ISO 8601 timestamps.
#pragma once
#include <string>
#include <string_view>

#include "barstore/types.hpp"

namespace barstore {

/// The supported range (docs/time.md, "Supported range"): times in [kMinTime, kEndTime), the
/// years 1679 through 2260, and timeframes up to kMaxTimeframe (366 days). int64 nanoseconds
/// reach 1677-09-21 .. 2262-04-11; more than kMaxTimeframe is left on either side, so no bin of
/// a supported timeframe holding a supported time starts or ends outside int64. Every parser
/// refuses what is outside, and query() / Reader refuse times outside.
inline constexpr Timestamp kMinTime{std::chrono::sys_days{std::chrono::year{1679} / 1 / 1}};
inline constexpr Timestamp kEndTime{std::chrono::sys_days{std::chrono::year{2261} / 1 / 1}};
inline constexpr Duration kMaxTimeframe{std::chrono::days{366}};

inline constexpr bool in_supported_range(Timestamp t) noexcept { return t >= kMinTime && t < kEndTime; }
/// Throws InvalidInput naming `what` (e.g. "as_of") and the range unless t is in it.
void check_supported_time(Timestamp t, std::string_view what);

/// Parses `30s`, `1m`, `5min`, `5 minutes`, `minute`, `1h`, `2 hours`, `1d`, `day`,
/// `1w`, `week` (case-insensitive except `M`, which is not accepted, to avoid
/// month/minute confusion). Throws InvalidInput listing the accepted forms, or naming the
/// limit for a timeframe longer than kMaxTimeframe.
Duration parse_timeframe(std::string_view text);
/// Canonical spelling: the largest unit that divides evenly (`5m`, `1h`, `90m`, `1d`, `1w`).
std::string format_timeframe(Duration tf);

/// Parses ISO 8601 `2022-01-15T10:00:00Z`, `2022-01-15 10:00`, `2022-01-15`, with optional
/// fraction and `Z`/`+HH:MM` offset; no zone means UTC. Throws InvalidInput, also for a time
/// outside [kMinTime, kEndTime).
Timestamp parse_time(std::string_view text);
/// `2022-01-15T10:00:00Z`, with a fraction only when it is non-zero.
std::string format_time(Timestamp t);

}  // namespace barstore
