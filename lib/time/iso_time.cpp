// time/iso_time.cpp: ISO 8601 text <-> Timestamp. Naive text means UTC; a `Z` or `+HH:MM`
// suffix is honoured. Fractions keep full nanosecond precision. Parsed times are inside the
// supported range (time.hpp); write_time (and format_time, its text as a string) prints any
// int64 instant.
#include <cctype>
#include <chrono>
#include <cstring>
#include <string>

#include <date/date.h>

#include "barstore/error.hpp"
#include "barstore/time.hpp"
#include "core/digits.hpp"

namespace barstore {

namespace {

struct Cursor {
    std::string_view s;
    std::size_t i = 0;
    bool eof() const { return i >= s.size(); }
    bool take(char c) {
        if (!eof() && s[i] == c) { ++i; return true; }
        return false;
    }
    bool digits(int n, int& out) {
        out = 0;
        for (int k = 0; k < n; ++k, ++i) {
            if (eof() || !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
            out = out * 10 + (s[i] - '0');
        }
        return true;
    }
};

/// How errors state the range; docs/time.md gives the reason for it.
std::string supported_range() {
    return format_time(kMinTime) + " up to (not including) " + format_time(kEndTime) + " (docs/time.md)";
}

}  // namespace

Timestamp parse_time(std::string_view text) {
    const auto bad = [&]() -> Timestamp {
        throw InvalidInput("bad time '" + std::string(text) +
                           "': expected ISO 8601 like 2022-01-15T10:00:00Z or 2022-01-15 10:00");
    };
    Cursor c{text};
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
    if (!c.digits(4, y) || !c.take('-') || !c.digits(2, mo) || !c.take('-') || !c.digits(2, d)) return bad();
    const date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(mo)},
                                   date::day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) return bad();
    std::int64_t frac_ns = 0;
    if (c.take('T') || c.take(' ')) {
        if (!c.digits(2, h) || !c.take(':') || !c.digits(2, mi)) return bad();
        if (c.take(':')) {
            if (!c.digits(2, se)) return bad();
            if (c.take('.') || c.take(',')) {
                int n = 0;
                std::int64_t scale = 100'000'000;
                while (!c.eof() && std::isdigit(static_cast<unsigned char>(c.s[c.i]))) {
                    if (++n > 9) return bad();
                    frac_ns += (c.s[c.i++] - '0') * scale;
                    scale /= 10;
                }
                if (n == 0) return bad();
            }
        }
        if (h > 23 || mi > 59 || se > 59) return bad();
    }
    std::int64_t offset_s = 0;
    if (c.take('Z') || c.take('z')) {
    } else if (!c.eof() && (c.s[c.i] == '+' || c.s[c.i] == '-')) {
        const int sign = c.s[c.i++] == '-' ? -1 : 1;
        int oh = 0, om = 0;
        if (!c.digits(2, oh)) return bad();
        c.take(':');
        if (!c.digits(2, om) || oh > 23 || om > 59) return bad();
        offset_s = sign * (oh * 3600 + om * 60);
    }
    if (!c.eof()) return bad();
    const auto days = date::sys_days{ymd}.time_since_epoch().count();
    const std::int64_t secs = days * 86400LL + h * 3600LL + mi * 60LL + se - offset_s;
    // A Timestamp spans 1677-09-21 .. 2262-04-11; years outside must fail, not wrap.
    // Before 1970 the fraction is added to a negative second; borrow one second first so that
    // INT64_MIN itself (1677-09-21T00:12:43.145224192Z) does not overflow on the way.
    const bool borrow = secs < 0 && frac_ns > 0;
    std::int64_t ns = 0;
    if (__builtin_mul_overflow(secs + (borrow ? 1 : 0), std::int64_t{1'000'000'000}, &ns) ||
        __builtin_add_overflow(ns, frac_ns - (borrow ? 1'000'000'000 : 0), &ns))
        return bad();
    const Timestamp t{Duration{ns}};
    if (!in_supported_range(t))
        throw InvalidInput("time '" + std::string(text) + "' is outside the supported range: " + supported_range());
    return t;
}

void check_supported_time(Timestamp t, std::string_view what) {
    if (!in_supported_range(t))
        throw InvalidInput(std::string(what) + " " + format_time(t) + " is outside the supported range: " +
                           supported_range());
}

char* write_time(char* out, Timestamp t) noexcept {
    const auto ns = t.time_since_epoch().count();
    // Floor division so times before 1970 print correctly.
    std::int64_t secs = ns / 1'000'000'000;
    std::int64_t frac = ns % 1'000'000'000;
    if (frac < 0) frac += 1'000'000'000, --secs;
    std::int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) sod += 86400, --days;
    // std::chrono's calendar, as the CLI's writer had it: libstdc++ 12's from-days takes ~9 ns to
    // date::'s ~13 (same dates).
    const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
    // int64 nanoseconds span the years 1677..2262: always four digits.
    const auto year = static_cast<unsigned>(static_cast<int>(ymd.year()));
    out = digits::two(out, year / 100);
    out = digits::two(out, year % 100);
    *out++ = '-';
    out = digits::two(out, static_cast<unsigned>(ymd.month()));
    *out++ = '-';
    out = digits::two(out, static_cast<unsigned>(ymd.day()));
    *out++ = 'T';
    const auto s = static_cast<unsigned>(sod);
    out = digits::two(out, s / 3600);
    *out++ = ':';
    out = digits::two(out, s / 60 % 60);
    *out++ = ':';
    out = digits::two(out, s % 60);
    if (frac != 0) {
        // Nine digits, then the trailing zeros dropped: .5, .000001, .999999999.
        char tmp[9];
        auto f = static_cast<std::uint64_t>(frac);
        for (int k = 8; k >= 0; --k) tmp[k] = static_cast<char>('0' + f % 10), f /= 10;
        int n = 9;
        while (tmp[n - 1] == '0') --n;
        *out++ = '.';
        std::memcpy(out, tmp, static_cast<std::size_t>(n));
        out += n;
    }
    *out++ = 'Z';
    return out;
}

std::string format_time(Timestamp t) {
    char buf[kMaxTimeChars];
    return std::string(buf, write_time(buf, t));
}

}  // namespace barstore
