// tests/test_time.cpp: timeframe strings and ISO 8601 times against hand-computed epoch values
// and a civil-date reference that counts days year by year (tests/reference/naive_time.hpp).
#include <doctest/doctest.h>

#include <chrono>
#include <algorithm>
#include <climits>
#include <random>
#include <string>
#include <vector>

#include <date/tz.h>

#include "barstore/error.hpp"
#include "barstore/time.hpp"
#include "reference/naive_time.hpp"
#include "support/time.hpp"
#include "support/util.hpp"
#include "time/local_to_utc.hpp"

using barstore::Duration;
using barstore::format_time;
using barstore::format_timeframe;
using barstore::InvalidInput;
using barstore::parse_time;
using barstore::parse_timeframe;
using barstore::Timestamp;
using test::kSec, test::kMin, test::kHour, test::kDay, test::kWeek;

namespace {

template <class T>
concept Addable = requires(T a, T b) { a + b; };

/// parse_time's result in ns, or a marker string if it threw InvalidInput.
std::string parsed(const std::string& text) {
    try {
        return std::to_string(test::ns(parse_time(text)));
    } catch (const InvalidInput&) {
        return "InvalidInput";
    }
}
std::string timeframe(const std::string& text) {
    try {
        return std::to_string(parse_timeframe(text).count());
    } catch (const InvalidInput&) {
        return "InvalidInput";
    }
}

}  // namespace

// ---- timeframes ----------------------------------------------------------------------------------

TEST_CASE("parse_timeframe accepts the documented spellings") {
    struct Case {
        const char* text;
        std::int64_t ns;
    };
    for (const Case c : {Case{"1m", kMin},          Case{"5min", 5 * kMin},      Case{"5 minutes", 5 * kMin},
                         Case{"minute", kMin},      Case{"15m", 15 * kMin},      Case{"15 mins", 15 * kMin},
                         Case{"hour", kHour},       Case{"1h", kHour},           Case{"2 hours", 2 * kHour},
                         Case{"4h", 4 * kHour},     Case{"day", kDay},           Case{"1d", kDay},
                         Case{"1D", kDay},          Case{"week", kWeek},         Case{"1w", kWeek},
                         Case{"30s", 30 * kSec},    Case{"1 second", kSec},      Case{"1H", kHour},
                         Case{"90m", 90 * kMin},    Case{"2 days", 2 * kDay},    Case{"2 weeks", 2 * kWeek},
                         Case{"10 sec", 10 * kSec}, Case{"1 MINUTE", kMin},      Case{"Hour", kHour},
                         Case{"1min", kMin},        Case{"1000000s", 1000000 * kSec}}) {
        const std::string text_s = c.text;
        CAPTURE(text_s);
        CHECK(timeframe(c.text) == std::to_string(c.ns));
    }
}

TEST_CASE("parse_timeframe rejects unknown units, zero, bare short units and the ambiguous M") {
    for (const char* t : {"15x", "M", "1M", "", " ", "0m", "0", "00h", "m", "h", "d", "s", "w", "5", "-5m", "+5m",
                          "1.5h", "5 m m", "mm", "1 month", "1y", "1ms", "m5", "5m5", "99999999999999999999999s", "1e3s"}) {
        const std::string text_s = t;
        CAPTURE(text_s);
        CHECK(timeframe(t) == "InvalidInput");
    }
    // The message lists what is accepted.
    try {
        parse_timeframe("15x");
        FAIL("no throw");
    } catch (const InvalidInput& e) {
        CHECK(std::string(e.what()).find("15x") != std::string::npos);
        CHECK(std::string(e.what()).find("accepted") != std::string::npos);
    }
}

TEST_CASE("parse_timeframe never wraps: a count too large for int64 nanoseconds is rejected") {
    // 15250 weeks is the last whole number of weeks below 2^63 ns (about 292 years): once the
    // product wrapped, now it is refused like every timeframe past 366 days.
    CHECK(timeframe("15250w") == "InvalidInput");
    CHECK(timeframe("15251w") == "InvalidInput");
    CHECK(timeframe("100000w") == "InvalidInput");
    CHECK(timeframe("1000000w") == "InvalidInput");
    CHECK(timeframe("106751d") == "InvalidInput");
    CHECK(timeframe("106752d") == "InvalidInput");
    CHECK(timeframe("1000000 days") == "InvalidInput");
    CHECK(timeframe("1000000h") == "InvalidInput");
    CHECK(timeframe("9223372036854775807s") == "InvalidInput");
    CHECK(timeframe("9223372036854775808s") == "InvalidInput");
    CHECK(timeframe("8784h") == std::to_string(8784 * kHour));
}

TEST_CASE("parse_timeframe matches count x unit for random counts and spellings") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    struct Unit {
        const char* name;
        std::int64_t ns;
    };
    const Unit units[] = {{"s", kSec},      {"sec", kSec},      {"seconds", kSec}, {"m", kMin},
                          {"min", kMin},    {"minutes", kMin},  {"h", kHour},      {"hr", kHour},
                          {"hours", kHour}, {"d", kDay},        {"days", kDay},    {"w", kWeek},
                          {"weeks", kWeek}, {"MINUTES", kMin},  {"Hours", kHour},  {"mins", kMin}};
    for (int iter = 0; iter < 5000; ++iter) {
        const auto& u = units[rng() % std::size(units)];
        const std::int64_t n = rng() % 3 == 0 ? static_cast<std::int64_t>(1 + rng() % 1'000'000)
                                              : static_cast<std::int64_t>(1 + rng() % 100);
        const std::string text = std::to_string(n) + (rng() % 2 ? " " : "") + u.name;
        CAPTURE(text);
        std::int64_t want = 0;
        const bool refused = __builtin_mul_overflow(n, u.ns, &want) || want > 366 * kDay;
        CHECK(timeframe(text) == (refused ? "InvalidInput" : std::to_string(want)));
    }
}

TEST_CASE("format_timeframe uses the largest unit that divides evenly, and parses back") {
    CHECK(format_timeframe(Duration{kMin}) == "1m");
    CHECK(format_timeframe(Duration{5 * kMin}) == "5m");
    CHECK(format_timeframe(Duration{15 * kMin}) == "15m");
    CHECK(format_timeframe(Duration{90 * kMin}) == "90m");
    CHECK(format_timeframe(Duration{kHour}) == "1h");
    CHECK(format_timeframe(Duration{4 * kHour}) == "4h");
    CHECK(format_timeframe(Duration{36 * kHour}) == "36h");
    CHECK(format_timeframe(Duration{kDay}) == "1d");
    CHECK(format_timeframe(Duration{7 * kDay}) == "1w");
    CHECK(format_timeframe(Duration{14 * kDay}) == "2w");
    CHECK(format_timeframe(Duration{10 * kDay}) == "10d");
    CHECK(format_timeframe(Duration{30 * kSec}) == "30s");
    CHECK(format_timeframe(Duration{61 * kSec}) == "61s");
    CHECK(format_timeframe(Duration{1'500'000}) == "1500us");
    CHECK(format_timeframe(Duration{2'000'000}) == "2ms");
    CHECK(format_timeframe(Duration{7}) == "7ns");

    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const std::int64_t steps[] = {kWeek, kDay, kHour, kMin, kSec};
    const char* names[] = {"w", "d", "h", "m", "s"};
    for (int iter = 0; iter < 5000; ++iter) {
        const std::int64_t ns = steps[rng() % 5] * static_cast<std::int64_t>(1 + rng() % 10000);
        CAPTURE(ns);
        // Reference: the first of w, d, h, m, s that divides.
        std::string want;
        for (int k = 0; k < 5 && want.empty(); ++k)
            if (ns % steps[k] == 0) want = std::to_string(ns / steps[k]) + names[k];
        const auto text = format_timeframe(Duration{ns});
        CHECK(text == want);
        // Every timeframe prints; those up to 366 days parse back.
        CHECK(timeframe(text) == (ns <= 366 * kDay ? std::to_string(ns) : "InvalidInput"));
    }
}

// ---- ISO 8601 times --------------------------------------------------------------------------------

TEST_CASE("parse_time reads the documented forms to hand-computed epoch values") {
    struct Case {
        const char* text;
        std::int64_t ns;
    };
    for (const Case c : {
             Case{"2022-01-15T10:00:00Z", 1642240800 * kSec},  // 1640995200 (2022-01-01) + 14 d + 10 h
             Case{"2022-01-15 10:00", 1642240800 * kSec},
             Case{"2022-01-15T10:00", 1642240800 * kSec},
             Case{"2022-01-15T10:00:00", 1642240800 * kSec},
             Case{"2022-01-15", 1642204800 * kSec},
             Case{"2022-01-15Z", 1642204800 * kSec},
             Case{"2022-01-15T10:00:00z", 1642240800 * kSec},
             Case{"2022-01-15T10:00:00+01:00", 1642237200 * kSec},
             Case{"2022-01-15T10:00:00+0100", 1642237200 * kSec},
             Case{"2022-01-15T10:00:00-05:30", (1642240800 + 19800) * kSec},
             Case{"2022-01-15T10:00+00:00", 1642240800 * kSec},
             Case{"2022-01-15T10:00:00.5Z", 1642240800 * kSec + 500'000'000},
             Case{"2022-01-15T10:00:00,25Z", 1642240800 * kSec + 250'000'000},
             Case{"2022-01-15T10:00:00.123456789Z", 1642240800 * kSec + 123'456'789},
             Case{"2022-01-15T10:00:00.000001+01:00", 1642237200 * kSec + 1'000},
             Case{"1970-01-01T00:00:00Z", 0},
             Case{"1970-01-01T00:00:00.000000001Z", 1},
             Case{"1969-12-31T23:59:59Z", -kSec},
             Case{"1969-12-31T23:59:59.999999999Z", -1},
             Case{"1969-12-31T23:59:59.5Z", -500'000'000},
             Case{"1970-01-01T00:30:00+01:00", -1800 * kSec},
             Case{"1900-01-01", -2208988800 * kSec},
             Case{"1960-02-29T12:00:00Z", (-310521600 + 43200) * kSec},  // leap day before 1970
             Case{"2000-02-29T00:00:00Z", 951782400 * kSec},
             Case{"2021-12-31T23:01:00Z", 1640991660 * kSec},
             Case{"2011-01-03 14:31:00", 1294065060 * kSec},
             Case{"2260-12-31T23:59:59.999999999Z", 9183110399999999999},  // the supported range's last instant
             Case{"1679-01-01T00:00:00Z", -9183024000000000000},            // and its first
         }) {
        const std::string text_s = c.text;
        CAPTURE(text_s);
        CHECK(parsed(c.text) == std::to_string(c.ns));
    }
}

TEST_CASE("parse_time rejects invalid dates, times and trailing text") {
    for (const char* t : {"2021-02-30", "2021-02-29", "2100-02-29", "2021-04-31", "2021-13-01", "2021-00-10",
                          "2021-01-00", "2021-01-32", "2022-01-15T24:00", "2022-01-15T10:60", "2022-01-15T10:00:60",
                          "2022-01-15T10", "2022-01-15T", "2022-1-15", "22-01-15", "20220115", "", "2022",
                          "2022-01-15T10:00:00.", "2022-01-15T10:00:00.Z", "2022-01-15T10:00:00.1234567890Z",
                          "2022-01-15T10:00:00+1", "2022-01-15T10:00:00+01:", "2022-01-15T10:00:00+24:00",
                          "2022-01-15T10:00:00+01:60", "2022-01-15T10:00:00Zx", "2022-01-15T10:00:00 ",
                          " 2022-01-15", "2022-01-15T10:00:00 UTC", "2022/01/15", "2022-01-15x10:00",
                          "2022-01-15T1:00", "2022-01-15T10:0", "-022-01-15", "2022-01-15T10:00:00ZZ"}) {
        const std::string text_s = t;
        CAPTURE(text_s);
        CHECK(parsed(t) == "InvalidInput");
    }
}

TEST_CASE("parse_time never wraps: dates outside the int64-ns range are rejected") {
    // A Timestamp holds 1677-09-21T00:12:43.145224192Z .. 2262-04-11T23:47:16.854775807Z.
    for (const char* t : {"0001-01-01", "1600-01-01T00:00:00Z", "1677-09-21T00:12:43.145224191Z", "1677-09-20",
                          "2262-04-11T23:47:16.854775808Z", "2262-04-12", "2300-01-01", "9999-12-31T23:59:59Z",
                          "2262-04-11T23:47:16.854775807-00:01"}) {
        const std::string text_s = t;
        CAPTURE(text_s);
        CHECK(parsed(t) == "InvalidInput");
    }
}

TEST_CASE("parse_time agrees with the day-counting reference on random valid and invalid dates") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int iter = 0; iter < 20000; ++iter) {
        const long y = 1678 + static_cast<long>(rng() % (2261 - 1678 + 1));
        const int mo = static_cast<int>(rng() % 14), d = static_cast<int>(rng() % 33);  // some invalid
        const int h = static_cast<int>(rng() % 24), mi = static_cast<int>(rng() % 60), s = static_cast<int>(rng() % 60);
        const std::int64_t frac = static_cast<std::int64_t>(rng() % kSec);
        const int off_min = static_cast<int>(rng() % (2 * 23 * 60 + 1)) - 23 * 60;
        char buf[96];
        const char* sep = rng() % 2 ? "T" : " ";
        const int form = static_cast<int>(rng() % 4);
        std::int64_t want_ns = 0;
        if (form == 0) {  // date only
            std::snprintf(buf, sizeof buf, "%04ld-%02d-%02d", y, mo, d);
            want_ns = reference::epoch_ns(y, mo, d);
        } else if (form == 1) {  // minutes, no zone
            std::snprintf(buf, sizeof buf, "%04ld-%02d-%02d%s%02d:%02d", y, mo, d, sep, h, mi);
            want_ns = reference::epoch_ns(y, mo, d, h, mi);
        } else if (form == 2) {  // seconds, nanosecond fraction, Z
            std::snprintf(buf, sizeof buf, "%04ld-%02d-%02d%s%02d:%02d:%02d.%09lldZ", y, mo, d, sep, h, mi, s,
                          static_cast<long long>(frac));
            want_ns = reference::epoch_ns(y, mo, d, h, mi, s, frac);
        } else {  // seconds with an offset
            const int a = off_min < 0 ? -off_min : off_min;
            std::snprintf(buf, sizeof buf, "%04ld-%02d-%02d%s%02d:%02d:%02d%c%02d:%02d", y, mo, d, sep, h, mi, s,
                          off_min < 0 ? '-' : '+', a / 60, a % 60);
            want_ns = reference::epoch_ns(y, mo, d, h, mi, s) - static_cast<std::int64_t>(off_min) * 60 * kSec;
        }
        const std::string text = buf;
        CAPTURE(text);
        const bool valid = reference::valid_date(y, mo, d);
        // Outside the supported range (1678, 2261, or pushed across an end by the offset) a valid
        // date is refused too; want_ns itself stays inside int64 for these years.
        const bool in_range = want_ns >= reference::epoch_ns(1679, 1, 1) && want_ns < reference::epoch_ns(2261, 1, 1);
        CHECK(parsed(text) == (valid && in_range ? std::to_string(want_ns) : "InvalidInput"));
    }
}

TEST_CASE("format_time prints UTC ISO 8601 with a fraction only when non-zero, and parses back") {
    CHECK(format_time(Timestamp{Duration{1642240800 * kSec}}) == "2022-01-15T10:00:00Z");
    CHECK(format_time(Timestamp{Duration{0}}) == "1970-01-01T00:00:00Z");
    CHECK(format_time(Timestamp{Duration{-1}}) == "1969-12-31T23:59:59.999999999Z");
    CHECK(format_time(Timestamp{Duration{-kSec}}) == "1969-12-31T23:59:59Z");
    CHECK(format_time(Timestamp{Duration{1642240800 * kSec + 500'000'000}}) == "2022-01-15T10:00:00.5Z");
    CHECK(format_time(Timestamp{Duration{1642240800 * kSec + 1'000}}) == "2022-01-15T10:00:00.000001Z");
    CHECK(format_time(Timestamp{Duration{-2208988800 * kSec}}) == "1900-01-01T00:00:00Z");
    CHECK(format_time(Timestamp{Duration{INT64_MAX}}) == "2262-04-11T23:47:16.854775807Z");
    CHECK(format_time(Timestamp{Duration{INT64_MIN}}) == "1677-09-21T00:12:43.145224192Z");

    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int iter = 0; iter < 20000; ++iter) {
        std::int64_t ns = static_cast<std::int64_t>(rng());
        switch (iter % 4) {
            case 0: break;                                  // anywhere, nanosecond precision
            case 1: ns -= ns % kSec; break;                 // whole seconds
            case 2: ns = ns % (200LL * 365 * kDay); break;  // around the epoch, both signs
            case 3: ns -= ns % kMin; break;                 // whole minutes
        }
        CAPTURE(ns);
        const auto text = format_time(Timestamp{Duration{ns}});
        CHECK(text == reference::iso(ns));
        // Any int64 instant prints; only those in the supported range parse back.
        if (ns >= reference::epoch_ns(1679, 1, 1) && ns < reference::epoch_ns(2261, 1, 1))
            CHECK(test::ns(parse_time(text)) == ns);
        else
            CHECK(parsed(text) == "InvalidInput");
    }
}

TEST_CASE("Timestamp and Duration keep their type rules") {
    // A Timestamp plus a Timestamp is meaningless; a Timestamp plus a Duration is a Timestamp.
    static_assert(!Addable<Timestamp>);
    static_assert(Addable<Duration>);
    static_assert(std::is_same_v<decltype(Timestamp{} + Duration{}), Timestamp>);
    static_assert(std::is_same_v<decltype(Timestamp{} - Timestamp{}), Duration>);
    static_assert(std::is_same_v<Duration, std::chrono::nanoseconds>);
    CHECK(true);
}

// ---- the supported range (docs/time.md, "Supported range") --------------------------------------------------

TEST_CASE("parse_time accepts 1679-01-01T00:00:00Z up to (not including) 2261-01-01T00:00:00Z, and nothing else") {
    const std::int64_t lo = reference::epoch_ns(1679, 1, 1), end = reference::epoch_ns(2261, 1, 1);
    CHECK(test::ns(barstore::kMinTime) == lo);
    CHECK(test::ns(barstore::kEndTime) == end);
    CHECK(barstore::kMaxTimeframe.count() == 366 * kDay);
    // The margin the range leaves to int64's ends is more than the longest timeframe.
    CHECK(lo - INT64_MIN > 366 * kDay);
    CHECK(INT64_MAX - end > 366 * kDay);
    struct Case {
        const char* text;
        std::string want;
    };
    for (const Case& c : {Case{"1679-01-01T00:00:00Z", std::to_string(lo)},
                          Case{"1679-01-01", std::to_string(lo)},
                          Case{"1679-01-01T00:30:00-01:00", std::to_string(lo + 90 * kMin)},
                          Case{"2260-12-31T23:59:59.999999999Z", std::to_string(end - 1)},
                          Case{"2261-01-01T00:30:00+01:00", std::to_string(end - 30 * kMin)},
                          Case{"1678-12-31T23:59:59.999999999Z", "InvalidInput"},
                          Case{"1679-01-01T00:30:00+01:00", "InvalidInput"},
                          Case{"1677-09-21T00:12:44Z", "InvalidInput"},
                          Case{"1677-09-21T00:12:43.145224192Z", "InvalidInput"},  // INT64_MIN
                          Case{"2261-01-01T00:00:00Z", "InvalidInput"},
                          Case{"2261-01-01", "InvalidInput"},
                          Case{"2260-12-31T23:30:00-01:00", "InvalidInput"},
                          Case{"2262-04-11T23:47:16.854775807Z", "InvalidInput"}}) {  // INT64_MAX
        const std::string text_s = c.text;
        CAPTURE(text_s);
        CHECK(parsed(c.text) == c.want);
    }
    try {
        parse_time("1677-09-21T00:12:44Z");
        FAIL("accepted");
    } catch (const InvalidInput& e) {
        CHECK(std::string(e.what()).find("1679-01-01") != std::string::npos);  // says what is supported
        CHECK(std::string(e.what()).find("2261-01-01") != std::string::npos);
    }
}

TEST_CASE("parse_timeframe accepts up to 366 days and refuses longer ones") {
    for (const char* t : {"366d", "366 days", "52w", "8784h", "527040m", "31622400s"}) {
        const std::string text_s = t;
        CAPTURE(text_s);
        CHECK(timeframe(t) == std::to_string(366 * kDay - (text_s == "52w" ? 2 * kDay : 0)));
    }
    for (const char* t : {"367d", "53w", "8785h", "527041m", "31622401s", "15250w", "1000 days", "1000000h"}) {
        const std::string text_s = t;
        CAPTURE(text_s);
        CHECK(timeframe(t) == "InvalidInput");
    }
    try {
        parse_timeframe("15250w");
        FAIL("accepted");
    } catch (const InvalidInput& e) {
        CHECK(std::string(e.what()).find("366d") != std::string::npos);
    }
}

// ---- LocalToUtc (time/local_to_utc.hpp) ---------------------------------------------------------

namespace {

/// date::tz's own answer, through its public to_sys, as UTC seconds: "gap" for a skipped
/// local time, the earlier instant for a repeated one.
std::string tz_utc_s(const date::time_zone* zone, std::int64_t local_s) {
    const date::local_seconds local{std::chrono::seconds{local_s}};
    try {
        return std::to_string(zone->to_sys(local).time_since_epoch().count());
    } catch (const date::nonexistent_local_time&) {
        return "gap";
    } catch (const date::ambiguous_local_time&) {
        return std::to_string(zone->to_sys(local, date::choose::earliest).time_since_epoch().count());
    }
}

std::string converted(barstore::LocalToUtc& conv, std::int64_t local_s) {
    std::int64_t utc_s = 0;
    return conv.to_utc(local_s, utc_s) ? std::to_string(utc_s) : "gap";
}

}  // namespace

TEST_CASE("LocalToUtc equals date::tz around every offset change, in order, shuffled and cold") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    std::size_t changes_seen = 0;  // the sweep below must find the changes it is about
    // DST at 02:00 and at midnight, a 30-minute DST, half-hour zones, a skipped day (Apia
    // 2011-12-30), offset changes without DST (Moscow), and no change at all.
    for (const char* name : {"America/New_York", "Europe/London", "Australia/Lord_Howe", "America/Sao_Paulo",
                             "Pacific/Apia", "Asia/Kolkata", "Europe/Moscow", "America/St_Johns", "Asia/Tokyo"}) {
        const std::string zone_name = name;
        CAPTURE(zone_name);
        const date::time_zone* zone = date::locate_zone(name);
        // Local seconds on both sides of each change between 1970 and 2040: the old and the new
        // offset's view of the instant, and steps around them up to an hour and a bit.
        std::vector<std::int64_t> local;
        using std::chrono::seconds;
        auto t = date::sys_seconds{seconds{0}};
        const auto stop = date::sys_seconds{seconds{2'208'988'800}};  // 2040-01-01
        while (t < stop) {
            const auto info = zone->get_info(t);
            if (info.end >= stop) break;
            const auto after = zone->get_info(info.end);
            for (const auto off : {info.offset.count(), after.offset.count()})
                for (const std::int64_t d : {-7201, -3601, -3600, -1801, -1800, -1, 0, 1, 1799, 1800, 3599, 3600, 3601, 7200})
                    local.push_back(info.end.time_since_epoch().count() + off + d);
            t = info.end;
        }
        changes_seen += local.size();
        for (int i = 0; i < 2000; ++i)  // anywhere the CSV parser admits: 1678..2261
            local.push_back(static_cast<std::int64_t>(rng() % 18'400'000'000ull) - 9'200'000'000ll);
        std::sort(local.begin(), local.end());
        const auto check_all = [&](const std::vector<std::int64_t>& order, bool cold) {
            barstore::LocalToUtc warm(zone);
            for (const std::int64_t s : order) {
                CAPTURE(s);
                barstore::LocalToUtc fresh(zone);
                CHECK(converted(cold ? fresh : warm, s) == tz_utc_s(zone, s));
            }
        };
        check_all(local, false);  // in time order, as a file reads: the cached spans do the work
        auto shuffled = local;
        std::shuffle(shuffled.begin(), shuffled.end(), rng);
        check_all(shuffled, false);
        check_all(local, true);
    }
    CHECK(changes_seen > 28 * 300);  // 28 values per change; New York alone changed ~140 times
}

TEST_CASE("LocalToUtc without a zone is UTC and never fails") {
    barstore::LocalToUtc utc(nullptr);
    for (const std::int64_t s : {std::int64_t{INT64_MIN}, std::int64_t{-1}, std::int64_t{0}, std::int64_t{1'700'000'000},
                                 std::int64_t{INT64_MAX - 1}}) {
        CAPTURE(s);
        CHECK(converted(utc, s) == std::to_string(s));
    }
}
