// time/timeframe.cpp: timeframe strings users write <-> Duration, one canonical spelling out.
// Parsed timeframes are positive and at most kMaxTimeframe (time.hpp).
#include <cctype>
#include <string>

#include "barstore/error.hpp"
#include "barstore/time.hpp"

namespace barstore {

namespace {

constexpr std::int64_t kSecond = 1'000'000'000;

const char* const kAccepted =
    "accepted: N followed by s/sec/second(s), m/min/minute(s), h/hr/hour(s), d/day(s), "
    "w/week(s), e.g. 30s, 1m, 5min, 5 minutes, 1h, 2 hours, 1d, 1w; or minute/hour/day/week";

std::int64_t unit_ns(std::string unit) {
    for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (unit == "s" || unit == "sec" || unit == "secs" || unit == "second" || unit == "seconds")
        return kSecond;
    if (unit == "m" || unit == "min" || unit == "mins" || unit == "minute" || unit == "minutes")
        return 60 * kSecond;
    if (unit == "h" || unit == "hr" || unit == "hrs" || unit == "hour" || unit == "hours")
        return 3600 * kSecond;
    if (unit == "d" || unit == "day" || unit == "days") return 86400 * kSecond;
    if (unit == "w" || unit == "wk" || unit == "week" || unit == "weeks") return 7 * 86400 * kSecond;
    return 0;
}

}  // namespace

Duration parse_timeframe(std::string_view text) {
    const auto bad = [&]() -> Duration {
        throw InvalidInput("bad timeframe '" + std::string(text) + "': " + kAccepted);
    };
    std::size_t i = 0;
    while (i < text.size() && text[i] == ' ') ++i;
    std::int64_t n = 0;
    bool have_n = false;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
        n = n * 10 + (text[i] - '0');
        // Far past 366 days in any unit (31,622,400 s), and n * 10 never overflows below it.
        if (n > 1'000'000'000'000) return bad();
        have_n = true;
    }
    while (i < text.size() && text[i] == ' ') ++i;
    std::string unit(text.substr(i));
    while (!unit.empty() && unit.back() == ' ') unit.pop_back();
    // `M` alone is month in pandas and minute elsewhere: refuse the ambiguity.
    if (unit == "M") return bad();
    const auto u = unit_ns(unit);
    if (u == 0) return bad();
    if (!have_n) {
        // Bare unit names only in their long form: `minute`, `hour`, not `m`.
        if (unit.size() < 3) return bad();
        n = 1;
    }
    if (n <= 0) return bad();
    // A count past int64 nanoseconds (~292 years) must be refused, never wrapped; and past
    // kMaxTimeframe a bin could reach beyond the ends of int64 (docs/time.md).
    std::int64_t total = 0;
    if (__builtin_mul_overflow(n, u, &total) || Duration{total} > kMaxTimeframe)
        throw InvalidInput("timeframe '" + std::string(text) + "' is longer than " + format_timeframe(kMaxTimeframe) +
                           ", the longest supported (docs/time.md)");
    return Duration{total};
}

}  // namespace barstore
