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

#include "aggregate/binner.hpp"
#include "barstore/error.hpp"
#include "barstore/query.hpp"
#include "barstore/store.hpp"
#include "codec/chunk.hpp"
#include "reference/naive_bars.hpp"
#include "reference/naive_resample.hpp"
#include "support/bars.hpp"
#include "support/time.hpp"
#include "support/util.hpp"

using barstore::BarColumns;
using barstore::Duration;
using barstore::InvalidInput;
using barstore::QueryOptions;
using barstore::SeriesKey;
using barstore::Store;
using barstore::Timestamp;
using reference::IntBar;
using test::batch, test::cols, test::diff, test::make_int_bars, test::show;
using test::kSec, test::kMin, test::kHour, test::kDay;
using namespace std::chrono_literals;

namespace {

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
    if (q.from && q.to && *q.from > *q.to) std::swap(*q.from, *q.to);  // from after to is an error
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
        // Up to 366 days, the longest timeframe supported.
        const std::int64_t k =
            std::min(static_cast<std::int64_t>(1 + rng() % (rng() % 4 == 0 ? 2000 : 30)), 366 * kDay / base);
        // Keep the whole series inside int64 ns: +-1e6 bases (+-20000 days at 1d), no long gaps at 1d.
        const std::int64_t reach = base >= kDay ? 20000 : 1000000;
        const std::int64_t start = (static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(2 * reach)) - reach) * base;
        const auto bars = make_int_bars(rng, rng() % 3000, start, base, base < kDay);
        CAPTURE(base);
        CAPTURE(k);
        CAPTURE(start);
        CHECK(diff(barstore::resample(cols(bars), Duration{base}, Duration{k * base}), reference::resample(bars, k * base)) ==
              "");
    }
}

TEST_CASE("resample rejects timeframes that are not a positive multiple of the base") {
    std::mt19937_64 rng(1);
    const auto in = cols(make_int_bars(rng, 10, 0, kMin));
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
    const auto b = batch(key, bars);
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
    const auto bars = make_int_bars(rng, 15000, reference::epoch_ns(2021, 12, 31, 23, 1), kMin);
    const auto b = batch(key, bars);
    store.write(std::span(&b, 1));
    for (int iter = 0; iter < 400; ++iter) {
        const auto q = random_query(rng, bars.front().ts, bars.back().ts, kMin);
        const std::string text = describe(q);
        CAPTURE(text);
        CHECK(diff(barstore::query(store, key, to_options(q)), reference::query(bars, kMin, q)) == "");
    }
}

TEST_CASE("last N over dozens of chunks equals the oracle: resample all, take the tail") {
    // A backwards read decodes chunk after chunk into one reused buffer: long series, long
    // timeframes (200 1d bins are ~70 chunks) and early stops at any chunk check that the pieces
    // come newest first, whole and in time order, and that a read nested in a callback is right.
    const auto seed = test::seed();
    CAPTURE(seed);
    MESSAGE("seed " << seed);
    std::mt19937_64 rng(seed);
    constexpr std::size_t codec_rows = barstore::codec::kChunkRows;
    test::TempDir dir;
    auto store = Store::open(dir.path());
    const SeriesKey key{"LONG", 1min};
    const auto bars = make_int_bars(rng, 25 * codec_rows + rng() % codec_rows, reference::epoch_ns(2020, 1, 1), kMin,
                                    rng() % 2 == 0);
    const auto b = batch(key, bars);
    store.write(std::span(&b, 1));
    const std::int64_t tfs[] = {5 * kMin, kHour, 4 * kHour, kDay, 7 * kDay};
    for (int iter = 0; iter < 60; ++iter) {
        reference::NaiveQuery q;
        q.timeframe = tfs[rng() % std::size(tfs)];
        q.last = 1 + rng() % 300;
        if (rng() % 4 == 0) {
            // On a chunk edge (the writer cuts chunks every codec_rows bars from the first): as_of
            // a minute before, at, a nanosecond or a minute after a chunk's first bar, so the
            // newest chunk read holds nothing, one bar or a cut bin.
            const std::size_t edge = codec_rows * (1 + rng() % (bars.size() / codec_rows - 1));
            const std::int64_t offsets[] = {-kMin, 0, 1, kMin};
            q.as_of = bars[edge].ts + offsets[rng() % std::size(offsets)];
        } else if (rng() % 3) {
            q.as_of = bars[bars.size() / 2 + rng() % (bars.size() / 2)].ts + static_cast<std::int64_t>(rng() % 3) * kMin;
        }
        q.include_forming = rng() % 2;
        const std::string text = describe(q);
        CAPTURE(text);
        CHECK(diff(barstore::query(store, key, to_options(q)), reference::query(bars, kMin, q)) == "");
    }
    for (int iter = 0; iter < 6; ++iter) {
        const std::int64_t before = bars[rng() % bars.size()].ts + 1;
        CAPTURE(before);
        std::vector<IntBar> want;
        for (const auto& x : bars)
            if (x.ts < before) want.push_back(x);
        std::vector<BarColumns> pieces;
        std::size_t nested_ok = 0;
        store.scan_last(key, Timestamp{Duration{before}}, [&](const BarColumns& piece) {
            pieces.push_back(piece);
            if (pieces.size() % 7 == 3) {
                // A read inside the callback (which may reuse the lent piece's buffer) is right.
                const std::int64_t first_ts = piece.ts.front();  // `piece` is lent only until the inner read
                const auto inner = store.read_last(key, 3 * codec_rows, Timestamp{Duration{first_ts}});
                std::vector<IntBar> inner_want;
                for (const auto& x : want)
                    if (x.ts < first_ts) inner_want.push_back(x);
                inner_want.erase(inner_want.begin(), inner_want.end() - static_cast<std::ptrdiff_t>(std::min(inner_want.size(), 3 * codec_rows)));
                nested_ok += diff(inner, inner_want) == "";
            }
        });
        CHECK(nested_ok == (pieces.size() + 4) / 7);
        BarColumns joined;
        for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) joined.append(*it, 0, it->size());
        CHECK(diff(joined, want) == "");
        // Stopped after k pieces: exactly k calls, the newest k pieces.
        const std::size_t k = 1 + rng() % pieces.size();
        std::size_t calls = 0;
        BarColumns last_seen;
        store.scan_last(key, Timestamp{Duration{before}}, [&](const BarColumns& piece) {
            last_seen = piece;
            return ++calls < k;
        });
        CHECK(calls == k);
        CHECK(last_seen == pieces[k - 1]);
    }
}

TEST_CASE("query never looks ahead: results for as_of ignore every base bar that ends after it") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    test::TempDir dir;
    auto store = Store::open(dir.path());
    const SeriesKey key{"PAST", 1min};
    const auto bars = make_int_bars(rng, 6000, reference::epoch_ns(2022, 1, 3), kMin);
    const auto b = batch(key, bars);
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
        for (auto x : make_int_bars(rng, 1 + rng() % 3000, resume, kMin)) {
            x.high += 1000000;  // a spike the past must never see
            x.volume += 7;
            alt.push_back(x);
        }
        const SeriesKey alt_key{"ALT" + std::to_string(iter), 1min};
        const auto ab = batch(alt_key, alt);
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

// ---- numbers that wrap: counts, sums and time arithmetic (issue 10) ------------------------------------------

namespace {

constexpr std::int64_t kI64Max = std::numeric_limits<std::int64_t>::max();

/// A 1m series of `n` bars from 2022-01-03 with the given volumes (cycled), written to `store`.
std::vector<IntBar> write_volumes(Store& store, const SeriesKey& key, std::size_t n, const std::vector<std::int64_t>& vols,
                                  std::int64_t start = reference::epoch_ns(2022, 1, 3)) {
    std::vector<IntBar> bars;
    for (std::size_t i = 0; i < n; ++i)
        bars.push_back({start + static_cast<std::int64_t>(i) * key.base.count(), 10, 20, 5, 15, vols[i % vols.size()]});
    const auto b = batch(key, bars, {0, 0});
    store.write(std::span(&b, 1));
    return bars;
}

/// The answer of `fn` as text: the bins, or "InvalidInput: <message>".
template <class Fn>
std::string outcome(Fn&& fn) {
    try {
        const BarColumns got = fn();
        std::string s;
        for (std::size_t i = 0; i < got.size(); ++i) s += show(got, i) + ";";
        return s;
    } catch (const InvalidInput& e) {
        return std::string("InvalidInput: ") + e.what();
    }
}

std::string wide_text(const std::vector<reference::WideBin>& bins) {
    std::string s;
    for (const auto& b : bins) {
        if (!reference::fits_int64(b.volume)) return "overflow";
        s += std::to_string(b.ts) + "," + std::to_string(b.open) + "," + std::to_string(b.high) + "," +
             std::to_string(b.low) + "," + std::to_string(b.close) + "," +
             std::to_string(static_cast<std::int64_t>(b.volume)) + ";";
    }
    return s;
}

/// With `near_percent` % odds a volume near int64's limit: INT64_MAX / k give or take a little, so
/// that k bars of a bin sum just below or just above the limit, or anywhere in int64; else small.
std::int64_t edge_volume(std::mt19937_64& rng, unsigned near_percent) {
    if (rng() % 100 >= near_percent) return static_cast<std::int64_t>(rng() % 1000);
    switch (rng() % 3) {
        case 0: return static_cast<std::int64_t>(rng() >> 1);
        default: {
            const std::int64_t k = 1 + static_cast<std::int64_t>(rng() % 6);
            // k == 1 may only go down: INT64_MAX itself is the top.
            const std::int64_t up = k > 1 ? static_cast<std::int64_t>(rng() % 3) : 0;
            return kI64Max / k - static_cast<std::int64_t>(rng() % 3) + up;
        }
    }
}

}  // namespace

TEST_CASE("query --last with any count ends: counts whose bin arithmetic wraps, SIZE_MAX, SIZE_MAX - 1") {
    test::TempDir dir;
    auto store = Store::open(dir.path());
    const SeriesKey key{"N", 1min};
    const auto bars = write_volumes(store, key, 20, {1});
    // (n + 1) * ratio + 1 wraps to 0 for these (n, ratio): the read window never grew.
    struct Case {
        std::int64_t tf_min;
        std::size_t n;
    };
    for (const Case c : {Case{1, SIZE_MAX}, Case{1, SIZE_MAX - 1}, Case{3, 6148914691236517204ull},
                         Case{5, 3689348814741910322ull}, Case{7, SIZE_MAX / 7}, Case{60, SIZE_MAX - 1}}) {
        CAPTURE(c.tf_min);
        CAPTURE(c.n);
        QueryOptions o;
        o.timeframe = Duration{c.tf_min * kMin};
        o.last = c.n;
        reference::NaiveQuery nq;
        nq.timeframe = c.tf_min * kMin;
        CHECK(diff(barstore::query(store, key, o), reference::query(bars, kMin, nq)) == "");
        o.as_of = Timestamp{Duration{bars[10].ts}};
        nq.as_of = bars[10].ts;
        CHECK(diff(barstore::query(store, key, o), reference::query(bars, kMin, nq)) == "");
    }
}

TEST_CASE("summed volume never wraps: a bin whose sum passes int64 is InvalidInput naming it; just below is exact") {
    // Three 1m bars of 9e18: the issue's example (-446744073709551616 at 2m, a positive lie at 3m).
    const std::int64_t t0 = reference::epoch_ns(2022, 1, 3);
    std::vector<IntBar> bars;
    for (int m = 0; m < 3; ++m) bars.push_back({t0 + m * kMin, 1, 2, 1, 2, 9'000'000'000'000'000'000});
    for (const Duration tf : {Duration{2min}, Duration{3min}, Duration{1h}}) {
        CAPTURE(tf.count());
        const auto r = outcome([&] { return barstore::resample(cols(bars), 1min, tf); });
        CHECK(r.rfind("InvalidInput", 0) == 0);
        CHECK(r.find("2022-01-03T00:00:00Z") != std::string::npos);  // the bin's time
        CHECK(r.find("volume") != std::string::npos);
    }
    test::TempDir dir;
    auto store = Store::open(dir.path());
    const SeriesKey key{"VOL", 1min};
    write_volumes(store, key, 3, {9'000'000'000'000'000'000});
    QueryOptions o;
    o.timeframe = 2min;
    const auto q = outcome([&] { return barstore::query(store, key, o); });
    CHECK(q.rfind("InvalidInput", 0) == 0);
    CHECK(q.find("VOL") != std::string::npos);  // the series
    CHECK(q.find("2m bin at 2022-01-03T00:00:00Z") != std::string::npos);
    // The 00:02 bin holds one bar: asked for alone it is exact, the overflowing bin is not returned.
    o.from = Timestamp{Duration{t0 + 2 * kMin}};
    CHECK(outcome([&] { return barstore::query(store, key, o); }) ==
          show(cols({{t0 + 2 * kMin, 10, 20, 5, 15, 9'000'000'000'000'000'000}}), 0) + ";");
    o.from.reset();
    o.last = 1;
    CHECK(outcome([&] { return barstore::query(store, key, o); }).rfind("InvalidInput", 0) != 0);

    // Sums that land exactly on INT64_MAX are exact.
    const std::vector<IntBar> edge{{t0, 1, 2, 1, 2, kI64Max - 1}, {t0 + kMin, 1, 2, 1, 2, 1}, {t0 + 2 * kMin, 1, 2, 1, 2, 1}};
    const auto two = barstore::resample(cols(edge), 1min, 2min);
    REQUIRE(two.size() == 2);
    CHECK(two.volume[0] == kI64Max);
    CHECK(two.volume[1] == 1);
    CHECK_THROWS_AS(barstore::resample(cols(edge), 1min, 3min), InvalidInput);
    // resample() takes any volumes: a sum that leaves int64 and comes back is still exact.
    const std::vector<IntBar> mixed{{t0, 1, 2, 1, 2, kI64Max}, {t0 + kMin, 1, 2, 1, 2, 5}, {t0 + 2 * kMin, 1, 2, 1, 2, -10}};
    const auto back = barstore::resample(cols(mixed), 1min, 3min);
    REQUIRE(back.size() == 1);
    CHECK(back.volume[0] == kI64Max - 5);
}

TEST_CASE("an overflowed bin stays overflowed when a later call folds more bars into it") {
    // The Reader folds a bin in pieces, each call with a fresh overflow list (cache/entry.cpp):
    // the bin's kVolumeOverflow is then its only mark. 2 x max overflows; adding a third max to
    // the mark would land back in int64 (max + min = -1 + max) and hand out a wrong volume.
    const std::int64_t t0 = reference::epoch_ns(2022, 1, 3);
    const auto in = cols({{t0, 1, 2, 1, 2, kI64Max}, {t0 + kMin, 1, 2, 1, 2, kI64Max}, {t0 + 2 * kMin, 1, 2, 1, 2, kI64Max}});
    barstore::aggregate::Binner binner(Duration{1min}, Duration{1h}, barstore::Alignment::utc, barstore::Session{}, "V 1m");
    BarColumns out;
    std::vector<std::int64_t> ends;
    for (const auto& [first, last] : {std::pair<std::size_t, std::size_t>{0, 2}, {2, 3}}) {
        std::vector<std::int64_t> overflowed;  // fresh per call, as the Reader's
        barstore::aggregate::fold_runs(binner, in, first, last, out, ends, overflowed, [](auto, auto, auto) {});
        CAPTURE(first);
        REQUIRE(out.size() == 1);
        CHECK(out.volume[0] == barstore::aggregate::kVolumeOverflow);
    }
}

TEST_CASE("volumes near int64's limit, random timeframes: resample() and query() are exact (128-bit oracle) or InvalidInput") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    test::TempDir dir;
    auto store = Store::open(dir.path());
    int refused = 0, exact = 0;  // both must be common (exact: non-empty), or the test proves little
    for (int series = 0; series < 6; ++series) {
        const SeriesKey key{"EDGE" + std::to_string(series), 1min};
        std::vector<std::int64_t> vols;
        // From rare to common: bins of every size both fit and overflow somewhere.
        const unsigned near_percent[] = {1, 3, 10, 30, 60, 90};
        for (int i = 0; i < 3000; ++i) vols.push_back(edge_volume(rng, near_percent[series]));
        auto bars = make_int_bars(rng, vols.size(), reference::epoch_ns(2021, 12, 31, 23, 1), kMin);
        for (std::size_t i = 0; i < bars.size(); ++i) bars[i].volume = vols[i];
        const auto b = batch(key, bars);
        store.write(std::span(&b, 1));
        const std::int64_t tfs[] = {kMin, 2 * kMin, 3 * kMin, 5 * kMin, 7 * kMin, 60 * kMin, kDay, 7 * kDay};
        for (int iter = 0; iter < 60; ++iter) {
            reference::NaiveQuery q = random_query(rng, bars.front().ts, bars.back().ts, kMin);
            q.timeframe = tfs[rng() % std::size(tfs)];
            const std::string text = describe(q);
            CAPTURE(text);
            const std::string want = wide_text(reference::query_wide(bars, kMin, q));
            const std::string got = outcome([&] { return barstore::query(store, key, to_options(q)); });
            if (want == "overflow") ++refused;
            if (want != "overflow" && !want.empty()) ++exact;
            if (want == "overflow")
                CHECK(got.rfind("InvalidInput", 0) == 0);
            else
                CHECK(got == want);
        }
        // resample(): every bin is returned, so any bin past int64 makes it an error.
        for (const std::int64_t tf : tfs) {
            CAPTURE(tf);
            reference::NaiveQuery all;
            all.timeframe = tf;
            const std::string want = wide_text(reference::query_wide(bars, kMin, all));
            const std::string got = outcome([&] { return barstore::resample(cols(bars), Duration{kMin}, Duration{tf}); });
            if (want == "overflow")
                CHECK(got.rfind("InvalidInput", 0) == 0);
            else
                CHECK(got == want);
        }
    }
    MESSAGE("refused " << refused << ", exact " << exact);
    CHECK(refused > 30);
    CHECK(exact > 30);
}

TEST_CASE("query_each hands over query()'s bins in pieces, and its errors; overflow found mid-stream too") {
    // More bins than a piece holds (lib/query: 4096), and near-max volumes that overflow some
    // 2m+ bins: the pieces joined equal query(), which the tests above check against the oracle.
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    test::TempDir dir;
    auto store = Store::open(dir.path());
    const SeriesKey key{"EACH", 1min};
    std::vector<IntBar> bars = make_int_bars(rng, 20000, reference::epoch_ns(2021, 12, 31, 23, 1), kMin);
    for (auto& b : bars) b.volume = edge_volume(rng, 1);
    const auto b = batch(key, bars);
    store.write(std::span(&b, 1));
    int multi_piece = 0, refused = 0, stopped = 0;
    for (int iter = 0; iter < 150; ++iter) {
        reference::NaiveQuery q = random_query(rng, bars.front().ts, bars.back().ts, kMin);
        if (rng() % 3 == 0) q.from.reset(), q.to.reset(), q.last.reset();  // whole history: many pieces
        const std::string text = describe(q);
        CAPTURE(text);
        const QueryOptions o = to_options(q);
        std::size_t pieces = 0;
        const std::string want = outcome([&] { return barstore::query(store, key, o); });
        const std::string got = outcome([&] {
            BarColumns joined;
            barstore::query_each(store, key, o, [&](const BarColumns& piece) {
                CHECK(!piece.empty());
                ++pieces;
                joined.append(piece, 0, piece.size());
            });
            return joined;
        });
        if (want.rfind("InvalidInput", 0) == 0) {
            ++refused;
            CHECK(got.rfind("InvalidInput", 0) == 0);
        } else {
            CHECK(got == want);
        }
        if (pieces > 1) ++multi_piece;
        // false stops: only the first piece comes, and it is query()'s first bins.
        std::size_t calls = 0;
        std::string first;
        const std::string once = outcome([&] {
            barstore::query_each(store, key, o, [&](const BarColumns& piece) {
                ++calls;
                for (std::size_t i = 0; i < piece.size(); ++i) first += show(piece, i) + ";";
                return false;
            });
            return BarColumns{};
        });
        CHECK(calls <= 1);
        if (calls == 1 && once.empty() && want.rfind("InvalidInput", 0) != 0) {
            ++stopped;
            CHECK(want.rfind(first, 0) == 0);
        }
    }
    MESSAGE("multi-piece " << multi_piece << ", refused " << refused << ", stopped " << stopped);
    CHECK(multi_piece > 10);
    CHECK(refused > 5);
}

TEST_CASE("query refuses from after to, and times outside the supported range") {
    test::TempDir dir;
    auto store = Store::open(dir.path());
    const SeriesKey key{"R", 1min};
    const auto bars = write_volumes(store, key, 20, {1});
    auto ts = [](std::int64_t ns) { return Timestamp{Duration{ns}}; };
    QueryOptions o;
    o.from = ts(bars[10].ts);
    o.to = ts(bars[5].ts);
    CHECK_THROWS_AS(barstore::query(store, key, o), InvalidInput);
    o.to = o.from;  // an empty range, not an error
    CHECK(barstore::query(store, key, o).empty());

    // The issue's --as-of 1677-09-21T00:12:44Z --include-forming returned every bar of 2022
    // (as_of - base + 1 wrapped to the far future).
    const std::int64_t min_time = reference::epoch_ns(1679, 1, 1), end_time = reference::epoch_ns(2261, 1, 1);
    for (const std::int64_t t : {INT64_MIN, INT64_MIN + 1, reference::epoch_ns(1677, 9, 21, 0, 12, 44), min_time - 1,
                                 end_time, INT64_MAX - 1, INT64_MAX}) {
        CAPTURE(t);
        for (const bool forming : {false, true}) {
            QueryOptions a;
            a.as_of = ts(t);
            a.include_forming = forming;
            CHECK_THROWS_AS(barstore::query(store, key, a), InvalidInput);
        }
        QueryOptions f;
        f.from = ts(t);
        CHECK_THROWS_AS(barstore::query(store, key, f), InvalidInput);
        QueryOptions u;
        u.to = ts(t);
        CHECK_THROWS_AS(barstore::query(store, key, u), InvalidInput);
    }
    // At the range's ends: nothing had ended by its start; everything had by its end.
    QueryOptions a;
    a.as_of = ts(min_time);
    a.include_forming = true;
    CHECK(barstore::query(store, key, a).empty());
    a.as_of = ts(end_time - 1);
    CHECK(barstore::query(store, key, a).size() == bars.size());
    a.from = ts(min_time);
    a.to = ts(end_time - 1);
    CHECK(barstore::query(store, key, a).size() == bars.size());
}

TEST_CASE("timeframes past 366 days are refused; a bin that would start or end outside int64 is InvalidInput, never wraps") {
    const std::int64_t t0 = reference::epoch_ns(2022, 1, 3);
    const BarColumns in = cols({{t0, 1, 2, 1, 2, 1}, {t0 + kMin, 1, 2, 1, 2, 1}});
    CHECK(barstore::resample(in, 1min, Duration{366 * kDay}).size() == 1);
    CHECK_THROWS_AS(barstore::resample(in, 1min, Duration{367 * kDay}), InvalidInput);
    CHECK_THROWS_AS(barstore::resample(in, 1min, Duration{15250 * 7 * kDay}), InvalidInput);
    // The issue's 15250w: its 1970 bin "ended" (label + tf wrapped negative) and was returned as closed.
    test::TempDir dir;
    auto store = Store::open(dir.path());
    const SeriesKey key{"W", 1min};
    write_volumes(store, key, 3, {1});
    QueryOptions o;
    o.timeframe = Duration{15250 * 7 * kDay};
    o.as_of = Timestamp{Duration{t0 + 10 * kMin}};
    CHECK_THROWS_AS(barstore::query(store, key, o), InvalidInput);

    // Bars at int64's ends (a library caller may resample anything): the bin of the last bar
    // would end past INT64_MAX, the bin of the first would start before INT64_MIN.
    const std::int64_t top = INT64_MAX - INT64_MAX % kMin - kMin;  // the last whole minute that ends in range
    const BarColumns high = cols({{top - kMin, 1, 2, 1, 2, 1}, {top, 1, 2, 1, 2, 1}});
    CHECK(barstore::resample(high, 1min, 1min).size() == 2);
    CHECK_THROWS_AS(barstore::resample(high, 1min, 1h), InvalidInput);
    const std::int64_t bottom = INT64_MIN - INT64_MIN % kMin;  // the first whole minute
    const BarColumns low = cols({{bottom, 1, 2, 1, 2, 1}, {bottom + kMin, 1, 2, 1, 2, 1}});
    CHECK(barstore::resample(low, 1min, 1min).size() == 2);
    CHECK_THROWS_AS(barstore::resample(low, 1min, 1h), InvalidInput);
    CHECK_THROWS_AS(barstore::resample(low, 1min, Duration{7 * kDay}), InvalidInput);
}
