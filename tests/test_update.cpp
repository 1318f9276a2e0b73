// tests/test_update.cpp: load_file (ingest into a store) on updates: a file for a symbol already
// stored joins that series, whatever its own smallest step; and any cut of a file into pieces,
// ingested piece by piece, gives exactly the store the whole file gives.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "barstore/error.hpp"
#include "barstore/load.hpp"
#include "barstore/store.hpp"
#include "barstore/time.hpp"
#include "reference/naive_time.hpp"
#include "support/time.hpp"
#include "support/util.hpp"

namespace {

using namespace barstore;
using namespace std::chrono_literals;

using test::kBegin, test::kEnd, test::kDay, test::utc_ns;

/// A store in a temp dir and a place for the files written into it.
struct Fixture {
    test::TempDir dir;
    Store store = Store::open(dir / "db");
    int files = 0;

    std::filesystem::path write(const std::string& text, const std::string& name = "") {
        const auto p = dir / (name.empty() ? "f" + std::to_string(files++) + ".csv" : name);
        std::ofstream(p, std::ios::binary) << text;
        return p;
    }
    std::vector<LoadedSeries> load(const std::string& text, const std::string& symbol,
                                   std::optional<Duration> timeframe = std::nullopt, Stamp stamp = Stamp::start) {
        LoadOptions o;
        o.parse.symbol = symbol;
        o.parse.timeframe = timeframe;
        o.parse.stamp = stamp;
        return load_file(store, write(text), o);
    }
    /// The InvalidInput message, or "(no error)".
    std::string error(const std::string& text, const std::string& symbol,
                      std::optional<Duration> timeframe = std::nullopt) {
        try {
            load(text, symbol, timeframe);
        } catch (const InvalidInput& e) {
            return e.what();
        }
        return "(no error)";
    }
    std::vector<std::string> series(const std::string& symbol) const {
        std::vector<std::string> out;
        for (const auto& s : store.find(symbol)) out.push_back(s.key.symbol + " " + format_timeframe(s.key.base));
        return out;
    }
};

const char* const kHeader = "date,open,high,low,close,volume\n";
std::string daily_row(long y, int m, int d, int price = 10) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04ld-%02d-%02d,%d,%d,%d,%d,100\n", y, m, d, price, price + 1, price - 1, price);
    return buf;
}
std::string minute_row(int h, int mi, int price = 10) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "2024-01-02 %02d:%02d:00,%d,%d,%d,%d,7\n", h, mi, price, price + 1, price - 1, price);
    return buf;
}

/// ORCL 1d, Monday 2024-01-08 .. Thursday 2024-01-11.
void store_orcl(Fixture& f) {
    std::string text = kHeader;
    for (int d = 8; d <= 11; ++d) text += daily_row(2024, 1, d);
    f.load(text, "ORCL");
    REQUIRE(f.series("ORCL") == std::vector<std::string>{"ORCL 1d"});
}

}  // namespace

TEST_CASE("update: a two-row daily file (a Friday and a Monday) joins the stored 1d series") {
    Fixture f;
    store_orcl(f);
    // Alone, these two rows are 3 days apart, and Friday 2024-01-12 is a multiple of 3 days
    // since the epoch: inferred from the file they would make a second series, ORCL 3d.
    REQUIRE(utc_ns(2024, 1, 12) % (3 * kDay) == 0);
    const auto loaded = f.load(std::string(kHeader) + daily_row(2024, 1, 12) + daily_row(2024, 1, 15), "ORCL");
    REQUIRE(loaded.size() == 1);
    CHECK(loaded[0].key == SeriesKey{"ORCL", 24h});
    CHECK(f.series("ORCL") == std::vector<std::string>{"ORCL 1d"});
    const auto bars = f.store.read({"ORCL", 24h}, kBegin, kEnd);
    CHECK(bars.ts == std::vector<std::int64_t>{utc_ns(2024, 1, 8), utc_ns(2024, 1, 9), utc_ns(2024, 1, 10),
                                               utc_ns(2024, 1, 11), utc_ns(2024, 1, 12), utc_ns(2024, 1, 15)});
}

TEST_CASE("update: an illiquid symbol's 1m bars whose smallest gap is 5m join S 1m") {
    Fixture f;
    f.load(std::string(kHeader) + minute_row(10, 0) + minute_row(10, 1), "S");
    REQUIRE(f.series("S") == std::vector<std::string>{"S 1m"});
    f.load(std::string(kHeader) + minute_row(10, 5) + minute_row(10, 10) + minute_row(10, 20), "S");
    CHECK(f.series("S") == std::vector<std::string>{"S 1m"});
    CHECK(f.store.read({"S", 1min}, kBegin, kEnd).size() == 5);
}

TEST_CASE("update: a one-row file takes the stored base; --stamp end steps back by it") {
    Fixture f;
    store_orcl(f);
    CHECK(f.load(std::string(kHeader) + daily_row(2024, 1, 12), "ORCL")[0].key == SeriesKey{"ORCL", 24h});
    // A bar stamped at its end, Tuesday 00:00, is Monday's bar.
    f.load(std::string(kHeader) + daily_row(2024, 1, 16), "ORCL", std::nullopt, Stamp::end);
    CHECK(f.series("ORCL") == std::vector<std::string>{"ORCL 1d"});
    CHECK(f.store.read({"ORCL", 24h}, kBegin, kEnd).ts.back() == utc_ns(2024, 1, 15));
}

TEST_CASE("update: bars that do not fit the stored base are refused naming the line; the store is unchanged") {
    Fixture f;
    store_orcl(f);
    const auto before = f.store.list();
    // Alone, 12 hours apart: they would make ORCL 12h.
    const auto err = f.error("ts,open,high,low,close,volume\n2024-01-12 00:00:00,1,1,1,1,1\n"
                             "2024-01-12 12:00:00,1,1,1,1,1\n",
                             "ORCL");
    CAPTURE(err);
    CHECK(err.find(".csv:3: error: timestamp not aligned to the 1d base of the stored series ORCL 1d") !=
          std::string::npos);
    CHECK(err.find("--timeframe") != std::string::npos);
    CHECK(err.find("(got '2024-01-12 12:00:00,1,1,1,1,1')") != std::string::npos);
    const auto after = f.store.list();
    REQUIRE(after.size() == before.size());
    CHECK(after[0].generation == before[0].generation);
    CHECK(after[0].rows == before[0].rows);
}

TEST_CASE("update: a symbol with several bases needs --timeframe to pick one; a new base needs it too") {
    Fixture f;
    f.load(std::string(kHeader) + minute_row(10, 0) + minute_row(10, 1), "S");
    // A new base for an existing symbol: only with an explicit --timeframe.
    f.load(std::string(kHeader) + minute_row(10, 0) + minute_row(10, 5), "S", 5min);
    REQUIRE(f.series("S") == std::vector<std::string>{"S 1m", "S 5m"});

    const auto err = f.error(std::string(kHeader) + minute_row(10, 10) + minute_row(10, 15), "S");
    CAPTURE(err);
    CHECK(err.find(".csv: error: S has series at several bases (1m, 5m); pass --timeframe to pick one") !=
          std::string::npos);
    CHECK(f.store.read({"S", 1min}, kBegin, kEnd).size() == 2);
    CHECK(f.store.read({"S", 5min}, kBegin, kEnd).size() == 2);

    f.load(std::string(kHeader) + minute_row(10, 10) + minute_row(10, 15), "S", 5min);
    CHECK(f.store.read({"S", 5min}, kBegin, kEnd).size() == 4);
    CHECK(f.series("S") == std::vector<std::string>{"S 1m", "S 5m"});
}

TEST_CASE("update: stored_base is the one stored base, nullopt for a new symbol, an error for several") {
    Fixture f;
    CHECK(!stored_base(f.store, "S").has_value());
    f.load(std::string(kHeader) + minute_row(10, 0) + minute_row(10, 1), "S");
    CHECK(stored_base(f.store, "S") == Duration{1min});
    f.load(std::string(kHeader) + minute_row(10, 0), "S", 1h);
    CHECK_THROWS_AS((void)stored_base(f.store, "S"), InvalidInput);
}

// ---- pieces: any cut of a file, ingested piece by piece, is the whole file ---------------------------------

namespace {

struct Cut {
    std::vector<std::size_t> starts;  // row index where each piece starts; starts[0] == 0
};

/// 2..50 pieces at random points, with some single rows, some starting at a gap and some of two
/// rows across one (`gap_rows`: rows whose step from the previous row is more than the base).
Cut random_cut(std::mt19937_64& rng, std::size_t rows, const std::vector<std::size_t>& gap_rows) {
    const std::size_t pieces = 2 + rng() % 49;
    std::set<std::size_t> starts{0};
    const auto add = [&](std::size_t at) {
        if (at > 0 && at < rows && starts.size() < pieces) starts.insert(at);
    };
    while (starts.size() < pieces) {
        const auto kind = rng() % 4;
        const std::size_t at = 1 + rng() % (rows - 1);
        const std::size_t gap = gap_rows.empty() ? at : gap_rows[rng() % gap_rows.size()];
        if (kind == 0) {  // a piece starting at a gap
            add(gap);
        } else if (kind == 1) {  // a one-row piece
            add(at);
            add(at + 1);
        } else if (kind == 2) {  // two rows, one each side of a gap
            add(gap - 1);
            add(gap + 1);
        } else {
            add(at);
        }
    }
    return {{starts.begin(), starts.end()}};
}

void check_same_store(const Store& a, const Store& b) {
    const auto la = a.list(), lb = b.list();
    REQUIRE(la.size() == lb.size());
    for (std::size_t i = 0; i < la.size(); ++i) {
        CAPTURE(la[i].key.symbol);
        CHECK(la[i].key == lb[i].key);
        CHECK(la[i].scale == lb[i].scale);
        CHECK(la[i].rows == lb[i].rows);
        CHECK(la[i].first == lb[i].first);
        CHECK(la[i].last == lb[i].last);
        CHECK(a.read(la[i].key, kBegin, kEnd) == b.read(lb[i].key, kBegin, kEnd));
    }
}

/// Ingests `header + rows` whole into one store and piece by piece (cut at random) into another,
/// `rounds` times, and compares. The first piece of a new symbol names its base (`first_base`):
/// a piece of one row, or with gaps only, cannot show it; every later piece names nothing.
void check_pieces(const std::string& header, const std::vector<std::string>& rows, Duration first_base,
                  const std::vector<std::size_t>& gap_rows, int rounds, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    test::TempDir dir;
    std::string whole = header;
    for (const auto& r : rows) whole += r;
    {
        std::ofstream(dir / "WHOLE.csv", std::ios::binary) << whole;
    }
    Store reference = Store::open(dir / "whole");
    LoadOptions o;
    o.parse.symbol = "X";
    load_file(reference, dir / "WHOLE.csv", o);
    REQUIRE(reference.list().size() == 1);
    REQUIRE(reference.list()[0].key.base == first_base);

    for (int round = 0; round < rounds; ++round) {
        const auto cut = random_cut(rng, rows.size(), gap_rows);
        CAPTURE(round);
        CAPTURE(cut.starts.size());
        const auto db = dir / ("pieces" + std::to_string(round));
        Store store = Store::open(db);
        for (std::size_t p = 0; p < cut.starts.size(); ++p) {
            const std::size_t lo = cut.starts[p], hi = p + 1 < cut.starts.size() ? cut.starts[p + 1] : rows.size();
            std::string text = header;
            for (std::size_t i = lo; i < hi; ++i) text += rows[i];
            const auto path = dir / "piece.csv";
            {
                std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
            }
            LoadOptions po;
            po.parse.symbol = "X";
            if (p == 0) po.parse.timeframe = first_base;
            CAPTURE(p);
            CAPTURE(lo);
            CAPTURE(hi);
            REQUIRE_NOTHROW(load_file(store, path, po));
        }
        check_same_store(reference, store);
        std::filesystem::remove_all(db);
    }
}

}  // namespace

TEST_CASE("update: the BTC file cut into 2 to 50 pieces, some one row, some at gaps, ingests to the same store") {
    const auto seed = test::seed();
    MESSAGE("seed " << seed << " (BARSTORE_SEED reruns it)");
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto text = test::read_text(test::btc_csv());
    REQUIRE(!text.empty());
    // The file has a bar every minute; thin a random stretch to every 5th minute and drop a few
    // others, so that pieces have gaps and some have no 1-minute step at all.
    std::vector<std::string> lines;
    for (std::size_t p = 0; p < text.size();) {
        const auto nl = text.find('\n', p);
        lines.push_back(text.substr(p, nl - p + 1));
        p = nl + 1;
    }
    const std::string header = lines.front();
    const std::size_t n = lines.size() - 1;
    const std::size_t thin_from = 1 + rng() % (n - 2000), thin_to = thin_from + 1000 + rng() % 1000;
    std::vector<std::string> rows;
    std::vector<std::size_t> gap_rows;
    bool skipped = false;
    for (std::size_t i = 1; i <= n; ++i) {
        const bool drop = (i >= thin_from && i < thin_to && i % 5 != 0) || rng() % 500 == 0;
        if (drop) {
            skipped = true;
            continue;
        }
        if (skipped && !rows.empty()) gap_rows.push_back(rows.size());
        skipped = false;
        rows.push_back(lines[i]);
    }
    REQUIRE(gap_rows.size() > 100);
    check_pieces(header, rows, 1min, gap_rows, 3, rng());
}

TEST_CASE("update: a weekday-only daily file cut across weekends, with varying decimals, ingests to the same store") {
    const auto seed = test::seed();
    MESSAGE("seed " << seed << " (BARSTORE_SEED reruns it)");
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    // Three years of weekdays from Monday 2021-01-04; prices and volumes with 0 to 4 decimals, so
    // that a piece often has fewer decimals than the series and the store rescales one or the other.
    std::vector<std::string> rows;
    std::vector<std::size_t> mondays;
    std::int64_t price_e4 = 1'000'000;
    for (long day = reference::days_from_civil(2021, 1, 4), k = 0; k < 3 * 365; ++day, ++k) {
        const long wd = (day + 4) % 7;  // 0 = Sunday; 1970-01-01 was a Thursday
        if (wd == 0 || wd == 6) continue;
        if (wd == 1 && !rows.empty()) mondays.push_back(rows.size());
        const auto decimals = static_cast<int>(rng() % 5);
        static const std::int64_t kStep[5] = {10000, 1000, 100, 10, 1};
        const auto q = [&](std::int64_t v) { return v / kStep[decimals] * kStep[decimals]; };
        const auto text = [&](std::int64_t v) {  // v in 1e-4 units, printed with `decimals` places
            std::string s = std::to_string(v / 10000);
            if (decimals > 0) {
                std::string frac = std::to_string(10000 + v % 10000).substr(1, static_cast<std::size_t>(decimals));
                s += "." + frac;
            }
            return s;
        };
        price_e4 = std::max<std::int64_t>(10000, price_e4 + static_cast<std::int64_t>(rng() % 20001) - 10000);
        const std::int64_t o = q(price_e4), c = q(price_e4 + static_cast<std::int64_t>(rng() % 5001) - 2500);
        const std::int64_t h = std::max(o, c) + q(static_cast<std::int64_t>(rng() % 3000));
        const std::int64_t l = std::min(o, c) - q(static_cast<std::int64_t>(rng() % 3000));
        const std::int64_t v = q(static_cast<std::int64_t>(rng() % 100'000'000));
        const auto ymd = reference::civil_from_days(day);
        char date[32];
        std::snprintf(date, sizeof date, "%04d-%02d-%02d", static_cast<int>(ymd.y), ymd.m % 100, ymd.d % 100);
        rows.push_back(std::string(date) + "," + text(o) + "," + text(h) + "," + text(l) + "," + text(c) + "," +
                       text(v) + "\n");
    }
    check_pieces("Date,Open,High,Low,Close,Volume\n", rows, 24h, mondays, 4, rng());
}

TEST_CASE("load_file: a write refused in the first block is the error, not a bad line in a later block the parse reached first") {
    // load_file parses a block ahead of its writes (docs/cli.md, "Memory"). The first error in
    // file order must still win, as in a serial load: here the write of the first block's bars
    // (before the stored series' last bar, without --replace) before the unparseable last line,
    // which is in the second 16 MiB block.
    Fixture f;
    std::string text = "ts,open,high,low,close,volume\n";
    const std::int64_t t0 = 1'599'999'960;  // epoch seconds, on a minute
    f.load(text + std::to_string(t0 + 60 * 10) + ",1,1,1,1,1\n", "X", 1min);
    const auto before = f.store.list();
    std::size_t rows = 0;
    while (text.size() < kStreamBlockBytes + (1u << 20)) {
        text += std::to_string(t0 + 60 * static_cast<std::int64_t>(rows++)) + ",100.25,101.5,99.75,100.5,1234\n";
    }
    text += "not a number,1,1,1,1,1\n";
    const auto err = f.error(text, "X", 1min);
    CAPTURE(err);
    CHECK(err.find("bars at or before the series' last bar") != std::string::npos);
    CHECK(err.find("not a number") == std::string::npos);
    // The same file without the overlap fails on the bad line, naming it: the parse did reach it.
    Fixture g;
    const auto bad_line = g.error(text, "X", 1min);
    CAPTURE(bad_line);
    CHECK(bad_line.find(":" + std::to_string(rows + 2) + ": error:") != std::string::npos);
    const auto after = f.store.list();
    REQUIRE(after.size() == before.size());
    CHECK(after[0].generation == before[0].generation);
    CHECK(after[0].rows == before[0].rows);
}
