// tests/reference/naive_time.hpp: civil dates <-> days since 1970 by counting years and months
// one at a time. Slow and obviously right; shares no code with date::.
#pragma once
#include <cstdint>
#include <string>

namespace reference {

inline bool is_leap(long y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
inline int days_in_month(long y, int m) {
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : d[m - 1];
}
inline bool valid_date(long y, int m, int d) { return m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m); }

/// Days from 1970-01-01 to y-m-d (negative before 1970).
inline std::int64_t days_from_civil(long y, int m, int d) {
    std::int64_t days = 0;
    if (y >= 1970)
        for (long k = 1970; k < y; ++k) days += is_leap(k) ? 366 : 365;
    else
        for (long k = y; k < 1970; ++k) days -= is_leap(k) ? 366 : 365;
    for (int k = 1; k < m; ++k) days += days_in_month(y, k);
    return days + d - 1;
}

struct Civil {
    long y;
    int m, d;
};
inline Civil civil_from_days(std::int64_t days) {
    long y = 1970;
    while (days < 0) days += is_leap(--y) ? 366 : 365;
    while (days >= (is_leap(y) ? 366 : 365)) days -= is_leap(y++) ? 366 : 365;
    int m = 1;
    while (days >= days_in_month(y, m)) days -= days_in_month(y, m++);
    return {y, m, static_cast<int>(days) + 1};
}

constexpr std::int64_t kNsPerSec = 1'000'000'000;

/// ns since the epoch of a UTC civil time.
inline std::int64_t epoch_ns(long y, int mo, int d, int h = 0, int mi = 0, int s = 0, std::int64_t frac_ns = 0) {
    return (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * kNsPerSec + frac_ns;
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, fraction without trailing zeros, built from the pieces.
inline std::string iso(std::int64_t ns) {
    std::int64_t secs = ns / kNsPerSec, frac = ns % kNsPerSec;
    if (frac < 0) frac += kNsPerSec, --secs;
    std::int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) sod += 86400, --days;
    const auto c = civil_from_days(days);
    auto two = [](std::int64_t v) { return std::string(v < 10 ? "0" : "") + std::to_string(v); };
    std::string y = std::to_string(c.y);
    while (y.size() < 4) y.insert(y.begin(), '0');
    std::string out = y + "-" + two(c.m) + "-" + two(c.d) + "T" + two(sod / 3600) + ":" + two(sod / 60 % 60) + ":" +
                      two(sod % 60);
    if (frac != 0) {
        std::string f = std::to_string(frac);
        f.insert(0, 9 - f.size(), '0');
        while (f.back() == '0') f.pop_back();
        out += "." + f;
    }
    return out + "Z";
}

}  // namespace reference
