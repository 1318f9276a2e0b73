// tests/test_aggregate.cpp: resample and query against the naive map-based oracle
// (tests/reference/naive_resample.hpp), on both real CSV files (loaded by the test's own naive
// loader, not barstore's ingest) and on generated series; plus the no-look-ahead property.
#include <doctest/doctest.h>

#include <algorithm>
#include <climits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "barstore/error.hpp"
#include "barstore/query.hpp"
#include "barstore/store.hpp"
#include "reference/naive_bars.hpp"
#include "reference/naive_resample.hpp"
#include "test_util.hpp"

using barstore::BarColumns;
using barstore::Duration;
using barstore::InvalidInput;
using barstore::QueryOptions;
using barstore::SeriesBatch;
using barstore::SeriesKey;
using barstore::Store;
using barstore::Timestamp;
using reference::IntBar;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kSec = 1'000'000'000, kMin = 60 * kSec, kHour = 60 * kMin, kDay = 24 * kHour;

BarColumns cols(const std::vector<IntBar>& bars) {
    BarColumns c;
    for (const auto& b : bars) {
        c.ts.push_back(b.ts);
        c.open.push_back(b.open);
        c.high.push_back(b.high);
        c.low.push_back(b.low);
        c.close.push_back(b.close);
        c.volume.push_back(b.volume);
    }
    return c;
}

std::string show(const BarColumns& c, std::size_t i) {
    return std::to_string(c.ts[i]) + "," + std::to_string(c.open[i]) + "," + std::to_string(c.high[i]) + "," +
           std::to_string(c.low[i]) + "," + std::to_string(c.close[i]) + "," + std::to_string(c.volume[i]);
}

/// "" when equal, else the first differing bin.
std::string diff(const BarColumns& got, const std::vector<IntBar>& want_bars) {
    const auto want = cols(want_bars);
    for (std::size_t i = 0; i < std::min(got.size(), want.size()); ++i)
        if (!(got.row(i) == want.row(i))) return "bin " + std::to_string(i) + ": " + show(got, i) + " vs " + show(want, i);
    if (got.size() != want.size()) return "sizes " + std::to_string(got.size()) + " vs " + std::to_string(want.size());
    return "";
}

/// Consistent bars at `base` with random gaps (sometimes long), from `start`.
std::vector<IntBar> make_bars(std::mt19937_64& rng, std::size_t n, std::int64_t start, std::int64_t base,
                              bool long_gaps = true) {
    std::vector<IntBar> out;
    std::int64_t t = start, px = 50000 + static_cast<std::int64_t>(rng() % 1000);
    for (std::size_t i = 0; i < n; ++i) {
        const std::int64_t open = px + static_cast<std::int64_t>(rng() % 7) - 3;
        const std::int64_t close = open + static_cast<std::int64_t>(rng() % 41) - 20;
        const std::int64_t high = std::max(open, close) + static_cast<std::int64_t>(rng() % 9);
        const std::int64_t low = std::min(open, close) - static_cast<std::int64_t>(rng() % 9);
        out.push_back({t, open, high, low, close, static_cast<std::int64_t>(rng() % 1000000)});
        px = close;
        const auto k = rng() % 100;
        t += base * (k < 70 ? 1 : k < 97 || !long_gaps ? 2 + static_cast<std::int64_t>(rng() % 10) : 100 + static_cast<std::int64_t>(rng() % 3000));
    }
    return out;
}

QueryOptions to_options(const reference::NaiveQuery& q) {
    QueryOptions o;
    if (q.timeframe) o.timeframe = Duration{*q.timeframe};
    if (q.from) o.from = Timestamp{Duration{*q.from}};
    if (q.to) o.to = Timestamp{Duration{*q.to}};
    if (q.as_of) o.as_of = Timestamp{Duration{*q.as_of}};
    o.last = q.last;
    o.include_forming = q.include_forming;
    return o;
}

std::string describe(const reference::NaiveQuery& q) {
    auto opt = [](const auto& v) { return v ? std::to_string(*v) : std::string("-"); };
    return "tf=" + opt(q.timeframe) + " from=" + opt(q.from) + " to=" + opt(q.to) + " as_of=" + opt(q.as_of) +
           " last=" + opt(q.last) + " forming=" + std::to_string(q.include_forming);
}

/// A random query over data in [lo, hi]: each option present or not, times on and off the grid.
reference::NaiveQuery random_query(std::mt19937_64& rng, std::int64_t lo, std::int64_t hi, std::int64_t base) {
    const std::int64_t tfs[] = {base, 5 * base, 15 * base, 60 * base, 240 * base, 1440 * base, 7 * base, 90 * base};
    reference::NaiveQuery q;
    if (rng() % 5) q.timeframe = tfs[rng() % std::size(tfs)];
    auto when = [&] {
        std::int64_t t = lo - 100 * base + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo + 200 * base));
        switch (rng() % 4) {
            case 0: return reference::bin_label(t, base);                                               // on a bar edge
            case 1: return reference::bin_label(t, q.timeframe.value_or(base));                          // on a bin edge
            case 2: return reference::bin_label(t, q.timeframe.value_or(base)) + base;                   // a bar into a bin
            default: return t;                                                                        // anywhere (ns)
        }
    };
    if (rng() % 2) q.from = when();
    if (rng() % 2) q.to = when();
    if (rng() % 2) q.as_of = when();
    if (rng() % 2) q.last = rng() % 4 == 0 ? rng() % 3 : rng() % 400;
    q.include_forming = rng() % 2;
    return q;
}

}  // namespace

// ---- resample on real data --------------------------------------------------------------------------------

TEST_CASE("resample of the real BTC file equals the naive oracle at 5m, 15m, 1h, 4h, 1d") {
    const auto text = reference::load_btc(test::btc_csv().string());
    REQUIRE(text.size() == 45031);
    const auto [price_dec, volume_dec] = reference::decimals_needed(text);
    CHECK(price_dec == 3);
    CHECK(volume_dec == 11);
    // Volumes at 11 decimals overflow int64 (134918704.7632 x 10^11 > 2^63): use 8, rounding half to
    // even in this loader; both sides see the same BarColumns, so the comparison stays exact.
    std::size_t rounded = 0;
    const auto bars = reference::to_int(text, 3, 8, &rounded);
    CHECK(rounded == 6);  // the six 11-decimal volumes
    CHECK(bars.front().ts == reference::epoch_ns(2021, 12, 31, 23, 1));
    CHECK(bars.back().ts == reference::epoch_ns(2022, 2, 1, 5, 31));
    CHECK(bars.front().open == 46319000);
    CHECK(bars.front().volume == 230041372950000);
    const auto in = cols(bars);
    for (const std::int64_t tf : {5 * kMin, 15 * kMin, kHour, 4 * kHour, kDay}) {
        CAPTURE(tf);
        const auto want = reference::resample(bars, tf);
        CHECK(diff(barstore::resample(in, Duration{kMin}, Duration{tf}), want) == "");
        if (tf == kDay) CHECK(want.size() == 33);  // 2021-12-31 .. 2022-02-01, no gaps
    }
    CHECK(diff(barstore::resample(in, Duration{kMin}, Duration{kMin}), bars) == "");
}

TEST_CASE("resample of the real SPY file (stamps mark the bar end) equals the naive oracle") {
    const auto text = reference::load_spy(test::spy_csv().string());
    REQUIRE(text.size() == 14180);
    const auto [price_dec, volume_dec] = reference::decimals_needed(text);
    CHECK(price_dec == 2);
    CHECK(volume_dec == 0);
    std::size_t rounded = 0;
    const auto bars = reference::to_int(text, 2, 0, &rounded);
    CHECK(rounded == 0);
    // `20110103 090100` closes the bar that started at 09:00 UTC.
    CHECK(bars.front().ts == reference::epoch_ns(2011, 1, 3, 9, 0));
    CHECK(bars.front().open == 12635);
    CHECK(bars.back().ts == reference::epoch_ns(2011, 2, 1, 0, 59));
    const auto in = cols(bars);
    for (const std::int64_t tf : {5 * kMin, 15 * kMin, kHour, 4 * kHour, kDay}) {
        CAPTURE(tf);
        CHECK(diff(barstore::resample(in, Duration{kMin}, Duration{tf}), reference::resample(bars, tf)) == "");
    }
    // The stamp-to-start shift matters: 14:31 (the 09:30 ET open) belongs to the 14:30 bin.
    const auto hourly = reference::resample(bars, kHour);
    CHECK(std::any_of(hourly.begin(), hourly.end(),
                      [](const IntBar& b) { return b.ts == reference::epoch_ns(2011, 1, 3, 14, 0); }));
}

TEST_CASE("resample agrees with the oracle on random series, bases and timeframes, before and after 1970") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int iter = 0; iter < 200; ++iter) {
        const std::int64_t bases[] = {kSec, kMin, 5 * kMin, kHour, kDay};
        const std::int64_t base = bases[rng() % std::size(bases)];
        const std::int64_t k = static_cast<std::int64_t>(1 + rng() % (rng() % 4 == 0 ? 2000 : 30));
        // Keep the whole series inside int64 ns: +-1e6 bases (+-20000 days at 1d), no long gaps at 1d.
        const std::int64_t reach = base >= kDay ? 20000 : 1000000;
        const std::int64_t start = (static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(2 * reach)) - reach) * base;
        const auto bars = make_bars(rng, rng() % 3000, start, base, base < kDay);
        CAPTURE(base);
        CAPTURE(k);
        CAPTURE(start);
        CHECK(diff(barstore::resample(cols(bars), Duration{base}, Duration{k * base}), reference::resample(bars, k * base)) ==
              "");
    }
}

TEST_CASE("resample rejects timeframes that are not a positive multiple of the base") {
    std::mt19937_64 rng(1);
    const auto in = cols(make_bars(rng, 10, 0, kMin));
    CHECK_THROWS_AS(barstore::resample(in, 1min, 90s), InvalidInput);
    CHECK_THROWS_AS(barstore::resample(in, 1min, 30s), InvalidInput);
    CHECK_THROWS_AS(barstore::resample(in, 1min, Duration{0}), InvalidInput);
    CHECK_THROWS_AS(barstore::resample(in, 1min, -5min), InvalidInput);
    CHECK_THROWS_AS(barstore::resample(in, Duration{0}, 5min), InvalidInput);
    CHECK_THROWS_AS(barstore::resample(BarColumns{}, 1min, 90s), InvalidInput);
    CHECK(barstore::resample(BarColumns{}, 1min, 5min).empty());
    CHECK(barstore::resample(in, 1min, 1min) == in);
}

// ---- query through a store ---------------------------------------------------------------------------------

TEST_CASE("query: from/to select bins by label, as_of drops bins still open, forming uses only ended bars") {
    test::TempDir dir;
    auto store = Store::open(dir.path());
    const SeriesKey key{"Q", 1min};
    // Bars every minute 10:00..10:19 on 2022-01-15; values encode the minute so bins are easy to read.
    const std::int64_t t0 = reference::epoch_ns(2022, 1, 15, 10, 0);
    std::vector<IntBar> bars;
    for (int m = 0; m < 20; ++m) bars.push_back({t0 + m * kMin, 100 + m, 200 + m, 100 + m, 100 + m, 1});
    SeriesBatch b{key, {2, 0}, cols(bars), 0};
    store.write(std::span(&b, 1));
    // Options spelled out one by one (designated initializers would warn about the rest).
    struct Opt {
        std::optional<Timestamp> from{}, to{}, as_of{};
        std::optional<std::size_t> last{};
        bool forming = false;
    };
    auto q = [&](Opt x) {
        QueryOptions o;
        o.timeframe = 5min;
        o.from = x.from;
        o.to = x.to;
        o.as_of = x.as_of;
        o.last = x.last;
        o.include_forming = x.forming;
        return barstore::query(store, key, o);
    };
    auto at = [&](int minute, int second = 0) { return Timestamp{Duration{t0 + minute * kMin + second * kSec}}; };

    auto all = q(Opt{});
    REQUIRE(all.size() == 4);
    CHECK(show(all, 1) == std::to_string(t0 + 5 * kMin) + ",105,209,105,109,5");

    // from 10:03 excludes the 10:00 bin even though it holds bars after 10:03; to is exclusive.
    auto r = q(Opt{.from = at(3), .to = at(15)});
    REQUIRE(r.size() == 2);
    CHECK(r.ts[0] == t0 + 5 * kMin);
    CHECK(r.ts[1] == t0 + 10 * kMin);
    r = q(Opt{.from = at(5), .to = at(15, 1)});
    REQUIRE(r.size() == 3);
    CHECK(r.ts[2] == t0 + 15 * kMin);

    // as_of 10:07:30: the 10:05 bin has not ended; with forming it holds 10:05 and 10:06 only
    // (the 10:07 bar ends at 10:08, after as_of).
    r = q(Opt{.as_of = at(7, 30)});
    REQUIRE(r.size() == 1);
    CHECK(r.ts[0] == t0);
    r = q(Opt{.as_of = at(7, 30), .forming = true});
    REQUIRE(r.size() == 2);
    CHECK(show(r, 1) == std::to_string(t0 + 5 * kMin) + ",105,206,105,106,2");
    // as_of exactly at a bin end: that bin is complete.
    r = q(Opt{.as_of = at(10)});
    REQUIRE(r.size() == 2);
    CHECK(r.volume[1] == 5);
    r = q(Opt{.as_of = at(10), .forming = true});
    CHECK(r.size() == 2);  // nothing of the 10:10 bin has ended yet
    // last N, with and without as_of.
    r = q(Opt{.last = 2});
    REQUIRE(r.size() == 2);
    CHECK(r.ts[0] == t0 + 10 * kMin);
    r = q(Opt{.as_of = at(12), .last = 2});
    REQUIRE(r.size() == 2);
    CHECK(r.ts[1] == t0 + 5 * kMin);
    r = q(Opt{.last = 0});
    CHECK(r.empty());

    CHECK_THROWS_AS(barstore::query(store, SeriesKey{"NOPE", 1min}, {}), barstore::NotFound);
    QueryOptions odd;
    odd.timeframe = 90s;
    CHECK_THROWS_AS(barstore::query(store, key, odd), InvalidInput);
    odd.timeframe = 30s;
    CHECK_THROWS_AS(barstore::query(store, key, odd), InvalidInput);
}

TEST_CASE("query equals the oracle for random options over a multi-chunk series") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    test::TempDir dir;
    auto store = Store::open(dir.path());
    const SeriesKey key{"RQ", 1min};
    const auto bars = make_bars(rng, 15000, reference::epoch_ns(2021, 12, 31, 23, 1), kMin);
    SeriesBatch b{key, {2, 0}, cols(bars), 0};
    store.write(std::span(&b, 1));
    for (int iter = 0; iter < 400; ++iter) {
        const auto q = random_query(rng, bars.front().ts, bars.back().ts, kMin);
        const std::string text = describe(q);
        CAPTURE(text);
        CHECK(diff(barstore::query(store, key, to_options(q)), reference::query(bars, kMin, q)) == "");
    }
}

TEST_CASE("query never looks ahead: results for as_of ignore every base bar that ends after it") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    test::TempDir dir;
    auto store = Store::open(dir.path());
    const SeriesKey key{"PAST", 1min};
    const auto bars = make_bars(rng, 6000, reference::epoch_ns(2022, 1, 3), kMin);
    SeriesBatch b{key, {2, 0}, cols(bars), 0};
    store.write(std::span(&b, 1));
    for (int iter = 0; iter < 30; ++iter) {
        const auto as_of = bars[rng() % bars.size()].ts + static_cast<std::int64_t>(rng() % 3) * kMin +
                           (rng() % 3 == 0 ? static_cast<std::int64_t>(rng() % kMin) : 0);
        CAPTURE(as_of);
        // A different future: the same bars up to as_of, then other values and other gaps.
        std::vector<IntBar> alt;
        for (const auto& x : bars)
            if (x.ts + kMin <= as_of) alt.push_back(x);
        // The first bar that may differ is the first one that ends after as_of.
        const std::int64_t resume = reference::bin_label(as_of - kMin, kMin) + kMin;
        for (auto x : make_bars(rng, 1 + rng() % 3000, resume, kMin)) {
            x.high += 1000000;  // a spike the past must never see
            x.volume += 7;
            alt.push_back(x);
        }
        const SeriesKey alt_key{"ALT" + std::to_string(iter), 1min};
        SeriesBatch ab{alt_key, {2, 0}, cols(alt), 0};
        store.write(std::span(&ab, 1));
        std::vector<IntBar> known;
        for (const auto& x : bars)
            if (x.ts + kMin <= as_of) known.push_back(x);
        for (int k = 0; k < 12; ++k) {
            auto q = random_query(rng, bars.front().ts, bars.back().ts, kMin);
            q.as_of = as_of;
            const std::string text = describe(q);
            CAPTURE(text);
            const auto got = barstore::query(store, key, to_options(q));
            CHECK(got == barstore::query(store, alt_key, to_options(q)));
            // And it is the oracle over only the bars that had ended.
            reference::NaiveQuery past = q;
            CHECK(diff(got, reference::query(known, kMin, past)) == "");
            for (std::size_t i = 0; i < got.size(); ++i) CHECK(got.high[i] < 1000000);
        }
    }
}
