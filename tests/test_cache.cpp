// tests/test_cache.cpp: the Reader (lib/cache) against the uncached cold path, query(), and for
// utc alignment against the naive map-based oracle (tests/reference/naive_resample.hpp): random
// request sequences under budgets from 4 KiB to unlimited, eviction order on counters, the spill
// (round trip, budget, corruption, deletion; which directories it refuses, and running without it
// when it cannot be used), replaced series, a timeframe x market matrix, no
// look-ahead, and windows that step back over bins whose bars end after the bin does.
#include <doctest/doctest.h>
#include <lmdb.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "barstore/error.hpp"
#include "barstore/query.hpp"
#include "barstore/reader.hpp"
#include "barstore/session.hpp"
#include "barstore/store.hpp"
#include "barstore/time.hpp"
#include "reference/naive_bars.hpp"
#include "reference/naive_resample.hpp"
#include "reference/naive_time.hpp"
#include "stress/harness.hpp"
#include "support/bars.hpp"
#include "support/raw_lmdb.hpp"
#include "support/time.hpp"
#include "support/util.hpp"

using barstore::Alignment;
using barstore::BarColumns;
using barstore::BarView;
using barstore::Duration;
using barstore::QueryOptions;
using barstore::Reader;
using barstore::ReaderOptions;
using barstore::ReaderStats;
using barstore::SeriesBatch;
using barstore::SeriesKey;
using barstore::Session;
using barstore::Store;
using barstore::Timestamp;
using reference::IntBar;
using test::at, test::batch, test::cols, test::show_iso;
using test::kSec, test::kMin, test::kHour, test::kDay, test::kWeek;

namespace {

using i64 = std::int64_t;
using u64 = std::uint64_t;
constexpr u64 kUnlimited = u64{1} << 50;

// ---- generated series ---------------------------------------------------------------------------------------

/// A price walk on the given bar starts; high/low around the body, volume >= 0.
std::vector<IntBar> walk(std::mt19937_64& rng, const std::vector<i64>& times) {
    std::vector<IntBar> out;
    test::PriceWalk w{.px = 40000 + static_cast<i64>(rng() % 1000)};
    for (const i64 t : times) out.push_back(w.next(rng, t));
    return out;
}

/// Every minute from `start`, with short gaps (5%) and now and then (0.05%) a long one.
std::vector<i64> times_24x7(std::mt19937_64& rng, i64 start, std::size_t n) {
    std::vector<i64> t;
    i64 now = start;
    while (t.size() < n) {
        t.push_back(now);
        const auto k = rng() % 10000;
        now += kMin * (k < 9500 ? 1 : k < 9995 ? 2 + static_cast<i64>(rng() % 5) : 30 + static_cast<i64>(rng() % 270));
    }
    return t;
}

/// Weekday minutes from 13:00 to 21:30 UTC: the us-equity session in both EST and EDT, plus bars
/// before the open and after the close that session alignment must leave out; 3% missing.
std::vector<i64> times_equity(std::mt19937_64& rng, i64 first_day, int days) {
    std::vector<i64> t;
    for (int d = 0; d < days; ++d) {
        const i64 day = first_day + d;
        const int wd = static_cast<int>(((day % 7) + 11) % 7);  // 1970-01-01 was a Thursday (4)
        if (wd == 0 || wd == 6) continue;
        for (i64 m = 13 * 60; m < 21 * 60 + 30; ++m)
            if (rng() % 100 >= 3) t.push_back(day * kDay + m * kMin);
    }
    return t;
}

/// CME Globex-like: Sunday 22:00 UTC to Friday 21:00 UTC with a daily 21:00-22:00 break, 2% missing.
std::vector<i64> times_cme(std::mt19937_64& rng, i64 first_day, int days) {
    std::vector<i64> t;
    for (int d = 0; d < days; ++d) {
        const i64 day = first_day + d;
        const int wd = static_cast<int>(((day % 7) + 11) % 7);
        for (i64 m = 0; m < 24 * 60; ++m) {
            const bool open = (wd >= 1 && wd <= 4) || (wd == 0 && m >= 22 * 60) || (wd == 5 && m < 21 * 60);
            if (!open || (m >= 21 * 60 && m < 22 * 60)) continue;
            if (rng() % 100 >= 2) t.push_back(day * kDay + m * kMin);
        }
    }
    return t;
}

/// Weekday daily bars at midnight UTC.
std::vector<i64> times_daily(i64 first_day, int days) {
    std::vector<i64> t;
    for (int d = 0; d < days; ++d) {
        const i64 day = first_day + d;
        const int wd = static_cast<int>(((day % 7) + 11) % 7);
        if (wd != 0 && wd != 6) t.push_back(day * kDay);
    }
    return t;
}

/// A store with four kinds of series and their bars kept for the naive oracle.
struct World {
    test::TempDir dir;
    Store store;
    std::map<std::string, std::vector<IntBar>> bars;  // by symbol
    std::map<std::string, SeriesKey> keys;
    i64 lo = 0, hi = 0;  // the span the minute series cover

    explicit World(std::uint64_t seed, int days = 12) : store(Store::open(dir.path())) {
        std::mt19937_64 rng(seed);
        const i64 day0 = reference::days_from_civil(2024, 3, 4);  // a Monday; US DST starts 2024-03-10
        lo = day0 * kDay;
        hi = lo + days * kDay;
        add(rng, "BTC", kMin, walk(rng, times_24x7(rng, lo, static_cast<std::size_t>(days) * 1400)), std::nullopt);
        add(rng, "SPY", kMin, walk(rng, times_equity(rng, day0, days)), barstore::parse_session("us-equity"));
        add(rng, "ES", kMin, walk(rng, times_cme(rng, day0 - 1, days + 1)), barstore::parse_session("cme-globex"));
        add(rng, "DAILY", kDay, walk(rng, times_daily(day0 - 2000, 2000 + days)), std::nullopt);
    }
    void add(std::mt19937_64&, const std::string& sym, i64 base, std::vector<IntBar> b, std::optional<Session> s) {
        const SeriesKey key{sym, Duration{base}};
        const std::vector<SeriesBatch> batches{batch(key, b, {2, 0}, std::move(s))};
        store.write(batches);
        bars[sym] = std::move(b);
        keys[sym] = key;
    }
};

ReaderOptions options(u64 budget, std::size_t history, std::size_t lookahead, std::filesystem::path spill = {},
                      u64 spill_budget = u64{4} << 30) {
    ReaderOptions o;
    o.budget_bytes = budget;
    o.history_bars = history;
    o.lookahead_bars = lookahead;
    o.spill_dir = std::move(spill);
    o.spill_budget_bytes = spill_budget;
    return o;
}

QueryOptions cold(i64 tf, std::size_t n, i64 t, std::optional<Alignment> align = {}) {
    QueryOptions q;
    q.timeframe = Duration{tf};
    q.last = n;
    q.as_of = at(t);
    q.align = align;
    return q;
}

// Rows in failure messages show ISO times, as the World is laid out by the clock.
constexpr test::BarDiff diff = test::diff_iso;

BarColumns naive(const std::vector<IntBar>& bars, i64 base, i64 tf, std::size_t n, i64 t) {
    reference::NaiveQuery q;
    q.timeframe = tf;
    q.last = n;
    q.as_of = t;
    return cols(reference::query(bars, base, q));
}

/// Reader answer == cold path (and the naive oracle when asked). Returns "" or the difference.
std::string check_one(Reader& r, const World& w, const std::string& sym, i64 tf, std::size_t n, i64 t,
                      bool with_naive, std::optional<Alignment> align = {}) {
    const SeriesKey& key = w.keys.at(sym);
    const BarColumns got = r.last_bars(key, Duration{tf}, n, at(t), align).to_columns();
    const BarColumns want = barstore::query(w.store, key, cold(tf, n, t, align));
    if (auto d = diff(got, want); !d.empty()) return "cold path: " + d;
    if (with_naive) {
        if (auto d = diff(got, naive(w.bars.at(sym), key.base.count(), tf, n, t)); !d.empty()) return "naive: " + d;
    }
    return "";
}

/// Bytes of every "BSSP" value in a spill's data.mdb get one byte flipped inside their header.
int corrupt_spill_values(const std::filesystem::path& data_mdb) {
    std::fstream f(data_mdb, std::ios::in | std::ios::out | std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    int hits = 0;
    for (std::size_t at = bytes.find("BSSP"); at != std::string::npos; at = bytes.find("BSSP", at + 4)) {
        f.seekp(static_cast<std::streamoff>(at + 40));  // the header's `from` field: covered by the checksum
        const char flipped = static_cast<char>(bytes[at + 40] ^ 0x5A);
        f.write(&flipped, 1);
        ++hits;
    }
    f.flush();
    return hits;
}

}  // namespace

// ---- the contract: answers equal the cold path, under any budget --------------------------------------------

TEST_CASE("random request sequences equal the cold path and the naive oracle, under budgets from 4 KiB to unlimited") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    World w(seed);
    struct Config {
        u64 budget;
        bool spill;
        std::size_t history, lookahead;
        bool spill_raw = true;
    };
    const Config configs[] = {
        {4 << 10, false, 5000, 1000},   {4 << 10, true, 300, 50},     {64 << 10, true, 200, 100},
        {256 << 10, true, 5000, 1000},  {256 << 10, false, 500, 0},   {2 << 20, true, 1000, 200},
        {kUnlimited, false, 5000, 1000}, {kUnlimited, true, 100, 10}, {96 << 10, true, 400, 60, false},
    };
    const std::vector<std::string> symbols = {"BTC", "SPY", "ES", "DAILY"};
    for (const auto& c : configs) {
        CAPTURE(c.budget);
        CAPTURE(c.spill);
        CAPTURE(c.history);
        CAPTURE(c.lookahead);
        CAPTURE(c.spill_raw);
        test::TempDir spill;
        ReaderOptions o;
        o.budget_bytes = c.budget;
        o.history_bars = c.history;
        o.lookahead_bars = c.lookahead;
        if (c.spill) {
            o.spill_dir = spill.path() / "spill";
            o.spill_budget_bytes = 1 << 20;
            o.spill_raw_windows = c.spill_raw;
        }
        Reader r(w.store, o);
        std::map<std::string, i64> cursor;
        u64 calls = 0;
        for (const auto& s : symbols) cursor[s] = w.lo + static_cast<i64>(rng() % 3000) * kMin;
        for (int step = 0; step < 260; ++step) {
            const std::string sym = symbols[rng() % symbols.size()];
            const bool daily = sym == "DAILY";
            const i64 tfs_min[] = {kMin, 5 * kMin, 15 * kMin, kHour, 4 * kHour, kDay};
            const i64 tf = daily ? (rng() % 4 ? kDay : kWeek) : tfs_min[rng() % std::size(tfs_min)];
            std::size_t n = 1 + rng() % (tf >= kDay && !daily ? 12 : 250);
            if (rng() % 20 == 0) n = 1 + rng() % 2000;
            if (tf >= kDay && !daily) n = std::min<std::size_t>(n, 12);
            i64& t = cursor[sym];
            const auto k = rng() % 100;
            if (k < 80) t += static_cast<i64>(1 + rng() % 30) * kMin;                 // forward, a step
            else if (k < 88) t -= static_cast<i64>(1 + rng() % 3000) * kMin;          // back
            else if (k < 95) t += static_cast<i64>(1 + rng() % 3000) * kMin;          // a jump ahead
            else t = w.lo + static_cast<i64>(rng() % static_cast<u64>(w.hi - w.lo + kDay)) - kDay;  // anywhere
            if (rng() % 10 == 0) t += static_cast<i64>(rng() % kMin);                 // off the minute grid
            std::optional<Alignment> align;
            if ((sym == "SPY" || sym == "ES") && rng() % 4 == 0) align = Alignment::utc;
            if ((sym == "BTC" || sym == "DAILY") && rng() % 6 == 0) align = Alignment::session;  // 24x7 sessions
            CAPTURE(step);
            CAPTURE(sym);
            CAPTURE(tf);
            CAPTURE(n);
            CAPTURE(t);
            const bool utc = ((sym == "BTC" || sym == "DAILY") && !align) || align == Alignment::utc;
            REQUIRE(check_one(r, w, sym, tf, n, t, utc && step % 8 == 0, align) == "");
            ++calls;
            const ReaderStats st = r.stats();
            REQUIRE(st.resident_bytes <= c.budget);
            REQUIRE(st.resident_bytes == st.raw_bytes + st.aggregate_bytes);
            REQUIRE(st.hits + st.misses == calls);
            if (rng() % 50 == 0) {
                // last_price: the close of the last base bar that ended by t.
                const auto p = r.last_price(w.keys.at(sym), at(t));
                ++calls;
                const auto last = barstore::query(w.store, w.keys.at(sym), cold(w.keys.at(sym).base.count(), 1, t, Alignment::utc));
                REQUIRE(p.has_value() == !last.empty());
                if (p) CHECK(*p == last.close.back());
            }
        }
        const ReaderStats st = r.stats();
        CHECK(st.peak_resident_bytes <= c.budget);
        if (c.budget < (64 << 10)) CHECK(st.transients > 0);
        if (c.spill && c.budget >= (64 << 10) && c.budget <= (256 << 10)) CHECK(st.spills > 0);
        if (c.budget == kUnlimited) CHECK(st.evictions == 0);
    }
}

TEST_CASE("matrix: 1m, 5m, 15m, 1h, 1d, 1w x 24x7 crypto, US equity session, CME session, daily-only") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    World w(seed);
    // 1w: a session week is several runs of bars with gaps between them (the fold must merge
    // them by label, as resample() does; an earlier fold let off-session bars in).
    const i64 tfs[] = {kMin, 5 * kMin, 15 * kMin, kHour, kDay, kWeek};
    for (const std::string sym : {"BTC", "SPY", "ES", "DAILY"}) {
        for (const i64 tf : tfs) {
            CAPTURE(sym);
            CAPTURE(tf);
            const SeriesKey& key = w.keys.at(sym);
            ReaderOptions o;
            o.history_bars = 400;
            o.lookahead_bars = 120;
            Reader r(w.store, o);
            if (tf % key.base.count() != 0) {
                // A daily-only series has no 1m..1h bars: both paths refuse alike.
                CHECK_THROWS_AS(barstore::query(w.store, key, cold(tf, 10, w.hi)), barstore::InvalidInput);
                CHECK_THROWS_AS(r.last_bars(key, Duration{tf}, 10, at(w.hi)), barstore::InvalidInput);
                continue;
            }
            i64 t = w.lo - kDay;
            int steps = 0;
            while (t < w.hi + kDay) {
                const std::size_t n = 1 + rng() % (tf == kWeek ? 3 : tf == kDay && key.base.count() < kDay ? 8 : 220);
                CAPTURE(t);
                CAPTURE(n);
                REQUIRE(check_one(r, w, sym, tf, n, t, sym == "BTC" || sym == "DAILY") == "");
                // Steps of a few minutes to a few hours, now and then a step back.
                t += static_cast<i64>(1 + rng() % (tf >= kHour ? 480 : 90)) * kMin;
                if (rng() % 25 == 0) t -= static_cast<i64>(rng() % 600) * kMin;
                ++steps;
            }
            const ReaderStats st = r.stats();
            CHECK(st.hits > st.misses);  // forward steps are served from the entry
            CAPTURE(steps);
        }
    }
}

// ---- windows, lookahead, incremental aggregates -----------------------------------------------------------------

TEST_CASE("a forward-stepping backtest reads the store about once per lookahead_bars steps") {
    const auto seed = test::seed();
    CAPTURE(seed);
    World w(seed, 16);
    ReaderOptions o;
    o.lookahead_bars = 500;
    o.history_bars = 1000;
    Reader r(w.store, o);
    const SeriesKey& btc = w.keys.at("BTC");
    const int steps = 6000;
    const i64 t0 = w.lo + 10 * kDay;
    for (int i = 0; i < steps; ++i) {
        const i64 t = t0 + i * kMin;
        for (const i64 tf : {kMin, 5 * kMin, kHour}) {
            const auto v = r.last_bars(btc, Duration{tf}, 200, at(t));
            REQUIRE(v.size() == 200);
        }
    }
    const ReaderStats st = r.stats();
    // Cold: 1m history, 5m and 1h built by reading backwards, the first lookahead; then one read
    // per 500 steps (a little more: gaps make 500 bars span more than 500 minutes... or less).
    CHECK(st.misses == 3);
    CHECK(st.hits == 3 * steps - 3);
    CHECK(st.store_reads <= 4 + steps / 500 + 2);
    CHECK(st.evictions == 0);
    // Still right at the end.
    CHECK(check_one(r, w, "BTC", 5 * kMin, 200, t0 + steps * kMin, true) == "");
}

TEST_CASE("a backtest run again from its start with the same Reader reads the store as seldom as the first run") {
    // Asked only for aggregates, after a jump back the raw window they fold from lay wholly
    // after the clock: every step then read the store for its bars (~1 read per step, 20x slower).
    const auto seed = test::seed();
    CAPTURE(seed);
    World w(seed, 16);
    ReaderOptions o;
    o.lookahead_bars = 500;
    o.history_bars = 1000;
    Reader r(w.store, o);
    const SeriesKey& btc = w.keys.at("BTC");
    const int steps = 6000;
    const i64 t0 = w.lo + 10 * kDay;
    auto run = [&] {
        const u64 reads_before = r.stats().store_reads;
        for (int i = 0; i < steps; ++i)
            for (const i64 tf : {5 * kMin, kHour}) REQUIRE(r.last_bars(btc, Duration{tf}, 200, at(t0 + i * kMin)).size() == 200);
        return r.stats().store_reads - reads_before;
    };
    const u64 first = run();
    const u64 again = run();
    CAPTURE(first);
    CAPTURE(again);
    CHECK(first <= 4 + steps / 500 + 2);
    CHECK(again <= first + 4);
    CHECK(check_one(r, w, "BTC", 5 * kMin, 200, t0 + steps * kMin, true) == "");
    CHECK(check_one(r, w, "BTC", kHour, 200, t0 + 100 * kMin, true) == "");
}

TEST_CASE("windows are counted in bars, per timeframe: mixed timeframes of one symbol never trim each other") {
    const auto seed = test::seed();
    CAPTURE(seed);
    World w(seed, 20);
    ReaderOptions o;
    o.history_bars = 300;
    o.lookahead_bars = 100;
    Reader r(w.store, o);
    const SeriesKey& btc = w.keys.at("BTC");
    // 300 1m bars is five hours; 300 1d bars would be most of a year. A wall-clock window sized for
    // one would starve the other; counted in each entry's own bars, neither misses after warm-up.
    for (int i = 0; i < 3000; ++i) {
        const i64 t = w.lo + 15 * kDay + i * kMin;
        REQUIRE(r.last_bars(btc, Duration{kMin}, 300, at(t)).size() == 300);
        REQUIRE(r.last_bars(btc, Duration{kDay}, 12, at(t)).size() == 12);
        REQUIRE(r.last_bars(btc, Duration{kHour}, 300, at(t)).size() == 300);
    }
    const ReaderStats st = r.stats();
    CHECK(st.misses == 3);
    CHECK(check_one(r, w, "BTC", kDay, 12, w.lo + 15 * kDay + 3000 * kMin, true) == "");
    CHECK(check_one(r, w, "BTC", kHour, 300, w.lo + 15 * kDay + 3000 * kMin, true) == "");
}

TEST_CASE("the forming bin is never returned, and nothing that ends after as_of is seen") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    // Two stores identical before `cut`, different from it on: a Reader that prefetched the future
    // of each must still give identical answers as of any t <= cut.
    test::TempDir a_dir, b_dir;
    Store a = Store::open(a_dir.path()), b = Store::open(b_dir.path());
    const i64 start = reference::epoch_ns(2024, 1, 1);
    const auto times = times_24x7(rng, start, 20000);
    auto bars_a = walk(rng, times), bars_b = bars_a;
    const std::size_t cut_i = 9000;
    for (std::size_t i = cut_i; i < bars_b.size(); ++i) {
        bars_b[i].open += 1000;
        bars_b[i].high += 5000;
        bars_b[i].close += 1000;
        bars_b[i].low -= 3000;
        bars_b[i].volume += 7;
    }
    const SeriesKey key{"X", Duration{kMin}};
    a.write(std::vector<SeriesBatch>{batch(key, bars_a)});
    b.write(std::vector<SeriesBatch>{batch(key, bars_b)});
    const i64 cut = times[cut_i];  // bars at or after cut differ; one ends at cut + 1m
    ReaderOptions o;
    o.lookahead_bars = 3000;  // the future is in memory well before it is due
    Reader ra(a, o), rb(b, o);
    for (i64 t = cut - 600 * kMin; t <= cut; t += kMin)
        for (const i64 tf : {kMin, 5 * kMin, 15 * kMin, kHour}) {
            CAPTURE(t);
            CAPTURE(tf);
            const auto va = ra.last_bars(key, Duration{tf}, 50, at(t)).to_columns();
            REQUIRE(diff(va, rb.last_bars(key, Duration{tf}, 50, at(t)).to_columns()) == "");
            REQUIRE(diff(va, barstore::query(a, key, cold(tf, 50, t))) == "");
            // Every returned bin has closed: it ends at or before t.
            if (!va.empty()) REQUIRE(va.ts.back() + tf <= t);
        }
    // One step later the first differing bar has ended and shows.
    const auto next_a = ra.last_bars(key, Duration{kMin}, 1, at(cut + kMin)).to_columns();
    const auto next_b = rb.last_bars(key, Duration{kMin}, 1, at(cut + kMin)).to_columns();
    CHECK(next_a.close != next_b.close);
    CHECK(ra.last_price(key, at(cut)) == rb.last_price(key, at(cut)));
    CHECK(ra.last_price(key, at(cut + kMin)) != rb.last_price(key, at(cut + kMin)));
}

TEST_CASE("stepping back over bins whose last bar ends after the bin (session close, Monday weeks) stays exact") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    test::TempDir dir;
    Store store = Store::open(dir.path());
    // Hourly bars with a 09:30-15:45 New York session: the 2h bin [13:30, 15:30) holds the 14:00
    // and 15:00 bars, and the 15:00 bar ends at 16:00, after the bin has closed.
    std::vector<i64> hours;
    const i64 start = reference::epoch_ns(2024, 2, 26);
    for (i64 h = 0; h < 24 * 40; ++h)
        if (rng() % 10) hours.push_back(start + h * kHour);
    const SeriesKey hourly{"H", Duration{kHour}};
    // Weekly bars on the epoch's grid (Thursdays) binned into Monday weeks: each bar ends 3 days
    // into the next bin.
    std::vector<i64> weeks;
    for (i64 k = 2500; k < 2800; ++k) weeks.push_back(k * kWeek);
    const SeriesKey weekly{"W", Duration{kWeek}};
    store.write(std::vector<SeriesBatch>{batch(hourly, walk(rng, hours), {2, 0}, barstore::parse_session("America/New_York 09:30-15:45 Mon-Fri")),
                                         batch(weekly, walk(rng, weeks))});
    Reader r(store, options(kUnlimited, 50, 20));
    struct Case {
        SeriesKey key;
        i64 tf, lo, hi, step;
    };
    const Case cases[] = {{hourly, 2 * kHour, start, start + 40 * kDay, 15 * kMin},
                          {hourly, kHour, start, start + 40 * kDay, 15 * kMin},
                          {hourly, kDay, start, start + 40 * kDay, 30 * kMin},
                          {weekly, kWeek, 2500 * kWeek, 2800 * kWeek, kDay},
                          {weekly, 2 * kWeek, 2500 * kWeek, 2800 * kWeek, kDay}};
    for (const auto& c : cases) {
        CAPTURE(c.key.symbol);
        CAPTURE(c.tf);
        i64 t = c.lo;
        for (int i = 0; i < 400 && t < c.hi; ++i) {
            const std::size_t n = 1 + rng() % 20;
            CAPTURE(t);
            CAPTURE(n);
            const auto got = r.last_bars(c.key, Duration{c.tf}, n, at(t)).to_columns();
            REQUIRE(diff(got, barstore::query(store, c.key, cold(c.tf, n, t))) == "");
            // Mostly forward; every few steps back by less than a bin, into a closed overhang bin.
            t += rng() % 4 == 0 ? -static_cast<i64>(1 + rng() % 3) * c.step : static_cast<i64>(1 + rng() % 4) * c.step;
        }
    }
}

// ---- budget and eviction ---------------------------------------------------------------------------------------

TEST_CASE("eviction order: least recently used aggregates first, then least recently used raw windows") {
    const auto seed = test::seed();
    CAPTURE(seed);
    World w(seed);
    const SeriesKey &a = w.keys.at("BTC"), &b = w.keys.at("ES");
    const i64 t = w.lo + 5 * kDay;
    const std::size_t n = 200;
    auto small = [](u64 budget) { return options(budget, 200, 0); };

    // Sizes, measured without a limit.
    Reader probe(w.store, small(kUnlimited));
    probe.last_bars(a, Duration{kMin}, n, at(t));
    const u64 raw_a = probe.stats().raw_bytes;
    probe.last_bars(b, Duration{kMin}, n, at(t), Alignment::utc);
    const u64 raw_ab = probe.stats().raw_bytes;
    probe.last_bars(a, Duration{5 * kMin}, n, at(t));
    const u64 agg_a = probe.stats().aggregate_bytes;
    probe.last_bars(b, Duration{5 * kMin}, n, at(t), Alignment::utc);
    const u64 agg_ab = probe.stats().aggregate_bytes;
    CHECK(probe.stats().evictions == 0);
    const u64 agg_b = agg_ab - agg_a;
    CHECK(raw_ab > raw_a);

    SUBCASE("aggregates go before raw windows, even older ones") {
        // Room for both raw windows and one aggregate, not two (even with spare capacity given up).
        const u64 budget = raw_ab + std::max(agg_a, agg_b) + std::min(agg_a, agg_b) / 4;
        Reader r(w.store, small(budget));
        r.last_bars(a, Duration{kMin}, n, at(t));                         // raw A   (oldest)
        r.last_bars(b, Duration{kMin}, n, at(t), Alignment::utc);         // raw B
        r.last_bars(a, Duration{5 * kMin}, n, at(t));                     // agg A
        CHECK(r.stats().evictions == 0);
        r.last_bars(b, Duration{5 * kMin}, n, at(t), Alignment::utc);     // agg B: evicts agg A, not raw A
        auto st = r.stats();
        CHECK(st.evictions == 1);
        CHECK(st.aggregate_entries == 1);
        CHECK(st.raw_entries == 2);
        CHECK(st.resident_bytes <= budget);
        const u64 misses = st.misses;
        r.last_bars(a, Duration{kMin}, n, at(t));                         // raw A still there
        r.last_bars(b, Duration{kMin}, n, at(t), Alignment::utc);
        r.last_bars(b, Duration{5 * kMin}, n, at(t), Alignment::utc);     // agg B still there
        CHECK(r.stats().misses == misses);
        r.last_bars(a, Duration{5 * kMin}, n, at(t));                     // agg A again: a miss...
        st = r.stats();
        CHECK(st.misses == misses + 1);
        CHECK(st.evictions == 2);                                          // ...that evicts agg B
        CHECK(st.raw_entries == 2);
        r.last_bars(b, Duration{5 * kMin}, n, at(t), Alignment::utc);
        CHECK(r.stats().misses == misses + 2);
    }
    SUBCASE("with no aggregate left, the least recently used raw window goes") {
        const u64 budget = raw_ab + raw_a / 4;  // two windows fit, three do not
        Reader r(w.store, small(budget));
        const SeriesKey& c = w.keys.at("SPY");
        r.last_bars(a, Duration{kMin}, n, at(t));
        r.last_bars(b, Duration{kMin}, n, at(t), Alignment::utc);
        r.last_bars(a, Duration{kMin}, n, at(t));                         // touch A: B is now the oldest
        CHECK(r.stats().evictions == 0);
        r.last_bars(c, Duration{kMin}, n, at(t), Alignment::utc);         // evicts B
        auto st = r.stats();
        CHECK(st.evictions == 1);
        CHECK(st.raw_entries == 2);
        const u64 misses = st.misses;
        r.last_bars(a, Duration{kMin}, n, at(t));
        CHECK(r.stats().misses == misses);
        r.last_bars(b, Duration{kMin}, n, at(t), Alignment::utc);         // B: a miss, evicts C
        CHECK(r.stats().misses == misses + 1);
        r.last_bars(a, Duration{kMin}, n, at(t));
        CHECK(r.stats().misses == misses + 1);
        r.last_bars(c, Duration{kMin}, n, at(t), Alignment::utc);
        CHECK(r.stats().misses == misses + 2);
    }
    SUBCASE("an entry larger than the whole budget is answered from a transient") {
        Reader r(w.store, small(raw_a / 2));
        const auto v = r.last_bars(a, Duration{kMin}, n, at(t)).to_columns();
        CHECK(diff(v, barstore::query(w.store, a, cold(kMin, n, t))) == "");
        const auto st = r.stats();
        CHECK(st.transients == 1);
        CHECK(st.resident_bytes == 0);
        CHECK(st.raw_entries == 0);
    }
}

TEST_CASE("under pressure, history no request asked for goes before any entry") {
    const auto seed = test::seed();
    CAPTURE(seed);
    World w(seed);
    const i64 t0 = w.lo + 5 * kDay;
    // 5000 bars of history kept speculatively for requests of 100 (240 KiB for the 1m window
    // alone): a budget of 200 KiB keeps all three entries, with less history.
    const ReaderOptions o = options(200 << 10, 5000, 100);
    Reader r(w.store, o);
    for (int i = 0; i < 200; ++i)
        for (const i64 tf : {kMin, 5 * kMin, 15 * kMin}) {
            const i64 t = t0 + i * kMin;
            REQUIRE(check_one(r, w, "BTC", tf, 100, t, false) == "");
            REQUIRE(r.stats().resident_bytes <= o.budget_bytes);
        }
    const auto st = r.stats();
    CHECK(st.trims > 0);
    CHECK(st.evictions == 0);
    CHECK(st.raw_entries == 1);
    CHECK(st.aggregate_entries == 2);
}

// ---- the spill ----------------------------------------------------------------------------------------------

TEST_CASE("spill: evicted entries come back from disk, not from the store, and the spill keeps its budget") {
    const auto seed = test::seed();
    CAPTURE(seed);
    World w(seed);
    test::TempDir spill;
    const SeriesKey& btc = w.keys.at("BTC");
    const SeriesKey& spy = w.keys.at("SPY");
    const i64 t = w.lo + 6 * kDay;
    Reader r(w.store, options(kUnlimited, 2000, 300, spill.path() / "s"));
    const auto a1 = r.last_bars(btc, Duration{kMin}, 500, at(t)).to_columns();
    const auto a5 = r.last_bars(btc, Duration{5 * kMin}, 300, at(t)).to_columns();
    const auto s1h = r.last_bars(spy, Duration{kHour}, 40, at(t)).to_columns();
    r.clear();
    auto st = r.stats();
    CHECK(st.evictions == 3);
    CHECK(st.spills == 3);
    CHECK(st.spill_entries == 3);
    CHECK(st.spill_bytes > 0);
    CHECK(st.resident_bytes == 0);
    const u64 reads = st.store_reads;
    CHECK(diff(r.last_bars(btc, Duration{kMin}, 500, at(t)).to_columns(), a1) == "");
    CHECK(diff(r.last_bars(btc, Duration{5 * kMin}, 300, at(t)).to_columns(), a5) == "");
    CHECK(diff(r.last_bars(spy, Duration{kHour}, 40, at(t)).to_columns(), s1h) == "");
    st = r.stats();
    CHECK(st.spill_hits == 3);
    CHECK(st.store_reads == reads);  // nothing re-read, nothing re-aggregated
    // And they go on from there: the next steps extend the re-hydrated entries.
    for (int i = 1; i <= 30; ++i) REQUIRE(check_one(r, w, "BTC", 5 * kMin, 300, t + i * kMin, i % 10 == 0) == "");
    REQUIRE(check_one(r, w, "SPY", kHour, 40, t + 3 * kHour, false) == "");

    // A clean entry (unchanged since re-hydrated) is not written again.
    r.clear();
    const u64 spills = r.stats().spills;
    r.last_bars(btc, Duration{kMin}, 500, at(t));  // re-hydrated, used, unchanged
    r.clear();
    CHECK(r.stats().spills == spills);

    SUBCASE("the spill budget deletes least recently used copies") {
        test::TempDir small;
        const u64 spill_budget = 3 << 10;
        Reader q(w.store, options(kUnlimited, 300, 30, small.path(), spill_budget));
        const i64 tfs[] = {5 * kMin, 10 * kMin, 15 * kMin, 30 * kMin, kHour, 2 * kHour};
        for (const i64 tf : tfs) {
            q.last_bars(btc, Duration{tf}, 60, at(t));
            q.clear();
            REQUIRE(q.stats().spill_bytes <= spill_budget);
        }
        const auto qs = q.stats();
        CAPTURE(qs.spill_bytes);
        CHECK(qs.spill_evictions > 0);
        CHECK(qs.spills == std::size(tfs));
        CHECK(qs.spill_entries < std::size(tfs));
        // The most recent copy is there; the oldest went first.
        const u64 hits = qs.spill_hits;
        REQUIRE(check_one(q, w, "BTC", 2 * kHour, 60, t, true) == "");
        CHECK(q.stats().spill_hits == hits + 1);
        REQUIRE(check_one(q, w, "BTC", 5 * kMin, 60, t, true) == "");
        CHECK(q.stats().spill_hits == hits + 1);
    }
}

TEST_CASE("spill: a corrupt copy is never served; the store answers instead") {
    const auto seed = test::seed();
    CAPTURE(seed);
    World w(seed);
    test::TempDir spill;
    const SeriesKey& btc = w.keys.at("BTC");
    const i64 t = w.lo + 6 * kDay;
    Reader r(w.store, options(kUnlimited, 2000, 300, spill.path()));
    r.last_bars(btc, Duration{kMin}, 500, at(t));
    r.last_bars(btc, Duration{kHour}, 50, at(t));
    r.clear();
    REQUIRE(r.stats().spill_entries == 2);
    CHECK(corrupt_spill_values(spill.path() / "data.mdb") >= 2);
    const u64 reads = r.stats().store_reads;
    REQUIRE(check_one(r, w, "BTC", kMin, 500, t, true) == "");
    REQUIRE(check_one(r, w, "BTC", kHour, 50, t, true) == "");
    const auto st = r.stats();
    CHECK(st.spill_errors == 2);
    CHECK(st.spill_hits == 0);
    CHECK(st.store_reads > reads);
    CHECK(st.spill_entries == 0);  // deleted, not kept around
    // The spill still works afterwards.
    r.clear();
    REQUIRE(check_one(r, w, "BTC", kHour, 50, t, false) == "");
    CHECK(r.stats().spill_hits == 1);
}

TEST_CASE("spill: a directory deleted under the reader, or taken by another reader") {
    const auto seed = test::seed();
    CAPTURE(seed);
    World w(seed);
    test::TempDir spill;
    const auto dir = spill.path() / "spill";
    const SeriesKey& btc = w.keys.at("BTC");
    const i64 t = w.lo + 6 * kDay;
    Reader r(w.store, options(kUnlimited, 1000, 100, dir));
    {
        // Taken: the second Reader runs without a spill, says why, and leaves the first's alone.
        Reader second(w.store, options(kUnlimited, 100, 10, dir));
        const auto st = second.stats();
        CHECK(st.spill_disabled);
        CHECK(st.spill_disabled_reason.find(dir.string()) != std::string::npos);
        CHECK(st.spill_disabled_reason.find("in use by another Reader") != std::string::npos);
        REQUIRE(check_one(second, w, "BTC", 5 * kMin, 200, t, false) == "");
        second.clear();
        CHECK(second.stats().evictions == 1);
        CHECK(second.stats().spills == 0);
    }
    CHECK_FALSE(r.stats().spill_disabled);
    r.last_bars(btc, Duration{5 * kMin}, 200, at(t));
    r.clear();
    std::filesystem::remove_all(dir);
    for (int i = 0; i < 50; ++i) {
        REQUIRE(check_one(r, w, "BTC", 5 * kMin, 200, t + i * 7 * kMin, false) == "");
        REQUIRE(check_one(r, w, "BTC", kMin, 100, t + i * 7 * kMin, false) == "");
        if (i % 5 == 0) r.clear();
    }
    // A new reader on the same path starts an empty spill.
    Reader fresh(w.store, options(kUnlimited, 100, 10, dir));
    CHECK(fresh.stats().spill_entries == 0);
}

TEST_CASE("spill values: round trip, refusal of another entry's name, and checksums") {
    const auto seed = test::seed();
    CAPTURE(seed);
    World w(seed);
    test::TempDir spill;
    const SeriesKey& es = w.keys.at("ES");
    const i64 t = w.lo + 4 * kDay;
    {
        Reader r(w.store, options(kUnlimited, 5000, 1000, spill.path()));
        r.last_bars(es, Duration{kDay}, 3, at(t));
        r.last_bars(es, Duration{15 * kMin}, 150, at(t));
        r.last_bars(es, Duration{kMin}, 10, at(t), Alignment::utc);
        r.clear();
    }
    // barstore stats reads the directory the Reader left behind.
    const auto sum = barstore::inspect_spill(spill.path());
    REQUIRE(sum.exists);
    REQUIRE(sum.entries.size() == 3);
    u64 bytes = 0;
    for (const auto& e : sum.entries) {
        CHECK(e.intact);
        CHECK(e.key == es);
        CHECK(e.session == "cme-globex");
        CHECK(e.rows > 0);
        CHECK(e.first <= e.last);
        bytes += e.value_bytes;
    }
    CHECK(bytes == sum.value_bytes);
    CHECK(sum.file_bytes > 0);
    CHECK_FALSE(barstore::inspect_spill(spill.path() / "nothing").exists);
}

// ---- what a spill directory may be ---------------------------------------------------------------------------

namespace {

/// The InvalidInput message of opening a Reader with this spill directory; "no error" if it opened.
std::string refusal(const Store& store, const std::filesystem::path& spill_dir) {
    try {
        Reader r(store, options(kUnlimited, 100, 10, spill_dir));
        return "no error";
    } catch (const barstore::InvalidInput& e) {
        return e.what();
    }
}

/// Every file under dir (relative name -> bytes): what must not change when a spill is refused.
/// The lock.mdb of a store open in this process changes with every read (its reader slots), so
/// `live` keeps only its name.
std::map<std::string, std::string> snapshot(const std::filesystem::path& dir, bool live = false) {
    std::map<std::string, std::string> out;
    for (const auto& f : std::filesystem::recursive_directory_iterator(dir)) {
        if (!f.is_regular_file()) continue;
        const auto name = std::filesystem::relative(f.path(), dir).string();
        out[name] = live && f.path().filename() == "lock.mdb" ? "" : test::read_text(f.path());
    }
    return out;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// A small store of its own in `dir`: BTC 1m, a few days.
void small_store(const std::filesystem::path& dir, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    auto s = Store::open(dir);
    const SeriesKey key{"BTC", Duration{kMin}};
    s.write(std::vector<SeriesBatch>{batch(key, walk(rng, times_24x7(rng, 1'700'000'040 * kSec, 3000)))});
}

}  // namespace

TEST_CASE("spill: the store's own directory, however spelled, is refused and left exactly as it was") {
    const auto seed = test::seed();
    CAPTURE(seed);
    World w(seed, 3);
    const auto store_dir = w.dir.path();
    const auto before = snapshot(store_dir, true);
    const auto answer = barstore::query(w.store, w.keys.at("BTC"), cold(5 * kMin, 100, w.hi));
    test::TempDir links;
    std::filesystem::create_directory_symlink(store_dir, links / "link");
    const auto cwd = std::filesystem::current_path();
    std::filesystem::current_path(store_dir.parent_path());
    const std::string name = store_dir.filename().string();
    for (const std::filesystem::path& spelled :
         {store_dir, store_dir / "", store_dir / ".", std::filesystem::path("./" + name),
          std::filesystem::path("./" + name + "/"), std::filesystem::path(name + "/./"), links / "link",
          links / "link/", links.path() / ".." / name}) {
        CAPTURE(spelled);
        CHECK(has(refusal(w.store, spelled), "the store's own directory"));
    }
    std::filesystem::current_path(cwd);
    CHECK(snapshot(store_dir, true) == before);  // nothing deleted, nothing added (not even reader.lock)
    CHECK(diff(barstore::query(w.store, w.keys.at("BTC"), cold(5 * kMin, 100, w.hi)), answer) == "");
    CHECK(diff(barstore::query(Store::open(store_dir, {.read_only = true}), w.keys.at("BTC"), cold(5 * kMin, 100, w.hi)),
               answer) == "");
}

TEST_CASE("spill: a directory holding a store, or anything else the spill did not make, is refused untouched") {
    const auto seed = test::seed();
    CAPTURE(seed);
    World w(seed, 2);
    test::TempDir t;
    namespace fs = std::filesystem;

    SUBCASE("a copy of a store (the issue's repro: replay --spill-dir A2)") {
        const auto copy = t / "A2";
        small_store(t / "A1", seed);
        fs::copy(t / "A1", copy);
        const auto before = snapshot(copy);
        const std::string why = refusal(w.store, copy);
        CHECK(has(why, copy.string()));
        CHECK(has(why, "data.mdb"));
        CHECK(snapshot(copy) == before);
        CHECK(Store::open(copy, {.read_only = true}).list().size() == 1);
    }
    SUBCASE("the directory that holds the Reader's own store") {
        small_store(t / "db", seed);
        auto s = Store::open(t / "db", {.read_only = true});
        const auto before = snapshot(t.path(), true);
        CHECK(has(refusal(s, t.path()), "holds the store"));
        CHECK(has(refusal(s, t / "db" / ".."), "holds the store"));
        CHECK(snapshot(t.path(), true) == before);
        CHECK(s.list().size() == 1);
    }
    SUBCASE("a user's file") {
        std::ofstream(t / "notes.txt") << "mine\n";
        fs::create_directory(t / "sub");
        const auto before = snapshot(t.path());
        const std::string why = refusal(w.store, t.path());
        CHECK(has(why, "notes.txt"));
        CHECK(snapshot(t.path()) == before);
        CHECK(fs::exists(t / "sub"));
        CHECK_FALSE(fs::exists(t / "reader.lock"));
    }
    SUBCASE("a regular file") {
        std::ofstream(t / "file") << "mine\n";
        CHECK(has(refusal(w.store, t / "file"), "not a directory"));
        CHECK(test::read_text(t / "file") == "mine\n");
    }
    SUBCASE("a spill directory whose data.mdb a store's files replaced") {
        const auto dir = t / "spill";
        {
            Reader r(w.store, options(kUnlimited, 100, 10, dir));
            r.last_bars(w.keys.at("BTC"), Duration{5 * kMin}, 50, at(w.hi));
            r.clear();
            REQUIRE(r.stats().spill_entries == 1);
        }
        small_store(t / "other", seed);
        for (const char* f : {"data.mdb", "lock.mdb"}) {
            fs::remove(dir / f);
            fs::copy_file(t / "other" / f, dir / f);
        }
        const auto before = snapshot(dir);
        CHECK(has(refusal(w.store, dir), "data.mdb"));
        CHECK(snapshot(dir) == before);
        // Still the store's bytes (Store::open itself refuses a directory with a spill marker).
        CHECK(test::read_text(dir / "data.mdb") == test::read_text(t / "other" / "data.mdb"));
    }
    SUBCASE("a spill directory a store is then written into (ingest --db SPILL_DIR)") {
        const auto dir = t / "spill";
        { Reader r(w.store, options(kUnlimited, 100, 10, dir)); }
        auto before = snapshot(dir);
        // Store::open refuses it: its data.mdb is the spill's, deleted when a Reader reopens it.
        CHECK_THROWS_AS(small_store(dir, seed), barstore::InvalidInput);
        CHECK(snapshot(dir) == before);
        // A store written there by other means (an older barstore) is refused by the Reader:
        // the spill's data.mdb then has more than the spill's one table.
        std::optional<test::RawEnv> env(std::in_place, dir);
        MDB_txn* txn = nullptr;
        REQUIRE(mdb_txn_begin(env->get(), nullptr, 0, &txn) == 0);
        MDB_dbi dbi = 0;
        REQUIRE(mdb_dbi_open(txn, "catalog", MDB_CREATE, &dbi) == 0);
        REQUIRE(mdb_txn_commit(txn) == 0);
        env.reset();  // closed before the Reader looks at the directory
        before = snapshot(dir);
        CHECK(has(refusal(w.store, dir), "store"));
        CHECK(snapshot(dir) == before);
    }
    SUBCASE("an empty directory, a spill directory and a missing one are fine, and reused") {
        CHECK(refusal(w.store, t.path()) == "no error");
        CHECK(refusal(w.store, t.path()) == "no error");
        CHECK(refusal(w.store, t / "new" / "spill") == "no error");
        CHECK(refusal(w.store, t / "new" / "spill") == "no error");
    }
}

TEST_CASE("spill: inspect_spill (barstore stats) refuses what is not a spill directory, without opening it") {
    const auto seed = test::seed();
    CAPTURE(seed);
    World w(seed, 2);
    const auto before = snapshot(w.dir.path(), true);
    CHECK_THROWS_AS(barstore::inspect_spill(w.dir.path()), barstore::InvalidInput);
    CHECK(snapshot(w.dir.path(), true) == before);
    test::TempDir t;
    std::ofstream(t / "notes.txt") << "mine\n";
    CHECK_THROWS_AS(barstore::inspect_spill(t.path()), barstore::InvalidInput);
    CHECK_FALSE(barstore::inspect_spill(t / "missing").exists);
}

TEST_CASE("spill: the directory and its files are private to the user") {
    const auto seed = test::seed();
    CAPTURE(seed);
    World w(seed, 2);
    test::TempDir t;
    namespace fs = std::filesystem;
    const auto dir = t / "spill";
    Reader r(w.store, options(kUnlimited, 100, 10, dir));
    r.last_bars(w.keys.at("BTC"), Duration{5 * kMin}, 50, at(w.hi));
    r.clear();
    REQUIRE(r.stats().spill_entries == 1);
    // Only the owner may truncate what the Reader has mapped (docs/reliability.md).
    CHECK((fs::status(dir).permissions() & fs::perms::mask) == fs::perms::owner_all);
    for (const auto& f : fs::directory_iterator(dir)) {
        CAPTURE(f.path());
        CHECK((f.status().permissions() & fs::perms::mask) == (fs::perms::owner_read | fs::perms::owner_write));
    }
}

TEST_CASE("spill: when it cannot be used, the Reader runs without it and says why") {
    const auto seed = test::seed();
    CAPTURE(seed);
    World w(seed, 3);
    test::TempDir t;
    const auto store_dir = w.dir.path();
    const SeriesKey btc = w.keys.at("BTC");
    const i64 t0 = w.lo + 2 * kDay;

    // In a child: it changes its user or file size limit. Exit codes: 0 as expected, 3 spill not
    // disabled, 4 no reason, 5 a wrong answer, 6 something spilled.
    auto degrade = [&](const std::filesystem::path& spill_dir, const std::function<void()>& before_open,
                       const std::string& expect) {
        return stress::run_in_child([&] {
            auto s = Store::open(store_dir, {.read_only = true});  // the child's own environment (fork rule)
            before_open();
            Reader r(s, options(16 << 10, 200, 50, spill_dir));
            const auto st = r.stats();
            std::fprintf(stderr, "reason: %s\n", st.spill_disabled_reason.c_str());
            if (!st.spill_disabled) return 3;
            if (!has(st.spill_disabled_reason, spill_dir.string()) || !has(st.spill_disabled_reason, expect)) return 4;
            for (int i = 0; i < 40; ++i)
                for (const i64 tf : {kMin, 5 * kMin, kHour}) {
                    const auto got = r.last_bars(btc, Duration{tf}, 100, at(t0 + i * 37 * kMin)).to_columns();
                    if (diff(got, barstore::query(s, btc, cold(tf, 100, t0 + i * 37 * kMin))) != "") return 5;
                }
            return r.stats().evictions > 0 && r.stats().spills == 0 && r.stats().spill_entries == 0 ? 0 : 6;
        });
    };
    SUBCASE("a directory that cannot be created") {
        std::ofstream(t / "file") << "x";
        CHECK(degrade(t / "file" / "spill", [] {}, "cannot create").describe() == "exit 0");
    }
    SUBCASE("an unwritable directory (another user's store)") {
        std::filesystem::create_directory(t / "theirs");
        std::filesystem::permissions(t / "theirs", std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec |
                                                       std::filesystem::perms::group_read | std::filesystem::perms::group_exec |
                                                       std::filesystem::perms::others_read | std::filesystem::perms::others_exec);
        auto drop_root = [&] {
            // Root may write anywhere: become nobody (the store is already open and mapped; its
            // directory must stay searchable for the Reader's stat of it, whatever the umask).
            if (::geteuid() != 0) return;
            std::filesystem::permissions(store_dir, std::filesystem::perms::others_exec, std::filesystem::perm_options::add);
            if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(7);
        };
        CHECK(degrade(t / "theirs" / "spill", drop_root, "Permission denied").describe() == "exit 0");
    }
    SUBCASE("no space for its files") {
        auto no_space = [] {
            ::signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails with EFBIG instead
            const rlimit lim{0, 0};
            if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) ::_exit(7);
        };
        CHECK(degrade(t / "spill", no_space, "").describe() == "exit 0");
    }
    SUBCASE("the spill stops working under a running Reader") {
        const auto dir = t / "spill";
        const auto outcome = stress::run_in_child([&] {
            auto s = Store::open(store_dir, {.read_only = true});
            Reader r(s, options(16 << 10, 200, 50, dir));
            if (r.stats().spill_disabled) return 3;
            // The directory goes, and every write to the files fails: the spill cannot start over.
            std::filesystem::remove_all(dir);
            ::signal(SIGXFSZ, SIG_IGN);
            const rlimit lim{0, 0};
            if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) return 7;
            for (int i = 0; i < 200; ++i)
                for (const i64 tf : {kMin, 5 * kMin, 15 * kMin, kHour, 4 * kHour}) {
                    const auto got = r.last_bars(btc, Duration{tf}, 300, at(t0 + i * 11 * kMin)).to_columns();
                    if (diff(got, barstore::query(s, btc, cold(tf, 300, t0 + i * 11 * kMin))) != "") return 5;
                }
            const auto st = r.stats();
            std::fprintf(stderr, "reason: %s; spills %llu, errors %llu\n", st.spill_disabled_reason.c_str(),
                         static_cast<unsigned long long>(st.spills), static_cast<unsigned long long>(st.spill_errors));
            if (!st.spill_disabled) return 3;
            return has(st.spill_disabled_reason, dir.string()) && st.spill_errors > 0 ? 0 : 4;
        });
        CHECK(outcome.describe() == "exit 0");
    }
}

// ---- writes while cached --------------------------------------------------------------------------------------

TEST_CASE("a series replaced, appended to or given a new session while cached is never served stale") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    World w(seed);
    test::TempDir spill;
    const SeriesKey& btc = w.keys.at("BTC");
    const i64 t = w.lo + 6 * kDay;
    Reader r(w.store, options(kUnlimited, 1000, 300, spill.path()));
    REQUIRE(check_one(r, w, "BTC", kMin, 300, t, true) == "");
    REQUIRE(check_one(r, w, "BTC", 5 * kMin, 100, t, true) == "");
    REQUIRE(check_one(r, w, "BTC", kHour, 10, t, true) == "");
    r.clear();  // spilled copies of the old generation
    REQUIRE(check_one(r, w, "BTC", kHour, 10, t, true) == "");  // back in memory too

    SUBCASE("replace") {
        // Rewrite the last 10 hours before t, inside every window.
        auto& bars = w.bars["BTC"];
        std::vector<IntBar> repl;
        for (const auto& b : bars)
            if (b.ts >= t - 10 * kHour && b.ts < t) repl.push_back(b);
        for (auto& b : repl) {
            b.open += 77;
            b.close += 77;
            b.high += 500;
            b.low -= 500;
        }
        w.store.write(std::vector<SeriesBatch>{batch(btc, repl)}, barstore::WriteMode::replace);
        std::size_t k = 0;
        for (auto& b : bars)
            if (k < repl.size() && b.ts == repl[k].ts) b = repl[k++];
        const u64 hits = r.stats().spill_hits;
        REQUIRE(check_one(r, w, "BTC", kMin, 300, t, true) == "");
        REQUIRE(check_one(r, w, "BTC", 5 * kMin, 100, t, true) == "");
        REQUIRE(check_one(r, w, "BTC", kHour, 10, t, true) == "");
        CHECK(r.stats().spill_hits == hits);  // the old copies were deleted, never read
        CHECK(r.stats().spill_entries == 0);
    }
    SUBCASE("append") {
        auto& bars = w.bars["BTC"];
        const auto more = walk(rng, times_24x7(rng, bars.back().ts + kMin, 500));
        w.store.write(std::vector<SeriesBatch>{batch(btc, more)});
        bars.insert(bars.end(), more.begin(), more.end());
        const i64 end = bars.back().ts + kMin;
        REQUIRE(check_one(r, w, "BTC", kMin, 300, end, true) == "");
        REQUIRE(check_one(r, w, "BTC", kHour, 10, end, true) == "");
    }
    SUBCASE("session") {
        w.store.set_session(btc, barstore::parse_session("us-equity"));
        // The default alignment follows the series' session now.
        REQUIRE(check_one(r, w, "BTC", kHour, 10, t, false) == "");
        REQUIRE(check_one(r, w, "BTC", kMin, 300, t, false) == "");
    }
    SUBCASE("an unknown series") {
        CHECK_THROWS_AS(r.last_bars(SeriesKey{"NOPE", Duration{kMin}}, Duration{kMin}, 5, at(t)), barstore::NotFound);
    }
}

// ---- numbers that wrap (issue 10): volume sums, huge counts, times outside the supported range -------------

namespace {

/// The Reader's or query()'s answer as text, or "InvalidInput" (the two must agree on both).
template <class Fn>
std::string outcome_of(Fn&& fn) {
    try {
        const BarColumns got = fn();
        std::string s;
        for (std::size_t i = 0; i < got.size(); ++i) s += show_iso(got, i, ' ') + ";";
        return s;
    } catch (const barstore::InvalidInput&) {
        return "InvalidInput";
    }
}

/// The naive oracle with 128-bit volume sums: the exact bins, or "InvalidInput" if one overflows.
std::string wide_oracle(const std::vector<IntBar>& bars, i64 base, i64 tf, std::size_t n, i64 t) {
    reference::NaiveQuery q;
    q.timeframe = tf;
    q.last = n;
    q.as_of = t;
    std::string s;
    for (const auto& b : reference::query_wide(bars, base, q)) {
        if (!reference::fits_int64(b.volume)) return "InvalidInput";
        s += show_iso(cols({{b.ts, b.open, b.high, b.low, b.close, static_cast<i64>(b.volume)}}), 0, ' ') + ";";
    }
    return s;
}

}  // namespace

TEST_CASE("Reader: volumes near int64's limit, random timeframes: exact (128-bit oracle) or InvalidInput, as query()") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    test::TempDir dir;
    Store store = Store::open(dir.path());
    const i64 day0 = reference::days_from_civil(2024, 3, 4);
    // Near-limit volumes, rare in one series and common in the other, so answers of every size
    // both fit and overflow.
    auto edge = [&](std::vector<IntBar> bars, unsigned near_percent) {
        for (auto& b : bars) {
            if (rng() % 100 >= near_percent) continue;
            const i64 k = 1 + static_cast<i64>(rng() % 5);
            b.volume = std::numeric_limits<i64>::max() / k - static_cast<i64>(rng() % 3);
        }
        return bars;
    };
    std::map<std::string, std::vector<IntBar>> bars;
    std::map<std::string, SeriesKey> keys;
    bars["HOT"] = edge(walk(rng, times_24x7(rng, day0 * kDay, 8000)), 40);
    bars["WARM"] = edge(walk(rng, times_24x7(rng, day0 * kDay, 8000)), 2);
    bars["EQ"] = edge(walk(rng, times_equity(rng, day0, 12)), 5);
    for (const auto& [sym, b] : bars) {
        keys[sym] = SeriesKey{sym, Duration{kMin}};
        std::optional<Session> s;
        if (sym == "EQ") s = barstore::parse_session("us-equity");
        store.write(std::vector<SeriesBatch>{batch(keys[sym], b, {2, 0}, s)});
    }
    const i64 lo = day0 * kDay, hi = lo + 6 * kDay;
    int refused = 0, exact = 0;
    // Small budgets evict and spill aggregates: an overflowed bin must stay refused after the trip.
    for (const u64 budget : {kUnlimited, u64{64} << 10}) {
        CAPTURE(budget);
        test::TempDir spill;
        Reader r(store, options(budget, 300, 100, spill.path() / "spill"));
        i64 t = lo + static_cast<i64>(rng() % 600) * kMin;
        for (int step = 0; step < 400; ++step) {
            const std::string sym = rng() % 3 == 0 ? "EQ" : rng() % 2 ? "HOT" : "WARM";
            const i64 tfs[] = {kMin, 2 * kMin, 3 * kMin, 5 * kMin, 7 * kMin, 15 * kMin, kHour, kDay, kWeek};
            const i64 tf = tfs[rng() % std::size(tfs)];
            const std::size_t ns[] = {1, 2, 5, 40, 300, SIZE_MAX};
            const std::size_t n = ns[rng() % std::size(ns)];
            const auto k = rng() % 10;
            t += k < 7 ? static_cast<i64>(1 + rng() % 20) * kMin : k < 9 ? -static_cast<i64>(rng() % 2000) * kMin
                                                                          : static_cast<i64>(rng() % 3000) * kMin;
            t = std::clamp(t, lo - kDay, hi + kDay);
            CAPTURE(step);
            CAPTURE(sym);
            CAPTURE(tf);
            CAPTURE(n);
            CAPTURE(t);
            const SeriesKey& key = keys.at(sym);
            const std::string got = outcome_of([&] { return r.last_bars(key, Duration{tf}, n, at(t)).to_columns(); });
            const std::string cold_path = outcome_of([&] { return barstore::query(store, key, cold(tf, n, t)); });
            REQUIRE(got == cold_path);
            if (sym != "EQ") REQUIRE(got == wide_oracle(bars.at(sym), kMin, tf, n, t));
            ++(got == "InvalidInput" ? refused : exact);
        }
        if (budget != kUnlimited) CHECK(r.stats().spill_hits > 0);
    }
    MESSAGE("refused " << refused << ", exact " << exact);
    CHECK(refused > 50);
    CHECK(exact > 50);
}

TEST_CASE("Reader: any count, as query(); an as-of outside the supported range is InvalidInput, as query()") {
    const auto seed = test::seed();
    CAPTURE(seed);
    World w(seed, 4);
    Reader r(w.store, options(kUnlimited, 1000, 300));
    const i64 t = w.lo + 3 * kDay;
    for (const std::size_t n : {SIZE_MAX, SIZE_MAX - 1, std::size_t{6148914691236517204ull}}) {
        CAPTURE(n);
        for (const i64 tf : {kMin, 3 * kMin, kHour, kDay}) {
            CAPTURE(tf);
            REQUIRE(check_one(r, w, "BTC", tf, n, t, true) == "");
            REQUIRE(check_one(r, w, "SPY", tf, n, t, false) == "");
        }
    }
    const SeriesKey& btc = w.keys.at("BTC");
    for (const i64 bad : {std::numeric_limits<i64>::min(), reference::epoch_ns(1677, 9, 21, 0, 12, 44),
                          reference::epoch_ns(1679, 1, 1) - 1, reference::epoch_ns(2261, 1, 1),
                          std::numeric_limits<i64>::max()}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(r.last_bars(btc, Duration{kHour}, 5, at(bad)), barstore::InvalidInput);
        CHECK_THROWS_AS(r.last_bars(btc, Duration{kMin}, 5, at(bad)), barstore::InvalidInput);
        CHECK_THROWS_AS(barstore::query(w.store, btc, cold(kHour, 5, bad)), barstore::InvalidInput);
    }
    // The first supported instant: nothing had ended.
    CHECK(r.last_bars(btc, Duration{kHour}, 5, at(reference::epoch_ns(1679, 1, 1))).empty());
    CHECK_THROWS_AS(r.last_bars(btc, Duration{367 * kDay}, 5, at(t)), barstore::InvalidInput);
}
