// tests/test_session.cpp: session specs and calendar instants against hand-computed UTC; resample()
// and query() bar for bar against the local-time oracle (reference/naive_session.hpp) on SPY, BTC
// and generated weeks around both 2024 US DST changes; no look-ahead as of every minute of a day.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "barstore/error.hpp"
#include "barstore/query.hpp"
#include "barstore/session.hpp"
#include "barstore/store.hpp"
#include "barstore/time.hpp"
#include "reference/naive_bars.hpp"
#include "reference/naive_resample.hpp"
#include "reference/naive_session.hpp"
#include "reference/naive_time.hpp"
#include "support/bars.hpp"
#include "support/time.hpp"
#include "support/util.hpp"

using barstore::Alignment;
using barstore::BarColumns;
using barstore::Duration;
using barstore::InvalidInput;
using barstore::QueryOptions;
using barstore::SeriesKey;
using barstore::Session;
using barstore::SessionCalendar;
using barstore::Store;
using barstore::Timestamp;
using reference::epoch_ns;
using reference::IntBar;
using reference::NaiveQuery;
using reference::NaiveSession;
using test::at, test::cols, test::ns, test::show_iso;
using test::kSec, test::kMin, test::kHour, test::kDay, test::kWeek;
using namespace std::chrono_literals;

namespace {

// The timeframes the issue names, and a few odd ones that do not divide a session evenly (4m:
// Lean's 9:28-9:32 bug; session bins are 09:30, 09:34, ..., 15:58-16:00).
constexpr std::int64_t kIssueTfs[] = {5 * kMin, 15 * kMin, 30 * kMin, kHour, 2 * kHour, 4 * kHour, kDay, kWeek};
constexpr std::int64_t kOddTfs[] = {kMin, 4 * kMin, 7 * kMin, 45 * kMin, 90 * kMin, 3 * kHour};

std::int64_t day_of(long y, int m, int d) { return reference::days_from_civil(y, m, d); }
std::chrono::sys_days sys_day(long y, int m, int d) { return std::chrono::sys_days{std::chrono::days{day_of(y, m, d)}}; }

// Rows in failure messages show ISO times: sessions are reasoned about by the clock.
constexpr test::BarDiff diff = test::diff_iso;

std::string describe(const NaiveQuery& q) {
    auto opt = [](const auto& v) { return v ? std::to_string(*v) : std::string("-"); };
    auto t = [](const auto& v) { return v ? reference::iso(*v) : std::string("-"); };
    return "tf=" + opt(q.timeframe) + " from=" + t(q.from) + " to=" + t(q.to) + " as_of=" + t(q.as_of) +
           " last=" + opt(q.last) + " forming=" + std::to_string(q.include_forming);
}

QueryOptions to_options(const NaiveQuery& q, Alignment align) {
    QueryOptions o;
    if (q.timeframe) o.timeframe = Duration{*q.timeframe};
    if (q.from) o.from = at(*q.from);
    if (q.to) o.to = at(*q.to);
    if (q.as_of) o.as_of = at(*q.as_of);
    o.last = q.last;
    o.include_forming = q.include_forming;
    o.align = align;
    return o;
}

/// One-minute bars for every minute in [from, to) (UTC ns), a random walk; each minute is left
/// out with probability drop_pct/100, and now and then an hour or a day is missing.
std::vector<IntBar> minute_bars(std::mt19937_64& rng, std::int64_t from, std::int64_t to, int drop_pct) {
    std::vector<IntBar> out;
    test::PriceWalk walk{.px = 10000 + static_cast<std::int64_t>(rng() % 1000), .volume_mod = 1000, .volume_min = 1};
    for (std::int64_t t = from; t < to; t += kMin) {
        if (static_cast<int>(rng() % 100) < drop_pct) continue;
        if (drop_pct > 0 && rng() % 20000 == 0) {
            t += (rng() % 2 ? kHour : kDay) - kMin;  // a longer gap
            continue;
        }
        out.push_back(walk.next(rng, t));
    }
    return out;
}

void write(Store& store, const SeriesKey& key, const std::vector<IntBar>& bars, int price_decimals,
           std::optional<Session> session) {
    const auto b = test::batch(key, bars, {price_decimals, 0}, std::move(session));
    store.write(std::span(&b, 1));
}

/// A random as-of probe: at a bin end, just before it, a base bar after it, or anywhere.
std::int64_t probe(std::mt19937_64& rng, const std::map<std::int64_t, std::int64_t>& ends, std::int64_t lo,
                   std::int64_t hi) {
    auto it = ends.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(rng() % ends.size()));
    switch (rng() % 5) {
        case 0: return it->second;
        case 1: return it->second - 1;
        case 2: return it->second + kMin;
        case 3: return it->first + kMin;
        default: return lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo));
    }
}

/// A random query over one placed timeframe: every option present or not.
NaiveQuery random_query(std::mt19937_64& rng, const std::map<std::int64_t, std::int64_t>& ends, std::int64_t tf,
                        std::int64_t lo, std::int64_t hi) {
    NaiveQuery q;
    q.timeframe = tf;
    auto label = [&] {
        auto it = ends.begin();
        std::advance(it, static_cast<std::ptrdiff_t>(rng() % ends.size()));
        return rng() % 2 ? it->first : it->first + static_cast<std::int64_t>(rng() % 3) * kMin - kMin;
    };
    if (rng() % 3 == 0) q.from = label();
    if (rng() % 3 == 0) q.to = rng() % 2 ? label() : probe(rng, ends, lo, hi);
    if (q.from && q.to && *q.from > *q.to) std::swap(*q.from, *q.to);  // from after to is an error
    if (rng() % 4 != 0) q.as_of = probe(rng, ends, lo, hi);
    if (rng() % 3 == 0) q.last = rng() % 6;
    q.include_forming = rng() % 2;
    return q;
}

/// Checks one series, stored under `key` with session `s` (`naive`: the same, spelled out for the
/// oracle), for every timeframe:
/// resample() with session alignment, query() with the default (session) and explicit
/// alignments, and `queries` random queries per timeframe with as_of probes at bin ends.
void check_against_oracle(std::mt19937_64& rng, Store& store, const SeriesKey& key, const std::vector<IntBar>& bars,
                          const Session& s, const NaiveSession& naive, int queries) {
    REQUIRE(!bars.empty());
    const BarColumns in = cols(bars);
    const std::int64_t lo = bars.front().ts - kDay, hi = bars.back().ts + 2 * kDay;
    std::vector<std::int64_t> tfs(std::begin(kIssueTfs), std::end(kIssueTfs));
    tfs.insert(tfs.end(), std::begin(kOddTfs), std::end(kOddTfs));
    for (const std::int64_t tf : tfs) {
        const std::string tf_text = barstore::format_timeframe(Duration{tf});
        CAPTURE(tf_text);
        for (const bool session : {true, false}) {
            CAPTURE(session);
            const Alignment align = session ? Alignment::session : Alignment::utc;
            const reference::NaiveBinner binner(naive, tf, session);
            const auto where = reference::place_all(bars, binner);
            const auto want = reference::resample_session(bars, where);
            CHECK(diff(barstore::resample(in, 1min, Duration{tf}, align, s), want) == "");
            QueryOptions all;
            all.timeframe = Duration{tf};
            all.align = align;
            CHECK(diff(barstore::query(store, key, all), want) == "");
            if (session != s.is_24x7()) {
                all.align.reset();  // the default: session alignment unless the session is 24x7
                CHECK(diff(barstore::query(store, key, all), want) == "");
            }
            const auto ends = reference::bin_ends(bars, where);
            REQUIRE(!ends.empty());
            for (int k = 0; k < queries; ++k) {
                const auto q = random_query(rng, ends, tf, lo, hi);
                const std::string text = describe(q);
                CAPTURE(text);
                CHECK(diff(barstore::query(store, key, to_options(q, align)), reference::query_session(bars, where, kMin, q)) ==
                      "");
            }
        }
    }
}

}  // namespace

// ---- timeframes --------------------------------------------------------------------------------------------

TEST_CASE("every timeframe spelling in the issue parses, and prints in one canonical form") {
    struct Case {
        const char* text;
        std::int64_t ns;
        const char* canonical;
    };
    for (const Case c : {Case{"1m", kMin, "1m"},           Case{"5min", 5 * kMin, "5m"},   Case{"5 minutes", 5 * kMin, "5m"},
                         Case{"minute", kMin, "1m"},       Case{"15m", 15 * kMin, "15m"},  Case{"hour", kHour, "1h"},
                         Case{"1h", kHour, "1h"},          Case{"2 hours", 2 * kHour, "2h"}, Case{"4h", 4 * kHour, "4h"},
                         Case{"day", kDay, "1d"},          Case{"1d", kDay, "1d"},          Case{"1D", kDay, "1d"},
                         Case{"week", kWeek, "1w"},        Case{"1w", kWeek, "1w"},         Case{"30s", 30 * kSec, "30s"},
                         Case{"1 second", kSec, "1s"},     Case{"15 mins", 15 * kMin, "15m"}, Case{"60 minutes", kHour, "1h"},
                         Case{"24h", kDay, "1d"},          Case{"7 days", kWeek, "1w"},     Case{"90min", 90 * kMin, "90m"}}) {
        const std::string text = c.text;
        CAPTURE(text);
        Duration got{};
        REQUIRE_NOTHROW(got = barstore::parse_timeframe(c.text));
        CHECK(got.count() == c.ns);
        CHECK(barstore::format_timeframe(got) == c.canonical);
        CHECK(barstore::parse_timeframe(barstore::format_timeframe(got)) == got);
    }
    for (const char* bad : {"15x", "1M", "x", "", "5 lightyears", "0m", "-1h"}) {
        const std::string text = bad;
        CAPTURE(text);
        try {
            (void)barstore::parse_timeframe(bad);
            FAIL("accepted");
        } catch (const InvalidInput& e) {
            const std::string what = e.what();
            CAPTURE(what);
            // The message names the input and lists the accepted forms.
            CHECK(what.find("'" + text + "'") != std::string::npos);
            for (const char* form : {"accepted", "30s", "5min", "5 minutes", "1h", "2 hours", "1d", "1w", "minute"})
                CHECK(what.find(form) != std::string::npos);
        }
    }
}

// ---- session specs -----------------------------------------------------------------------------------------

TEST_CASE("presets parse to the issue's zone, hours and weekdays, and print as their names") {
    using std::chrono::minutes;
    struct Case {
        const char* name;
        const char* zone;
        int open_min, close_min;
        std::uint8_t weekdays;  // bit 0 = Sunday
    };
    for (const Case c : {Case{"24x7", "UTC", 0, 0, 0x7F}, Case{"us-equity", "America/New_York", 570, 960, 0b0111110},
                         Case{"us-equity-extended", "America/New_York", 240, 1200, 0b0111110},
                         Case{"cme-globex", "America/Chicago", 1020, 960, 0b0111111}}) {
        const std::string name = c.name;
        CAPTURE(name);
        const Session s = barstore::parse_session(c.name);
        CHECK(s.zone == c.zone);
        CHECK(s.open == minutes{c.open_min});
        CHECK(s.close == minutes{c.close_min});
        CHECK(s.weekdays == c.weekdays);
        CHECK(s.holidays.empty());
        CHECK(s.is_24x7() == (name == "24x7"));
        CHECK(barstore::format_session(s) == name);
        CHECK(barstore::parse_session(barstore::format_session(s)) == s);
    }
    // The default session is 24x7 and prints so.
    CHECK(Session{}.is_24x7());
    CHECK(barstore::format_session(Session{}) == "24x7");
}

TEST_CASE("custom specs: zone, hours, weekday ranges (wrapping too), lists, holidays; canonical text round-trips") {
    using std::chrono::minutes;
    struct Case {
        const char* text;
        const char* zone;
        int open_min, close_min;
        std::uint8_t weekdays;
        std::vector<std::int64_t> holidays;  // days since 1970
        const char* canonical;
    };
    const std::vector<Case> cases = {
        {"America/New_York 09:30-16:00", "America/New_York", 570, 960, 0x7F, {}, "America/New_York 09:30-16:00"},
        {"America/New_York 09:30-16:00 Mon-Fri", "America/New_York", 570, 960, 0b0111110, {},
         "America/New_York 09:30-16:00 Mon-Fri"},
        {"  America/Chicago   17:00-16:00   Sun-Fri ", "America/Chicago", 1020, 960, 0b0111111, {},
         "America/Chicago 17:00-16:00 Sun-Fri"},
        {"Europe/London 08:00-16:30 Mon,Wed,Fri", "Europe/London", 480, 990, 0b0101010, {},
         "Europe/London 08:00-16:30 Mon,Wed,Fri"},
        {"Asia/Tokyo 09:00-15:00 Fri-Mon", "Asia/Tokyo", 540, 900, 0b1100011, {}, "Asia/Tokyo 09:00-15:00 Fri-Mon"},
        {"Asia/Tokyo 09:00-15:00 Sat-Sun", "Asia/Tokyo", 540, 900, 0b1000001, {}, "Asia/Tokyo 09:00-15:00 Sat-Sun"},
        {"Asia/Tokyo 09:00-15:00 mon-fri", "Asia/Tokyo", 540, 900, 0b0111110, {}, "Asia/Tokyo 09:00-15:00 Mon-Fri"},
        {"Asia/Tokyo 09:00-15:00 Tue", "Asia/Tokyo", 540, 900, 0b0000100, {}, "Asia/Tokyo 09:00-15:00 Tue"},
        {"Asia/Tokyo 09:00-15:00 Mon-Tue,Thu-Fri", "Asia/Tokyo", 540, 900, 0b0110110, {},
         "Asia/Tokyo 09:00-15:00 Mon,Tue,Thu,Fri"},
        {"Asia/Tokyo 09:00-15:00 Sun,Mon,Tue,Wed,Thu,Fri,Sat", "Asia/Tokyo", 540, 900, 0x7F, {}, "Asia/Tokyo 09:00-15:00"},
        {"America/New_York 00:00-00:00", "America/New_York", 0, 0, 0x7F, {}, "America/New_York 00:00-00:00"},
        {"us-equity holidays=2024-07-04,2024-01-01,2024-07-04", "America/New_York", 570, 960, 0b0111110,
         {day_of(2024, 1, 1), day_of(2024, 7, 4)}, "us-equity holidays=2024-01-01,2024-07-04"},
        {"America/New_York 09:30-16:00 Mon-Fri holidays=2024-12-25", "America/New_York", 570, 960, 0b0111110,
         {day_of(2024, 12, 25)}, "America/New_York 09:30-16:00 Mon-Fri holidays=2024-12-25"},
        {"America/Chicago 17:00-16:00 holidays=2024-02-29", "America/Chicago", 1020, 960, 0x7F, {day_of(2024, 2, 29)},
         "America/Chicago 17:00-16:00 holidays=2024-02-29"},
    };
    for (const auto& c : cases) {
        const std::string text = c.text;
        CAPTURE(text);
        Session s;
        REQUIRE_NOTHROW(s = barstore::parse_session(c.text));
        CHECK(s.zone == c.zone);
        CHECK(s.open == minutes{c.open_min});
        CHECK(s.close == minutes{c.close_min});
        CHECK(static_cast<int>(s.weekdays) == static_cast<int>(c.weekdays));
        REQUIRE(s.holidays.size() == c.holidays.size());
        for (std::size_t i = 0; i < s.holidays.size(); ++i) CHECK(s.holidays[i].time_since_epoch().count() == c.holidays[i]);
        CHECK(barstore::format_session(s) == c.canonical);
        CHECK(barstore::parse_session(barstore::format_session(s)) == s);
        CHECK_FALSE(s.is_24x7());
    }
}

TEST_CASE("24x7 however spelled is the default Session{}: canonical text round-trips, and through a store") {
    // format_session promises parse_session(format_session(s)) == s.
    for (const char* text : {"24x7", "UTC 00:00-00:00", "UTC 00:00-00:00 Sun-Sat", " 24x7 "}) {
        const std::string t = text;
        CAPTURE(t);
        const Session s = barstore::parse_session(text);
        CHECK(s.is_24x7());
        CHECK(s == Session{});
        CHECK(barstore::format_session(s) == "24x7");
        CHECK(barstore::parse_session(barstore::format_session(s)) == s);
    }
    // A holiday makes it a custom session that still round-trips.
    const Session h = barstore::parse_session("24x7 holidays=2024-12-25");
    CHECK_FALSE(h.is_24x7());
    CHECK(barstore::format_session(h) == "UTC 00:00-00:00 holidays=2024-12-25");
    CHECK(barstore::parse_session(barstore::format_session(h)) == h);
    // What set_session stores is what info() returns, 24x7 included (it is stored as "none").
    test::TempDir dir;
    auto store = Store::open(dir.path());
    const SeriesKey key{"X", 1min};
    write(store, key, {{epoch_ns(2024, 1, 2), 1, 1, 1, 1, 1}}, 0, std::nullopt);
    for (const char* text : {"us-equity", "24x7", "cme-globex holidays=2024-12-25", "UTC 00:00-00:00",
                             "America/New_York 09:30-24:00 Mon-Fri", "24x7 holidays=2024-12-25"}) {
        const std::string t = text;
        CAPTURE(t);
        const Session s = barstore::parse_session(text);
        store.set_session(key, s);
        CHECK(store.info(key)->session == s);
        CHECK(store.list().at(0).session == s);
    }
}

TEST_CASE("bad session specs throw InvalidInput naming the input and the accepted forms") {
    for (const char* text :
         {"", "   ", "nope", "us-equities", "America/New_York", "America/New_York 9:30-16:00", "America/New_York 09:30-16:60",
          "America/New_York 25:00-16:00", "America/New_York 09:30", "America/New_York 09:30-", "America/New_York 0930-1600",
          "America/New_York 09:30-16:00 Mon-Fxx", "America/New_York 09:30-16:00 Mon,", "America/New_York 09:30-16:00 Monday",
          "America/New_York 09:30-16:00 Mon-Fri extra", "us-equity Mon-Fri", "us-equity holidays=2024-02-30",
          "us-equity holidays=2024-13-01", "us-equity holidays=tomorrow", "us-equity holidays=2024-01-01x",
          "24x7 24x7"}) {
        const std::string t = text;
        CAPTURE(t);
        try {
            (void)barstore::parse_session(text);
            FAIL("accepted");
        } catch (const InvalidInput& e) {
            const std::string what = e.what();
            CAPTURE(what);
            CHECK(what.find("'" + t + "'") != std::string::npos);
            for (const char* form : {"accepted", "24x7", "us-equity", "us-equity-extended", "cme-globex", "HH:MM-HH:MM",
                                     "Mon-Fri", "holidays="})
                CHECK(what.find(form) != std::string::npos);
        }
    }
    // An unknown zone is named.
    try {
        (void)barstore::parse_session("Mars/Olympus_Mons 09:30-16:00");
        FAIL("accepted");
    } catch (const InvalidInput& e) {
        const std::string what = e.what();
        CHECK(what.find("unknown time zone 'Mars/Olympus_Mons'") != std::string::npos);
        CHECK(what.find("accepted") != std::string::npos);
    }
    Session s;
    s.zone = "Mars/Olympus_Mons";
    CHECK_THROWS_AS(SessionCalendar{s}, InvalidInput);
}

// ---- the calendar: DST, weekdays, holidays -----------------------------------------------------------------

TEST_CASE("the 09:30 New York open is 14:30 UTC in winter and 13:30 UTC in summer, around both 2024 changes") {
    SessionCalendar cal(barstore::parse_session("us-equity"));
    struct Case {
        int m, d;
        std::int64_t open, close;  // hand-computed: EST = UTC-5, EDT = UTC-4
    };
    for (const Case c : {Case{3, 8, epoch_ns(2024, 3, 8, 14, 30), epoch_ns(2024, 3, 8, 21)},    // Fri, EST
                         Case{3, 11, epoch_ns(2024, 3, 11, 13, 30), epoch_ns(2024, 3, 11, 20)},  // Mon, EDT
                         Case{11, 1, epoch_ns(2024, 11, 1, 13, 30), epoch_ns(2024, 11, 1, 20)},  // Fri, EDT
                         Case{11, 4, epoch_ns(2024, 11, 4, 14, 30), epoch_ns(2024, 11, 4, 21)}}) {  // Mon, EST
        CAPTURE(c.m);
        CAPTURE(c.d);
        const auto inst = cal.on(sys_day(2024, c.m, c.d));
        REQUIRE(inst);
        CHECK(reference::iso(ns(inst->open)) == reference::iso(c.open));
        CHECK(reference::iso(ns(inst->close)) == reference::iso(c.close));
        CHECK(inst->trading_date == sys_day(2024, c.m, c.d));
        // containing(): the open minute is in, the minute before it and the close are out.
        CHECK(cal.containing(at(c.open))->open == inst->open);
        CHECK(cal.containing(at(c.open))->close == inst->close);
        CHECK(cal.containing(at(c.close - 1))->open == inst->open);
        CHECK_FALSE(cal.containing(at(c.open - 1)));
        CHECK_FALSE(cal.containing(at(c.close)));
        CHECK(cal.next_after(at(c.open - 1)).open == inst->open);
    }
    // Weekends (the DST Sundays included) have no session; Friday's close leads to Monday's open.
    for (const int d : {9, 10}) CHECK_FALSE(cal.on(sys_day(2024, 3, d)));
    for (const int d : {2, 3}) CHECK_FALSE(cal.on(sys_day(2024, 11, d)));
    CHECK(ns(cal.next_after(at(epoch_ns(2024, 3, 8, 21))).open) == epoch_ns(2024, 3, 11, 13, 30));
    CHECK(ns(cal.next_after(at(epoch_ns(2024, 11, 1, 20))).open) == epoch_ns(2024, 11, 4, 14, 30));
    CHECK_FALSE(cal.containing(at(epoch_ns(2024, 3, 10, 15))));
    // Extended hours: 04:00-20:00 local.
    SessionCalendar ext(barstore::parse_session("us-equity-extended"));
    CHECK(ns(ext.on(sys_day(2024, 3, 8))->open) == epoch_ns(2024, 3, 8, 9));
    CHECK(ns(ext.on(sys_day(2024, 3, 8))->close) == epoch_ns(2024, 3, 9, 1));
    CHECK(ns(ext.on(sys_day(2024, 3, 11))->open) == epoch_ns(2024, 3, 11, 8));
    CHECK(ns(ext.on(sys_day(2024, 3, 11))->close) == epoch_ns(2024, 3, 12, 0));
}

TEST_CASE("the 17:00 Chicago CME open stays 17:00 local on both sides of both 2024 changes") {
    SessionCalendar cal(barstore::parse_session("cme-globex"));
    // CST = UTC-6, CDT = UTC-5. Trading date D runs from D-1 17:00 to D 16:00 local.
    struct Case {
        int m, d;
        std::int64_t open, close;
    };
    for (const Case c : {
             Case{3, 4, epoch_ns(2024, 3, 3, 23), epoch_ns(2024, 3, 4, 22)},    // Mon; opens Sunday 17:00 CST
             Case{3, 8, epoch_ns(2024, 3, 7, 23), epoch_ns(2024, 3, 8, 22)},    // Fri, CST
             Case{3, 11, epoch_ns(2024, 3, 10, 22), epoch_ns(2024, 3, 11, 21)},  // Mon; opens DST Sunday 17:00 CDT
             Case{3, 12, epoch_ns(2024, 3, 11, 22), epoch_ns(2024, 3, 12, 21)},  // Tue, CDT
             Case{11, 1, epoch_ns(2024, 10, 31, 22), epoch_ns(2024, 11, 1, 21)}, // Fri, CDT
             Case{11, 4, epoch_ns(2024, 11, 3, 23), epoch_ns(2024, 11, 4, 22)},  // Mon; opens DST Sunday 17:00 CST
             Case{11, 5, epoch_ns(2024, 11, 4, 23), epoch_ns(2024, 11, 5, 22)}}) {
        CAPTURE(c.m);
        CAPTURE(c.d);
        const auto inst = cal.on(sys_day(2024, c.m, c.d));
        REQUIRE(inst);
        CHECK(reference::iso(ns(inst->open)) == reference::iso(c.open));
        CHECK(reference::iso(ns(inst->close)) == reference::iso(c.close));
        CHECK(inst->trading_date == sys_day(2024, c.m, c.d));
        CHECK(cal.containing(at(c.open))->trading_date == inst->trading_date);
        CHECK(cal.containing(at(c.close - kMin))->trading_date == inst->trading_date);
        CHECK_FALSE(cal.containing(at(c.close)));  // the 16:00-17:00 break
        CHECK_FALSE(cal.containing(at(c.open - 1)));
        // Independently: the open is 17:00 and the close 16:00 on the local clock (date::zoned_time).
        const auto* tz = date::locate_zone("America/Chicago");
        CHECK((reference::local_ns(tz, c.open) % kDay + kDay) % kDay == 17 * kHour);
        CHECK((reference::local_ns(tz, c.close) % kDay + kDay) % kDay == 16 * kHour);
    }
    // Sun-Fri: no session has a Saturday or Sunday trading date; Friday 16:00 leads to Sunday 17:00.
    for (const int d : {2, 3, 9, 10}) CHECK_FALSE(cal.on(sys_day(2024, 3, d)));
    for (const int d : {2, 3}) CHECK_FALSE(cal.on(sys_day(2024, 11, d)));
    CHECK(ns(cal.next_after(at(epoch_ns(2024, 3, 8, 22))).open) == epoch_ns(2024, 3, 10, 22));
    CHECK(ns(cal.next_after(at(epoch_ns(2024, 11, 1, 21))).open) == epoch_ns(2024, 11, 3, 23));
    CHECK_FALSE(cal.containing(at(epoch_ns(2024, 3, 9, 12))));   // Saturday
    CHECK_FALSE(cal.containing(at(epoch_ns(2024, 3, 10, 21, 59))));  // Sunday 16:59 CDT
}

TEST_CASE("holidays and weekday lists skip trading dates; 24-hour local days are 23 and 25 hours at DST") {
    SessionCalendar us(barstore::parse_session("us-equity holidays=2024-07-04"));
    CHECK_FALSE(us.on(sys_day(2024, 7, 4)));
    CHECK_FALSE(us.containing(at(epoch_ns(2024, 7, 4, 15))));
    CHECK(ns(us.next_after(at(epoch_ns(2024, 7, 3, 20))).open) == epoch_ns(2024, 7, 5, 13, 30));
    CHECK(ns(us.on(sys_day(2024, 7, 3))->open) == epoch_ns(2024, 7, 3, 13, 30));

    // A holiday of an overnight session removes the session that closes on that date.
    SessionCalendar cme(barstore::parse_session("cme-globex holidays=2024-03-12"));
    CHECK_FALSE(cme.on(sys_day(2024, 3, 12)));
    CHECK_FALSE(cme.containing(at(epoch_ns(2024, 3, 12, 3))));  // Mon 22:00 CDT
    CHECK(ns(cme.next_after(at(epoch_ns(2024, 3, 11, 21))).open) == epoch_ns(2024, 3, 12, 22));

    // Mon,Wed,Fri in London (BST from 2024-03-31): Friday 08:00 GMT, then Wednesday 08:00 BST.
    SessionCalendar lon(barstore::parse_session("Europe/London 08:00-16:30 Mon,Wed,Fri"));
    CHECK(ns(lon.on(sys_day(2024, 3, 29))->open) == epoch_ns(2024, 3, 29, 8));
    for (const int d : {30, 31}) CHECK_FALSE(lon.on(sys_day(2024, 3, d)));
    CHECK(ns(lon.on(sys_day(2024, 4, 1))->open) == epoch_ns(2024, 4, 1, 7));
    CHECK_FALSE(lon.on(sys_day(2024, 4, 2)));
    CHECK(ns(lon.next_after(at(epoch_ns(2024, 4, 1, 16))).open) == epoch_ns(2024, 4, 3, 7));

    // open == close: the local calendar day, 23 hours in March and 25 in November.
    SessionCalendar day(barstore::parse_session("America/New_York 00:00-00:00"));
    auto mar = day.on(sys_day(2024, 3, 10)), nov = day.on(sys_day(2024, 11, 3));
    REQUIRE(mar);
    REQUIRE(nov);
    CHECK(ns(mar->open) == epoch_ns(2024, 3, 10, 5));
    CHECK(ns(mar->close) == epoch_ns(2024, 3, 11, 4));
    CHECK(ns(nov->open) == epoch_ns(2024, 11, 3, 4));
    CHECK(ns(nov->close) == epoch_ns(2024, 11, 4, 5));
    CHECK(day.containing(at(epoch_ns(2024, 11, 4, 4, 59)))->trading_date == sys_day(2024, 11, 3));

    // An open inside the spring-forward gap (02:30 does not exist on 2024-03-10) takes the
    // instant the clocks jump: 03:00 EDT, 07:00 UTC.
    SessionCalendar gap(barstore::parse_session("America/New_York 02:30-10:00"));
    CHECK(ns(gap.on(sys_day(2024, 3, 10))->open) == epoch_ns(2024, 3, 10, 7));
    CHECK(ns(gap.on(sys_day(2024, 3, 11))->open) == epoch_ns(2024, 3, 11, 6, 30));
}

TEST_CASE("a session that closes at 24:00 runs to midnight of its own date, on every weekday it names") {
    // 09:30-24:00 Mon-Fri: Friday has a session that ends at Saturday 00:00.
    SessionCalendar cal(barstore::parse_session("America/New_York 09:30-24:00 Mon-Fri"));
    for (const int d : {4, 5, 6, 7, 8}) {
        CAPTURE(d);
        const auto inst = cal.on(sys_day(2024, 3, d));
        REQUIRE(inst);
        CHECK(ns(inst->open) == epoch_ns(2024, 3, d, 14, 30));
        CHECK(ns(inst->close) == epoch_ns(2024, 3, d + 1, 5));
    }
    CHECK_FALSE(cal.on(sys_day(2024, 3, 9)));
    CHECK(cal.containing(at(epoch_ns(2024, 3, 9, 4, 59)))->trading_date == sys_day(2024, 3, 8));  // Fri 23:59 EST
    CHECK_FALSE(cal.containing(at(epoch_ns(2024, 3, 9, 5))));
    const Session s = cal.session();
    CHECK(s.close == std::chrono::minutes{1440});
    CHECK(barstore::format_session(s) == "America/New_York 09:30-24:00 Mon-Fri");
    CHECK(barstore::parse_session(barstore::format_session(s)) == s);
    // 24:00 is a close only.
    CHECK_THROWS_AS(barstore::parse_session("America/New_York 24:00-16:00"), InvalidInput);
    CHECK_THROWS_AS(barstore::parse_session("America/New_York 09:30-24:01"), InvalidInput);
}

TEST_CASE("a session that never occurs is refused when parsed: every weekday set, overnight or not, against the calendar") {
    // The calendar is the reference: a spec is refused exactly when ten years hold none of its
    // sessions (next_after throws). Overnight sessions need two weekdays in a row.
    const char* const names[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    int refused = 0;
    for (const char* hours : {"16:00-09:30", "17:00-17:00", "09:30-16:00", "00:00-00:00", "18:00-24:00"}) {
        for (unsigned mask = 1; mask < 128; ++mask) {
            std::string days;
            for (int d = 0; d < 7; ++d)
                if (mask >> d & 1) days += (days.empty() ? "" : ",") + std::string(names[d]);
            const std::string text = std::string("America/New_York ") + hours + " " + days;
            CAPTURE(text);
            Session manual = barstore::parse_session(std::string("America/New_York ") + hours);
            manual.weekdays = static_cast<std::uint8_t>(mask);
            bool occurs = true;
            try {
                (void)SessionCalendar(manual).next_after(at(epoch_ns(2024, 1, 1)));
            } catch (const InvalidInput&) {
                occurs = false;
            }
            if (occurs) {
                CHECK(barstore::parse_session(text).weekdays == mask);
                continue;
            }
            ++refused;
            try {
                (void)barstore::parse_session(text);
                FAIL("accepted a session that never occurs");
            } catch (const InvalidInput& e) {
                const std::string what = e.what();
                CAPTURE(what);
                CHECK(what.find("'" + text + "'") != std::string::npos);
                CHECK(what.find("never occurs") != std::string::npos);
            }
        }
    }
    // Overnight hours on the 7 single days and the 7 sets without two days in a row... at least.
    CHECK(refused >= 2 * 7);
    CHECK_THROWS_AS(barstore::parse_session("America/New_York 16:00-09:30 Mon-Mon"), InvalidInput);
    CHECK(barstore::parse_session("America/New_York 16:00-09:30 Mon-Tue").weekdays == 0b0000110);
}

TEST_CASE("a session no bar of the base can start in is refused where it is stored: daily bases, and intraday ones per the oracle") {
    struct Case {
        const char* spec;
        NaiveSession naive;
    };
    const std::set<int> mon_fri{1, 2, 3, 4, 5};
    const std::vector<Case> cases{
        {"us-equity", reference::naive_preset("us-equity")},
        {"us-equity-extended", reference::naive_preset("us-equity-extended")},
        {"cme-globex", reference::naive_preset("cme-globex")},
        {"UTC 09:30-09:45 Mon-Fri", {"UTC", 9 * 60 + 30, 9 * 60 + 45, mon_fri, {}}},
        {"America/New_York 09:30-10:00 Mon-Fri", {"America/New_York", 9 * 60 + 30, 10 * 60, mon_fri, {}}},
        {"Asia/Kolkata 09:15-15:30 Mon-Fri", {"Asia/Kolkata", 9 * 60 + 15, 15 * 60 + 30, mon_fri, {}}},
        {"Europe/London 08:00-08:30 Mon-Fri", {"Europe/London", 8 * 60, 8 * 60 + 30, mon_fri, {}}},
        {"America/New_York 16:00-09:30 Mon-Tue", {"America/New_York", 16 * 60, 9 * 60 + 30, {1, 2}, {}}},
    };
    test::TempDir dir;
    auto store = Store::open(dir.path());
    const std::int64_t year_from = epoch_ns(2024, 1, 1), year_to = epoch_ns(2025, 1, 1);
    int accepted = 0, refused = 0;
    for (const std::int64_t base : {15 * kMin, 30 * kMin, kHour, 2 * kHour, 4 * kHour, 12 * kHour, kDay, kWeek}) {
        const SeriesKey key{"B" + std::to_string(base / kMin), Duration{base}};
        write(store, key, {{year_from / kWeek * kWeek, 1, 1, 1, 1, 1}}, 0, std::nullopt);
        for (const auto& c : cases) {
            CAPTURE(base);
            CAPTURE(c.spec);
            // The oracle: does any bar start of 2024 (a multiple of the base) fall in a session?
            // Daily and weekly bars are refused whatever the answer: their start is a date.
            bool fits = false;
            const reference::NaiveBinner naive(c.naive, kMin, true);
            for (std::int64_t t = (year_from + base - 1) / base * base; base < kDay && !fits && t < year_to; t += base)
                fits = naive.place(t).included;
            const Session session = barstore::parse_session(c.spec);
            const auto generation = store.info(key)->generation;
            if (fits) {
                ++accepted;
                CHECK_NOTHROW(store.set_session(key, session));
                CHECK(store.info(key)->session == session);
                store.set_session(key, Session{});
                continue;
            }
            ++refused;
            try {
                store.set_session(key, session);
                FAIL("accepted");
            } catch (const InvalidInput& e) {
                const std::string what = e.what();
                CAPTURE(what);
                CHECK(what.find(key.symbol + " " + barstore::format_timeframe(key.base) + ": session '" + c.spec + "'") !=
                      std::string::npos);
                CHECK(what.find(base >= kDay ? "00:00 UTC" : "no bar starts inside any of its sessions") != std::string::npos);
            }
            CHECK(store.info(key)->generation == generation);
            CHECK(store.info(key)->session == Session{});
            // A write carrying the session is refused too, and leaves nothing.
            const SeriesKey fresh{"N" + key.symbol, key.base};
            CHECK_THROWS_AS(write(store, fresh, {{year_from / kWeek * kWeek, 1, 1, 1, 1, 1}}, 0, session), InvalidInput);
            CHECK_FALSE(store.info(fresh));
        }
        // 24x7 fits every base.
        CHECK_NOTHROW(store.set_session(key, Session{}));
    }
    CHECK(accepted >= 20);
    CHECK(refused >= 16);
}

// ---- session bins against the oracle -----------------------------------------------------------------------

TEST_CASE("session bins of the real SPY file (stamps are bar ends) equal the oracle, us-equity and extended") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto text = reference::load_spy(test::spy_csv().string());
    REQUIRE(text.size() == 14180);
    const auto bars = reference::to_int(text, 2, 0);
    test::TempDir dir;
    auto store = Store::open(dir.path());
    for (const char* name : {"us-equity", "us-equity-extended"}) {
        const std::string preset = name;
        CAPTURE(preset);
        const SeriesKey key{"SPY-" + preset, 1min};
        const Session s = barstore::parse_session(name);
        write(store, key, bars, 2, s);
        REQUIRE(store.info(key)->session == s);
        check_against_oracle(rng, store, key, bars, s, reference::naive_preset(name), 25);
    }
    // Spot checks by hand: 2011-01-03 (EST). The file's `20110103 143100` closes the 09:30 bar,
    // so the first regular session of the year opens with it, at 14:30 UTC.
    const auto find = [&](std::int64_t ts) {
        return *std::find_if(bars.begin(), bars.end(), [&](const IntBar& b) { return b.ts == ts; });
    };
    QueryOptions q;
    q.timeframe = Duration{kDay};
    const auto days = barstore::query(store, SeriesKey{"SPY-us-equity", 1min}, q);
    REQUIRE(!days.empty());
    CHECK(reference::iso(days.ts[0]) == "2011-01-03T14:30:00Z");
    CHECK(days.open[0] == find(epoch_ns(2011, 1, 3, 14, 30)).open);
    CHECK(days.close[0] == find(epoch_ns(2011, 1, 3, 20, 59)).close);
    const auto ext = barstore::query(store, SeriesKey{"SPY-us-equity-extended", 1min}, q);
    REQUIRE(!ext.empty());
    CHECK(ext.ts[0] == epoch_ns(2011, 1, 3, 9));  // 04:00 EST
    CHECK(days.size() == ext.size());
    q.timeframe = Duration{kHour};
    const auto hours = barstore::query(store, SeriesKey{"SPY-us-equity", 1min}, q);
    CHECK(reference::iso(hours.ts[0]) == "2011-01-03T14:30:00Z");
    CHECK(reference::iso(hours.ts[6]) == "2011-01-03T20:30:00Z");  // 15:30-16:00, truncated
    CHECK(reference::iso(hours.ts[7]) == "2011-01-04T14:30:00Z");
}

TEST_CASE("the real BTC file (24x7): utc and session alignment equal the oracle across midnight, weekends, month end") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto text = reference::load_btc(test::btc_csv().string());
    REQUIRE(text.size() == 45031);
    const auto bars = reference::to_int(text, 3, 8);  // volumes at 8 decimals fit int64 (see test_aggregate)
    test::TempDir dir;
    auto store = Store::open(dir.path());
    const SeriesKey key{"BTC", 1min};
    write(store, key, bars, 3, std::nullopt);
    const Session s = barstore::parse_session("24x7");
    CHECK(store.info(key)->session.is_24x7());
    check_against_oracle(rng, store, key, bars, s, reference::naive_preset("24x7"), 15);
    // The 24x7 session aligns like UTC, and the default alignment of a 24x7 series is utc.
    for (const std::int64_t tf : kIssueTfs) {
        const auto utc = barstore::resample(cols(bars), 1min, Duration{tf}, Alignment::utc, s);
        CHECK(barstore::resample(cols(bars), 1min, Duration{tf}, Alignment::session, s) == utc);
        QueryOptions q;
        q.timeframe = Duration{tf};
        CHECK(barstore::query(store, key, q) == utc);
    }
    // Weeks start on Monday: 2022-01-03, 2022-01-10, ..., 2022-01-31; the first holds 2021-12-31.
    const auto weeks = barstore::resample(cols(bars), 1min, Duration{kWeek}, Alignment::session, s);
    REQUIRE(weeks.size() == 6);
    CHECK(reference::iso(weeks.ts[0]) == "2021-12-27T00:00:00Z");
    CHECK(reference::iso(weeks.ts[5]) == "2022-01-31T00:00:00Z");
}

TEST_CASE("generated weeks around both 2024 US DST changes: New York and Chicago session bins equal the oracle") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    test::TempDir dir;
    auto store = Store::open(dir.path());
    // 1-minute bars around the clock, weekends included, a few minutes missing: Monday 2024-03-04
    // to Monday 2024-03-18 (the change is Sunday 03-10) and 2024-10-28 to 2024-11-11 (Sunday 11-03).
    struct Period {
        const char* name;
        std::int64_t from, to;
    };
    for (const Period p : {Period{"march", epoch_ns(2024, 3, 3), epoch_ns(2024, 3, 18, 6)},
                           Period{"november", epoch_ns(2024, 10, 27), epoch_ns(2024, 11, 11, 6)}}) {
        const std::string period = p.name;
        CAPTURE(period);
        const auto bars = minute_bars(rng, p.from, p.to, 3);
        for (const char* name : {"us-equity", "us-equity-extended", "cme-globex"}) {
            const std::string preset = name;
            CAPTURE(preset);
            const SeriesKey key{period + "-" + preset, 1min};
            const Session s = barstore::parse_session(name);
            write(store, key, bars, 2, s);
            check_against_oracle(rng, store, key, bars, s, reference::naive_preset(name), 8);
        }
    }
}

TEST_CASE("custom sessions with holidays, weekday lists and overnight hours equal the oracle") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    test::TempDir dir;
    auto store = Store::open(dir.path());
    // Europe changes on 2024-03-31; the US on 03-10: three weeks cover both.
    const auto bars = minute_bars(rng, epoch_ns(2024, 3, 6), epoch_ns(2024, 4, 3), 5);
    struct Case {
        const char* spec;
        NaiveSession naive;
    };
    const Case cases[] = {
        {"Europe/London 08:00-16:30 Mon,Wed,Fri holidays=2024-03-29", {"Europe/London", 480, 990, {1, 3, 5}, {day_of(2024, 3, 29)}}},
        {"America/Chicago 17:00-16:00 Sun-Fri holidays=2024-03-12,2024-03-25",
         {"America/Chicago", 1020, 960, {0, 1, 2, 3, 4, 5}, {day_of(2024, 3, 12), day_of(2024, 3, 25)}}},
        {"Australia/Sydney 22:00-06:00 Mon-Fri", {"Australia/Sydney", 1320, 360, {1, 2, 3, 4, 5}, {}}},
        {"Asia/Tokyo 09:00-15:00 Sat-Mon", {"Asia/Tokyo", 540, 900, {6, 0, 1}, {}}},
        {"Europe/Berlin 00:00-00:00 Mon-Fri", {"Europe/Berlin", 0, 0, {1, 2, 3, 4, 5}, {}}},
        {"America/New_York 18:00-24:00 Mon-Fri", {"America/New_York", 1080, 1440, {1, 2, 3, 4, 5}, {}}},
    };
    for (const auto& c : cases) {
        const std::string spec = c.spec;
        CAPTURE(spec);
        const SeriesKey key{spec.substr(0, 20), 1min};
        const Session s = barstore::parse_session(c.spec);
        write(store, key, bars, 2, s);
        check_against_oracle(rng, store, key, bars, s, c.naive, 4);
    }
}

TEST_CASE("session alignment accepts tf < 1d, 1d and 1w only; set_session changes the bins and the generation") {
    std::mt19937_64 rng(7);
    const auto bars = minute_bars(rng, epoch_ns(2024, 3, 4), epoch_ns(2024, 3, 9), 0);
    const Session us = barstore::parse_session("us-equity");
    for (const auto tf : {2 * kDay, 2 * kWeek, 25 * kHour, 3 * kDay}) {
        CAPTURE(tf);
        CHECK_THROWS_AS(barstore::resample(cols(bars), 1min, Duration{tf}, Alignment::session, us), InvalidInput);
        CHECK_NOTHROW(barstore::resample(cols(bars), 1min, Duration{tf}, Alignment::utc, us));
    }
    test::TempDir dir;
    auto store = Store::open(dir.path());
    const SeriesKey key{"S", 1min};
    write(store, key, bars, 2, std::nullopt);
    QueryOptions q;
    q.timeframe = Duration{kDay};
    const auto utc_days = barstore::query(store, key, q);
    CHECK(utc_days.ts[0] == epoch_ns(2024, 3, 4));
    const auto gen = store.info(key)->generation;
    store.set_session(key, us);
    CHECK(store.info(key)->generation != gen);
    CHECK(store.info(key)->session == us);
    const auto session_days = barstore::query(store, key, q);
    REQUIRE(session_days.size() == 5);
    CHECK(session_days.ts[0] == epoch_ns(2024, 3, 4, 14, 30));
    q.align = Alignment::utc;
    CHECK(barstore::query(store, key, q) == utc_days);
    q.align = Alignment::session;
    q.timeframe = Duration{2 * kDay};
    CHECK_THROWS_AS(barstore::query(store, key, q), InvalidInput);
    Session bad;
    bad.zone = "Nowhere/Land";
    CHECK_THROWS_AS(store.set_session(key, bad), InvalidInput);
    CHECK_THROWS_AS(store.set_session(SeriesKey{"NOPE", 1min}, us), barstore::NotFound);
}

TEST_CASE("a week of sessions holds only its sessions' bars, whatever the read window and chunking") {
    // Bars around the clock Monday 2024-03-04 .. Sunday 03-10; us-equity keeps 09:30-16:00 EST.
    std::mt19937_64 rng(11);
    const auto bars = minute_bars(rng, epoch_ns(2024, 3, 4), epoch_ns(2024, 3, 11), 0);
    std::vector<IntBar> inside;
    for (const auto& b : bars) {
        const std::int64_t tod = (b.ts - 5 * kHour) % kDay;  // EST all week
        const std::int64_t day = (b.ts - 5 * kHour) / kDay;
        if (reference::weekday_of(day) >= 1 && reference::weekday_of(day) <= 5 && tod >= 570 * kMin && tod < 960 * kMin)
            inside.push_back(b);
    }
    REQUIRE(inside.size() == 5 * 390);
    IntBar week = inside.front();
    for (const auto& b : inside) {
        week.high = std::max(week.high, b.high);
        week.low = std::min(week.low, b.low);
        week.volume += b.volume;
    }
    week.volume -= inside.front().volume;
    week.close = inside.back().close;
    week.ts = epoch_ns(2024, 3, 4, 14, 30);
    const Session us = barstore::parse_session("us-equity");
    CHECK(diff(barstore::resample(cols(bars), 1min, Duration{kWeek}, Alignment::session, us), {week}) == "");
    test::TempDir dir;
    auto store = Store::open(dir.path());
    const SeriesKey key{"W", 1min};
    write(store, key, bars, 2, us);  // 10080 bars: three chunks
    QueryOptions q;
    q.timeframe = Duration{kWeek};
    CHECK(diff(barstore::query(store, key, q), {week}) == "");
    // `to` just after the week's label, inside a session, in the gap between two sessions and on
    // the weekend: the week starts before it, so it is returned whole.
    for (const std::int64_t to : {epoch_ns(2024, 3, 4, 14, 31), epoch_ns(2024, 3, 5, 18), epoch_ns(2024, 3, 6, 3),
                                  epoch_ns(2024, 3, 9, 12), epoch_ns(2024, 3, 8, 21)}) {
        CAPTURE(reference::iso(to));
        q.to = at(to);
        CHECK(diff(barstore::query(store, key, q), {week}) == "");
        q.last = 1;
        CHECK(diff(barstore::query(store, key, q), {week}) == "");
        q.last.reset();
    }
    q.to = at(epoch_ns(2024, 3, 4, 14, 30));
    CHECK(barstore::query(store, key, q).empty());
    // As of Friday's close it has ended; a minute before, it is forming and holds Friday's bars so far.
    q.to.reset();
    q.as_of = at(epoch_ns(2024, 3, 8, 21));
    CHECK(diff(barstore::query(store, key, q), {week}) == "");
    q.as_of = at(epoch_ns(2024, 3, 8, 20, 59));
    CHECK(barstore::query(store, key, q).empty());
    q.include_forming = true;
    const auto forming = barstore::query(store, key, q);
    REQUIRE(forming.size() == 1);
    CHECK(forming.volume[0] == week.volume - inside.back().volume);
    // docs/time.md's 4-minute example: 09:30, 09:34, ..., 15:58-16:00 (two bars), never 09:28.
    const auto four = barstore::resample(cols(inside), 1min, 4min, Alignment::session, us);
    REQUIRE(four.size() == 5 * 98);
    CHECK(reference::iso(four.ts[0]) == "2024-03-04T14:30:00Z");
    CHECK(reference::iso(four.ts[97]) == "2024-03-04T20:58:00Z");
    CHECK(four.volume[97] == inside[388].volume + inside[389].volume);
    CHECK(reference::iso(barstore::resample(cols(inside), 1min, 4min).ts[0]) == "2024-03-04T14:28:00Z");
}

// ---- no look-ahead -----------------------------------------------------------------------------------------

namespace {

/// DDHHMM of a UTC instant on the clock of `tz` (day of the month, local hour and minute).
std::int64_t ddhhmm(const date::time_zone* tz, std::int64_t t) {
    const std::int64_t local = reference::local_ns(tz, t);
    const std::int64_t day = reference::floor_div(local, kDay);
    const std::int64_t minute = (local - day * kDay) / kMin;
    return reference::civil_from_days(day).d * 10000 + minute / 60 * 100 + minute % 60;
}

/// Bars for every minute in [from, to) that encode their own minute on the clock of `tz`:
/// open = low = DDHHMM.00 and close = high = DDHHMM.99 (2 decimals), volume 1.
std::vector<IntBar> clock_bars(const date::time_zone* tz, std::int64_t from, std::int64_t to) {
    std::vector<IntBar> out;
    for (std::int64_t t = from; t < to; t += kMin) {
        const std::int64_t e = ddhhmm(tz, t);
        out.push_back({t, e * 100, e * 100 + 99, e * 100, e * 100 + 99, 1});
    }
    return out;
}

}  // namespace

TEST_CASE("no look-ahead: as of every minute of a day, no timeframe returns a value from that minute or later") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    test::TempDir dir;
    auto store = Store::open(dir.path());
    // Each fixture: two stretches of 1-minute bars (a Friday close, then the days around the swept
    // one), under 4096 bars so that a query decodes one chunk; and the swept local day.
    struct Fixture {
        const char* name;
        const char* session;
        std::int64_t from1, to1, from2, to2;  // bars (UTC)
        std::int64_t sweep_from, sweep_to;    // as-of minutes, both ends included: one local day
    };
    const Fixture fixtures[] = {
        // Sunday UTC, then Monday 00:00 (a week end); the first stretch crosses Saturday 00:00.
        {"utc", "24x7", epoch_ns(2024, 3, 8, 22), epoch_ns(2024, 3, 9, 1), epoch_ns(2024, 3, 9, 22),
         epoch_ns(2024, 3, 11, 1), epoch_ns(2024, 3, 10), epoch_ns(2024, 3, 11)},
        // Monday 2024-03-11 in New York, the first session after the change (09:30 EDT = 13:30Z);
        // the Friday before closed at 16:00 EST = 21:00Z (extended: 20:00 EST = 01:00Z).
        {"ny", "us-equity", epoch_ns(2024, 3, 8, 19), epoch_ns(2024, 3, 8, 23), epoch_ns(2024, 3, 11, 2),
         epoch_ns(2024, 3, 12, 5), epoch_ns(2024, 3, 11, 4), epoch_ns(2024, 3, 12, 4)},
        {"nyx", "us-equity-extended", epoch_ns(2024, 3, 8, 23), epoch_ns(2024, 3, 9, 3), epoch_ns(2024, 3, 11, 2),
         epoch_ns(2024, 3, 12, 5), epoch_ns(2024, 3, 11, 4), epoch_ns(2024, 3, 12, 4)},
        // Sunday 2024-03-10 in Chicago: 23 hours (02:00 CST jumps to 03:00 CDT), session opens 17:00;
        // the Friday before closed at 16:00 CST = 22:00Z.
        {"cme-spring", "cme-globex", epoch_ns(2024, 3, 8, 20), epoch_ns(2024, 3, 8, 23, 30), epoch_ns(2024, 3, 10, 4),
         epoch_ns(2024, 3, 11, 6), epoch_ns(2024, 3, 10, 6), epoch_ns(2024, 3, 11, 5)},
        // Sunday 2024-11-03 in Chicago: 25 hours (01:00-02:00 twice), session opens 17:00 CST.
        {"cme-fall", "cme-globex", epoch_ns(2024, 11, 1, 19), epoch_ns(2024, 11, 1, 22, 30), epoch_ns(2024, 11, 3, 3),
         epoch_ns(2024, 11, 4, 7), epoch_ns(2024, 11, 3, 5), epoch_ns(2024, 11, 4, 6)},
        // Tuesday 2024-03-12 in Chicago: the 16:00 close and the 17:00 open (Monday's close too).
        {"cme-tue", "cme-globex", epoch_ns(2024, 3, 8, 20), epoch_ns(2024, 3, 8, 23), epoch_ns(2024, 3, 11, 20),
         epoch_ns(2024, 3, 13, 6), epoch_ns(2024, 3, 12, 5), epoch_ns(2024, 3, 13, 5)},
    };
    std::vector<std::int64_t> tfs{kMin};
    tfs.insert(tfs.end(), std::begin(kIssueTfs), std::end(kIssueTfs));
    std::size_t queries = 0, returned = 0;
    for (const auto& f : fixtures) {
        const std::string fixture = f.name;
        CAPTURE(fixture);
        const Session s = barstore::parse_session(f.session);
        const auto* tz = date::locate_zone(s.zone);
        const auto* utc = date::locate_zone("UTC");
        // Session bins are checked on the session's clock, UTC bins on the UTC clock: each
        // encoding is monotonic where it is read (the repeated November hour is outside every
        // cme-globex session).
        const SeriesKey local_key{fixture + "-local", 1min}, utc_key{fixture + "-utc", 1min};
        auto local_bars = clock_bars(tz, f.from1, f.to1), utc_bars = clock_bars(utc, f.from1, f.to1);
        for (const auto& b : clock_bars(tz, f.from2, f.to2)) local_bars.push_back(b);
        for (const auto& b : clock_bars(utc, f.from2, f.to2)) utc_bars.push_back(b);
        REQUIRE(local_bars.size() < 4096);
        write(store, local_key, local_bars, 2, s);
        write(store, utc_key, utc_bars, 2, s);
        for (const std::int64_t tf : tfs) {
            const std::string tf_text = barstore::format_timeframe(Duration{tf});
            CAPTURE(tf_text);
            for (const bool session : {true, false}) {
                // UTC bins do not depend on the session: three fixtures are enough for them.
                if (!session && fixture != "utc" && fixture != "ny" && fixture != "cme-fall") continue;
                CAPTURE(session);
                const auto& key = session ? local_key : utc_key;
                const auto& bars = session ? local_bars : utc_bars;
                const auto* clock = session ? tz : utc;
                const reference::NaiveBinner binner(reference::naive_preset(f.session), tf, session);
                const auto where = reference::place_all(bars, binner);
                for (std::int64_t as_of = f.sweep_from; as_of <= f.sweep_to; as_of += kMin) {
                    // Now and then between minutes: the bar of the current minute has not ended.
                    const std::int64_t t = rng() % 8 == 0 ? as_of + static_cast<std::int64_t>(rng() % kMin) : as_of;
                    const std::int64_t limit = ddhhmm(clock, t - t % kMin);
                    for (const bool forming : {false, true}) {
                        NaiveQuery q;
                        q.timeframe = tf;
                        q.as_of = t;
                        q.include_forming = forming;
                        if (rng() % 4 == 0) q.last = 1 + rng() % 3;  // the read-backwards path too
                        const auto got = barstore::query(store, key, to_options(q, session ? Alignment::session : Alignment::utc));
                        ++queries;
                        returned += got.size();
                        bool clean = true;
                        for (std::size_t i = 0; i < got.size(); ++i) {
                            clean &= got.open[i] % 100 == 0 && got.low[i] % 100 == 0 && got.open[i] / 100 < limit &&
                                     got.low[i] / 100 < limit;
                            clean &= got.close[i] % 100 == 99 && got.high[i] % 100 == 99 && got.close[i] / 100 < limit &&
                                     got.high[i] / 100 < limit;
                            clean &= got.ts[i] < t;
                        }
                        if (!clean) {
                            const std::string text = describe(q) + " limit " + std::to_string(limit);
                            CAPTURE(text);
                            FAIL_CHECK("a value from at or after the as-of minute");
                            for (std::size_t i = 0; i < got.size(); ++i) MESSAGE(show_iso(got, i));
                        }
                        // Not only clean but right: the oracle over the bars that had ended. A
                        // sample of the queries keeps this fast.
                        if (rng() % 16 == 0) {
                            const std::string text = describe(q);
                            CAPTURE(text);
                            CHECK(diff(got, reference::query_session(bars, where, kMin, q)) == "");
                        }
                    }
                }
            }
        }
    }
    CHECK(returned > queries);  // the sweep did look at values
}

TEST_CASE("a stored bar stamped at T is still forming at T: not returned as of T, returned as of T + base") {
    test::TempDir dir;
    auto store = Store::open(dir.path());
    for (const char* name : {"24x7", "us-equity", "cme-globex"}) {
        const std::string preset = name;
        CAPTURE(preset);
        const Session s = barstore::parse_session(name);
        // One bar at T = Monday 2024-03-11 14:00 UTC (inside all three sessions), base 1m and 1h.
        const std::int64_t t = epoch_ns(2024, 3, 11, 14);
        for (const std::int64_t base : {kMin, kHour}) {
            CAPTURE(base);
            const SeriesKey key{preset + std::to_string(base / kMin), Duration{base}};
            write(store, key, {{t, 100, 101, 99, 100, 5}}, 2, s);
            for (const auto align : {Alignment::utc, Alignment::session}) {
                for (const std::int64_t tf : {base, kDay}) {
                    CAPTURE(tf);
                    for (const bool forming : {false, true}) {
                        QueryOptions q;
                        q.timeframe = Duration{tf};
                        q.align = align;
                        q.include_forming = forming;
                        q.as_of = at(t);
                        CHECK(barstore::query(store, key, q).empty());
                        q.as_of = at(t + base - 1);
                        CHECK(barstore::query(store, key, q).empty());
                        q.last = 5;
                        CHECK(barstore::query(store, key, q).empty());
                        q.last.reset();
                        q.as_of = at(t + base);
                        // Ended: the bar alone when tf == base; inside a forming day otherwise.
                        CHECK(barstore::query(store, key, q).size() == (tf == base || forming ? 1u : 0u));
                    }
                }
            }
        }
    }
}
