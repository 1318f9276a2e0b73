// barstore/time.hpp: timeframe strings and ISO 8601 timestamps.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

#include "barstore/types.hpp"

namespace barstore {

// kMinTime, kEndTime, kMaxTimeframe, in_supported_range and format_timeframe are declared in
// types.hpp (core: the bar invariants check the range and name the base) and reach every user
// through this header too.

/// Throws InvalidInput naming `what` (e.g. "as_of") and the range unless t is in it.
void check_supported_time(Timestamp t, std::string_view what);

/// Parses `30s`, `1m`, `5min`, `5 minutes`, `minute`, `1h`, `2 hours`, `1d`, `day`,
/// `1w`, `week` (case-insensitive except `M`, which is not accepted, to avoid
/// month/minute confusion). Throws InvalidInput listing the accepted forms, or naming the
/// limit for a timeframe longer than kMaxTimeframe.
Duration parse_timeframe(std::string_view text);

/// Parses ISO 8601 `2022-01-15T10:00:00Z`, `2022-01-15 10:00`, `2022-01-15`, with optional
/// fraction and `Z`/`+HH:MM` offset; no zone means UTC. Throws InvalidInput, also for a time
/// outside [kMinTime, kEndTime).
Timestamp parse_time(std::string_view text);
/// `2022-01-15T10:00:00Z`, with a fraction only when it is non-zero (trailing zeros dropped:
/// `.5`, `.000001`); UTC, floor-divided, so any int64 instant, also before 1970, prints. The
/// text of write_time().
std::string format_time(Timestamp t);
/// Longest write_time() text: "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ".
inline constexpr std::size_t kMaxTimeChars = 30;
/// format_time()'s text written at `out` (at most kMaxTimeChars), without a string: for loops
/// that print many times (barstore query's CSV). Returns the end of what it wrote.
char* write_time(char* out, Timestamp t) noexcept;

}  // namespace barstore
