// tests/test_chart.cpp: the pure parts of `barstore chart` (cli/chart_layout, cli/svg): nice axis
// steps and tick labels against values worked out by hand, time label levels and placement on
// hand-made bars, no two labels closer than asked on random bars (seed printed), SVG escaping.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "chart_layout.hpp"
#include "support/util.hpp"
#include "svg.hpp"

namespace {

using namespace barstore::cli;
using chart::Level;
using i64 = std::int64_t;

/// Local seconds of a wall-clock time: the zone is already applied, so this is plain civil time.
i64 local(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
    using namespace std::chrono;
    const sys_days date{year{y} / month{mo} / day{d}};
    return date.time_since_epoch().count() * 86400 + h * 3600 + mi * 60 + s;
}

std::vector<i64> hourly_session(std::vector<std::pair<int, unsigned>> dates_jan2011) {
    std::vector<i64> out;
    for (auto [y, d] : dates_jan2011)
        for (int h = 9; h <= 15; ++h) out.push_back(local(y, 1, d, h, 30));
    return out;
}

}  // namespace

TEST_CASE("nice_step: the smallest of 1, 2, 2.5, 5 x 10^k at least span / intervals") {
    CHECK(chart::nice_step(61, 6) == 20);           // 10.17 -> 20 (25 is larger)
    CHECK(chart::nice_step(60, 6) == 10);           // exactly 10
    CHECK(chart::nice_step(100, 4) == 25);          // 25 = 2.5 x 10
    CHECK(chart::nice_step(130, 4) == 50);          // 32.5 -> 50
    CHECK(chart::nice_step(7, 2) == 5);             // 3.5 -> 5
    CHECK(chart::nice_step(2.4, 1) == 5);           // 2.5 units is not a price: 5
    CHECK(chart::nice_step(5, 6) == 1);             // never below one unit
    CHECK(chart::nice_step(0, 6) == 1);
    CHECK(chart::nice_step(1e6, 5) == 200000);      // exactly 2 x 10^5
    CHECK(chart::nice_step(2.1e5, 5) == 50000);     // 42000 -> 50000
    CHECK(chart::nice_step(1.1e5, 5) == 25000);     // 22000 -> 25000
    CHECK(chart::nice_step(1.8e19, 1) == 5'000'000'000'000'000'000);  // the largest step there is
}

TEST_CASE("nice_axis: ends rounded out to the step, one step either side of a flat range") {
    auto a = chart::nice_axis(12903, 12964, 6);  // 129.03 .. 129.64 at 2 decimals
    CHECK(a.step == 20);
    CHECK(a.min == 12900);
    CHECK(a.max == 12980);
    CHECK(a.ticks() == std::vector<i64>{12900, 12920, 12940, 12960, 12980});

    a = chart::nice_axis(-130, 45, 6);  // 175 / 6 = 29.2 -> 50
    CHECK(a.step == 50);
    CHECK(a.min == -150);
    CHECK(a.max == 50);

    a = chart::nice_axis(12900, 12900, 6);
    CHECK(a.ticks() == std::vector<i64>{12899, 12900, 12901});
    a = chart::nice_axis(0, 0, 2);
    CHECK(a.ticks() == std::vector<i64>{-1, 0, 1});

    a = chart::nice_axis(0, 37'000'000, 2);  // a volume panel: 18.5M -> 20M
    CHECK(a.ticks() == std::vector<i64>{0, 20'000'000, 40'000'000});

    // At the int64 limits the axis is clamped to multiples of the step that fit: no overflow.
    constexpr i64 lo = std::numeric_limits<i64>::min(), hi = std::numeric_limits<i64>::max();
    a = chart::nice_axis(lo, hi, 6);
    CHECK(a.step == 5'000'000'000'000'000'000);
    CHECK(a.ticks() == std::vector<i64>{-5'000'000'000'000'000'000, 0, 5'000'000'000'000'000'000});
}

TEST_CASE("format_tick: as many decimals as the step needs, the same for every tick") {
    CHECK(chart::format_tick(12900, 2, 20) == "129.0");
    CHECK(chart::format_tick(12920, 2, 20) == "129.2");
    CHECK(chart::format_tick(12925, 2, 25) == "129.25");
    CHECK(chart::format_tick(12900, 2, 25) == "129.00");
    CHECK(chart::format_tick(12900, 2, 100) == "129");
    CHECK(chart::format_tick(-150, 2, 50) == "-1.5");
    CHECK(chart::format_tick(5, 2, 1) == "0.05");
    CHECK(chart::format_tick(-5, 2, 5) == "-0.05");
    CHECK(chart::format_tick(0, 2, 5) == "0.00");
    CHECK(chart::format_tick(0, 0, 1) == "0");
    CHECK(chart::format_tick(5'000'000'000, 0, 1000) == "5000000000");
    CHECK(chart::format_tick(372'025'000'000'000, 9, 5'000'000'000) == "372025");   // DBN's 1e-9 prices
    CHECK(chart::format_tick(372'025'500'000'000, 9, 500'000'000) == "372025.5");
    CHECK(chart::format_tick(std::numeric_limits<i64>::min(), 0, 1) == "-9223372036854775808");
    CHECK(chart::format_tick(std::numeric_limits<i64>::min(), 18, 1) == "-9.223372036854775808");
}

TEST_CASE("format_compact: three significant digits and a suffix") {
    CHECK(chart::format_compact(0) == "0");
    CHECK(chart::format_compact(0.5) == "0.5");
    CHECK(chart::format_compact(950) == "950");
    CHECK(chart::format_compact(12500) == "12.5k");
    CHECK(chart::format_compact(3e6) == "3M");
    CHECK(chart::format_compact(1234567) == "1.23M");
    CHECK(chart::format_compact(999999) == "1M");  // not "1e+03k"
    CHECK(chart::format_compact(2e9) == "2B");
}

TEST_CASE("boundary_level: the coarsest local boundary between two bars") {
    CHECK(chart::boundary_level(local(2011, 1, 18, 9, 30), local(2011, 1, 18, 9, 30)) == Level::none);
    CHECK(chart::boundary_level(local(2011, 1, 18, 9, 30), local(2011, 1, 18, 9, 30, 5)) == Level::second5);
    CHECK(chart::boundary_level(local(2011, 1, 18, 9, 30), local(2011, 1, 18, 9, 31)) == Level::minute);
    CHECK(chart::boundary_level(local(2011, 1, 18, 9, 44), local(2011, 1, 18, 9, 45)) == Level::minute15);
    CHECK(chart::boundary_level(local(2011, 1, 18, 9, 59), local(2011, 1, 18, 10, 0)) == Level::hour);
    CHECK(chart::boundary_level(local(2011, 1, 18, 9, 30), local(2011, 1, 18, 10, 30)) == Level::hour);
    CHECK(chart::boundary_level(local(2011, 1, 18, 14, 30), local(2011, 1, 18, 15, 30)) == Level::hour3);
    CHECK(chart::boundary_level(local(2011, 1, 18, 17, 0), local(2011, 1, 18, 18, 0)) == Level::hour6);
    CHECK(chart::boundary_level(local(2011, 1, 18, 11, 30), local(2011, 1, 18, 12, 30)) == Level::hour12);
    CHECK(chart::boundary_level(local(2011, 1, 17, 15, 59), local(2011, 1, 18, 9, 30)) == Level::day);  // Mon -> Tue
    CHECK(chart::boundary_level(local(2011, 1, 14, 15, 59), local(2011, 1, 18, 9, 30)) == Level::week);  // Fri -> Tue
    CHECK(chart::boundary_level(local(2011, 1, 16), local(2011, 1, 17)) == Level::week);  // Sun -> Mon
    CHECK(chart::boundary_level(local(2011, 1, 31), local(2011, 2, 1)) == Level::month);
    CHECK(chart::boundary_level(local(2010, 12, 31), local(2011, 1, 3)) == Level::year);
    CHECK(chart::boundary_level(local(1969, 12, 31, 23), local(1970, 1, 1)) == Level::year);  // before the epoch
}

TEST_CASE("label_text and format_local") {
    const i64 t = local(2011, 1, 18, 9, 30, 5);
    CHECK(chart::label_text(t, Level::year) == "2011");
    CHECK(chart::label_text(t, Level::month) == "Jan");
    CHECK(chart::label_text(t, Level::week) == "Jan 18");
    CHECK(chart::label_text(t, Level::day) == "Jan 18");
    CHECK(chart::label_text(t, Level::hour) == "09:30");
    CHECK(chart::label_text(t, Level::second5) == "09:30:05");
    CHECK(chart::format_local(t) == "2011-01-18 09:30:05");
    CHECK(chart::format_local(local(2011, 1, 18, 9, 30)) == "2011-01-18 09:30");
    CHECK(chart::format_local(local(1969, 12, 31, 23, 59)) == "1969-12-31 23:59");
}

TEST_CASE("time_labels: every bar when there is room, days alone when there is not") {
    const auto bars = hourly_session({{2011, 18}, {2011, 19}});  // Tue, Wed 09:30 .. 15:30
    auto labels = chart::time_labels(bars, 100, 64);              // 1400 px: room for 21
    REQUIRE(labels.size() == 14);
    const char* want[] = {"Jan 18", "10:30", "11:30", "12:30", "13:30", "14:30", "15:30",
                          "Jan 19", "10:30", "11:30", "12:30", "13:30", "14:30", "15:30"};
    for (std::size_t i = 0; i < 14; ++i) {
        CHECK(labels[i].index == i);
        CHECK(labels[i].text == want[i]);
    }
    // 280 px: room for 4. Levels at or above 6h: the first bar, 12:30 twice, Jan 19 -> 4 fit.
    // Days first: 0 and 7; each 12:30 is 3 slots (60 px < 64) from a day label and is dropped.
    labels = chart::time_labels(bars, 20, 64);
    REQUIRE(labels.size() == 2);
    CHECK(labels[0].index == 0);
    CHECK(labels[0].text == "Jan 18");
    CHECK(labels[1].index == 7);
    CHECK(labels[1].text == "Jan 19");

    CHECK(chart::time_labels(std::vector<i64>{}, 10, 64).empty());
    labels = chart::time_labels(std::vector<i64>{local(2011, 1, 18, 9, 30)}, 1000, 64);
    REQUIRE(labels.size() == 1);
    CHECK(labels[0].text == "Jan 18");

    // Daily bars of one month with room for a label a week: Mondays (first trading day of a week).
    std::vector<i64> days;
    for (unsigned d = 3; d <= 31; ++d)
        if ((d + 4) % 7 < 5) days.push_back(local(2011, 1, d));  // 2011-01-03 is a Monday: Mon..Fri
    labels = chart::time_labels(days, 30, 64);  // 21 bars x 30 px: room for 9, 5 weeks
    REQUIRE(labels.size() == 5);
    const char* mondays[] = {"Jan 3", "Jan 10", "Jan 17", "Jan 24", "Jan 31"};
    for (std::size_t i = 0; i < 5; ++i) CHECK(labels[i].text == mondays[i]);
}

TEST_CASE("time_labels: no two labels closer than asked, in order, on random bars") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 200; ++round) {
        std::vector<i64> t;
        i64 now = local(2011, 1, 3) + static_cast<i64>(rng() % 86400);
        const std::size_t n = 1 + rng() % 400;
        for (std::size_t i = 0; i < n; ++i) {
            now += 1 + static_cast<i64>(rng() % (rng() % 4 == 0 ? 300000 : 3600));
            t.push_back(now);
        }
        const double slot = 0.1 + static_cast<double>(rng() % 400) / 10, gap = 20 + static_cast<double>(rng() % 100);
        const auto labels = chart::time_labels(t, slot, gap);
        REQUIRE(!labels.empty());
        for (std::size_t i = 1; i < labels.size(); ++i) {
            CHECK(labels[i].index > labels[i - 1].index);
            CHECK(static_cast<double>(labels[i].index - labels[i - 1].index) * slot >= gap);
        }
    }
}

TEST_CASE("svg: text and attributes are escaped, numbers short and never -0") {
    CHECK(svg::escape("a<b & \"c\" 'd'>") == "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
    CHECK(svg::num(1.234) == "1.23");
    CHECK(svg::num(2.0) == "2");
    CHECK(svg::num(10.5) == "10.5");
    CHECK(svg::num(-0.001) == "0");
    CHECK(svg::num(1e6) == "1000000");
    svg::Writer w(100, 50);
    w.text_element("text", {{"x", svg::num(1)}, {"data-s", "\"><script>"}}, "</text><b>&");
    const auto doc = w.finish();
    CHECK(doc.find("<text x=\"1\" data-s=\"&quot;&gt;&lt;script&gt;\">&lt;/text&gt;&lt;b&gt;&amp;</text>") !=
          std::string::npos);
    CHECK(doc.find("<script>") == std::string::npos);
    CHECK(doc.substr(doc.size() - 7) == "</svg>\n");
}
