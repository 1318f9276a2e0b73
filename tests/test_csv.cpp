// tests/test_csv.cpp: the CSV parser against the real files, every dialect it accepts, every
// error it must name, the naive oracle in reference/naive_csv.hpp, and its own serial path.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <date/date.h>
#include <date/tz.h>
#include <zlib.h>
#include <zstd.h>

#include "barstore/decimal.hpp"
#include "barstore/error.hpp"
#include "barstore/ingest.hpp"
#include "ingest/csv_internal.hpp"
#include "ingest/decompress.hpp"
#include "ingest/csv_number.hpp"
#include "reference/naive_csv.hpp"
#include "support/time.hpp"
#include "support/util.hpp"

namespace {

using namespace barstore;
using namespace std::chrono_literals;
using Tuning = csv_detail::Tuning;

using test::utc_ns;  // counted day by day (reference/naive_time.hpp), not the parser's arithmetic

/// Many tiny chunks on two or more threads even for a few hundred bytes.
const Tuning kChunked{5, 0, 1};
const Tuning kSerial{1, std::size_t(-1), 1};

SeriesBatch parse_one(std::string_view csv, const ParseOptions& o = {}, const Tuning& t = {}) {
    auto v = csv_detail::parse_csv(csv, "t.csv", o, t);
    REQUIRE(v.size() == 1);
    return std::move(v[0]);
}

/// The InvalidInput message, or "(no error)". Any other exception fails the test.
std::string error_of(std::string_view csv, const ParseOptions& o = {}, const Tuning& t = {}) {
    try {
        csv_detail::parse_csv(csv, "t.csv", o, t);
    } catch (const InvalidInput& e) {
        return e.what();
    }
    return "(no error)";
}

std::int64_t sum(const std::vector<std::int64_t>& v) { return std::accumulate(v.begin(), v.end(), std::int64_t{0}); }

// Three bars at 2024-01-02 09:30, 09:31, 09:32 UTC; prices need 2 decimals, volume 1.
struct Expected {
    std::vector<std::int64_t> ts{utc_ns(2024, 1, 2, 9, 30), utc_ns(2024, 1, 2, 9, 31), utc_ns(2024, 1, 2, 9, 32)};
    std::vector<std::int64_t> open{10050, 10075, 10100}, high{10100, 10125, 10150}, low{10000, 10050, 10025},
        close{10075, 10100, 10050}, volume{100, 200, 55};
};
const char* const kValues[3] = {"100.5,101,100,100.75,10", "100.75,101.25,100.5,101,20", "101,101.5,100.25,100.5,5.5"};

/// The three rows with the given stamps (each may hold several fields), delimiter and ending.
std::string rows(const std::vector<std::string>& stamps, char delim = ',', const std::string& eol = "\n",
                 bool final_newline = true) {
    std::string out;
    for (std::size_t i = 0; i < 3; ++i) {
        std::string values = kValues[i];
        std::replace(values.begin(), values.end(), ',', delim);
        out += stamps[i] + delim + values;
        if (i < 2 || final_newline) out += eol;
    }
    return out;
}
const std::vector<std::string> kIso{"2024-01-02 09:30:00", "2024-01-02 09:31:00", "2024-01-02 09:32:00"};

void check_three(const SeriesBatch& b) {
    const Expected x;
    CHECK(b.scale == Scale{2, 1});
    CHECK(b.key.base == 1min);
    CHECK(b.bars.ts == x.ts);
    CHECK(b.bars.open == x.open);
    CHECK(b.bars.high == x.high);
    CHECK(b.bars.low == x.low);
    CHECK(b.bars.close == x.close);
    CHECK(b.bars.volume == x.volume);
}

}  // namespace

TEST_CASE("csv: the BTC file equals the naive reference") {
    const auto path = test::btc_csv();
    const auto batches = parse_file(path, FileFormat::auto_detect, {});
    REQUIRE(batches.size() == 1);
    const auto& b = batches[0];
    CHECK(b.key.symbol == "btc-perp-20211231-20220201_1m");
    CHECK(b.key.base == 1min);
    REQUIRE(b.bars.size() == 45'031);
    // Prices reach 3 decimals (43613.875); volume 7 (289169.9847625) once the six values printed
    // from doubles (218102.59507500002) are rounded to 15 significant digits.
    CHECK(b.scale == Scale{3, 7});

    // README: `2021-12-31 23:01:00.000000,46319.0,46385.0,46319.0,46377.0,2300413.7295`.
    CHECK(b.bars.ts[0] == utc_ns(2021, 12, 31, 23, 1));
    CHECK(format_decimal(b.bars.open[0], 3) == "46319");
    CHECK(b.bars.open[0] == 46'319'000);
    CHECK(b.bars.volume[0] == 23'004'137'295'000);
    CHECK(format_decimal(b.bars.volume[0], 7) == "2300413.7295");
    CHECK(b.bars.ts.back() == utc_ns(2022, 2, 1, 5, 31));
    CHECK(format_decimal(b.bars.close.back(), 3) == "38544");
    // Line 249 holds 218102.59507500002: rounded to 218102.595075.
    CHECK(format_decimal(b.bars.volume[247], 7) == "218102.595075");

    const auto ref = reference::naive_parse(test::read_text(path), ',', true);
    CHECK(ref.scale == b.scale);
    CHECK(sum(b.bars.open) == sum(ref.bars.open));
    CHECK(sum(b.bars.high) == sum(ref.bars.high));
    CHECK(sum(b.bars.low) == sum(ref.bars.low));
    CHECK(sum(b.bars.close) == sum(ref.bars.close));
    CHECK(sum(b.bars.volume) == sum(ref.bars.volume));
    CHECK(b.bars == ref.bars);
}

TEST_CASE("csv: the NinjaTrader SPY file, stamped at bar end, equals the naive reference") {
    const auto path = test::spy_csv();
    ParseOptions o;
    o.stamp = Stamp::end;
    const auto batches = parse_file(path, FileFormat::csv, o);
    REQUIRE(batches.size() == 1);
    const auto& b = batches[0];
    CHECK(b.key.symbol == "nt-spy-minute-2011");
    CHECK(b.key.base == 1min);
    REQUIRE(b.bars.size() == 14'180);
    CHECK(b.scale == Scale{2, 0});
    // `20110103 090100;126.35;126.39;126.35;126.39;1579` is the bar [09:00, 09:01) UTC.
    CHECK(b.bars.ts[0] == utc_ns(2011, 1, 3, 9, 0));
    CHECK(b.bars.open[0] == 12635);
    CHECK(b.bars.volume[0] == 1579);
    // Last line `20110201 010000;128.82;128.83;128.82;128.83;2415`.
    CHECK(b.bars.ts.back() == utc_ns(2011, 2, 1, 0, 59));
    CHECK(b.bars.close.back() == 12883);
    CHECK(b.bars.volume.back() == 2415);

    const auto ref = reference::naive_parse(test::read_text(path), ';', false, 60);
    CHECK(ref.scale == b.scale);
    CHECK(sum(b.bars.close) == sum(ref.bars.close));
    CHECK(sum(b.bars.volume) == sum(ref.bars.volume));
    CHECK(b.bars == ref.bars);
}

TEST_CASE("csv: decimals are exact and the scale is the smallest that holds every value") {
    auto b = parse_one("ts,open,high,low,close,volume\n1704187800,130.23,130.23,130.23,130.23,7\n", [] {
        ParseOptions o;
        o.timeframe = 1min;
        return o;
    }());
    CHECK(b.scale == Scale{2, 0});
    CHECK(b.bars.open[0] == 13023);

    // Trailing zeros do not count; a later finer value rescales what came before.
    b = parse_one("1704187800,46319.0,46320.00,46319,46319.50,1.000\n"
                  "1704187860,46319.5,46321,46318.125,46320,2.5\n");
    CHECK(b.scale == Scale{3, 1});
    CHECK(b.bars.open == std::vector<std::int64_t>{46'319'000, 46'319'500});
    CHECK(b.bars.high == std::vector<std::int64_t>{46'320'000, 46'321'000});
    CHECK(b.bars.low == std::vector<std::int64_t>{46'319'000, 46'318'125});
    CHECK(b.bars.volume == std::vector<std::int64_t>{10, 25});

    // Negative prices (spreads, 2020 oil) are fine; a sign of + too; and `.5`, `5.`.
    b = parse_one("1704187800,-37.63,+1.,-40.5,.5,0\n1704187860,-1,-1,-1,-1,0\n");
    CHECK(b.bars.open == std::vector<std::int64_t>{-3763, -100});
    CHECK(b.bars.high == std::vector<std::int64_t>{100, -100});
    CHECK(b.bars.close == std::vector<std::int64_t>{50, -100});

    // More than 15 significant digits in a fraction is a double printed in full: rounded
    // half-even to 15 digits. 15 or fewer stay exact, and integer digits are never rounded.
    b = parse_one("1704187800,0.30000000000000004,0.5,0.1,0.2,380591.00179999997\n"
                  "1704187860,1.2345678901234,2,1,1.5,7\n");
    CHECK(b.scale == Scale{13, 4});
    CHECK(b.bars.open == std::vector<std::int64_t>{3'000'000'000'000, 12'345'678'901'234});
    CHECK(b.bars.volume == std::vector<std::int64_t>{3'805'910'018, 70'000});
    b = parse_one("1704187800,1,1,1,1,1234567890123456789\n1704187860,1,1,1,1,12345678901234567.5\n");
    CHECK(b.scale == Scale{0, 0});
    CHECK(b.bars.volume == std::vector<std::int64_t>{1'234'567'890'123'456'789, 12'345'678'901'234'568});
}

TEST_CASE("csv: every accepted dialect reads the same three bars") {
    const std::string hdr = "timestamp,open,high,low,close,volume\n";
    const std::vector<std::string> epoch_s{"1704187800", "1704187860", "1704187920"};
    struct Case {
        const char* what;
        std::string csv;
    };
    const std::vector<Case> cases = {
        {"header", hdr + rows(kIso)},
        {"no header", rows(kIso)},
        {"semicolons", "timestamp;open;high;low;close;volume\n" + rows(kIso, ';')},
        {"semicolons, no header", rows(kIso, ';')},
        {"tabs", "timestamp\topen\thigh\tlow\tclose\tvolume\n" + rows(kIso, '\t')},
        {"CRLF", "timestamp,open,high,low,close,volume\r\n" + rows(kIso, ',', "\r\n")},
        {"no final newline", hdr + rows(kIso, ',', "\n", false)},
        {"CRLF, no final newline", rows(kIso, ';', "\r\n", false)},
        {"blank lines, UTF-8 BOM", "\xEF\xBB\xBF\n" + hdr + "\n" + rows(kIso, ',', "\n") + "\n\r\n\n"},
        {"microsecond fraction", rows({"2024-01-02 09:30:00.000000", "2024-01-02 09:31:00.000000",
                                       "2024-01-02 09:32:00.000000"})},
        {"ISO T and Z", rows({"2024-01-02T09:30:00Z", "2024-01-02T09:31:00Z", "2024-01-02T09:32:00Z"})},
        {"ISO offsets", rows({"2024-01-02T10:30:00+01:00", "2024-01-02T04:31:00-05:00", "2024-01-02T09:32:00+0000"})},
        {"ISO without seconds", rows({"2024-01-02 09:30", "2024-01-02T09:31", "2024-01-02 09:32"})},
        {"slashes", rows({"2024/01/02 09:30:00", "2024/01/02 09:31:00", "2024/01/02 09:32:00"})},
        {"NinjaTrader", rows({"20240102 093000", "20240102 093100", "20240102 093200"}, ';', "\r\n")},
        {"epoch s", rows(epoch_s)},
        {"epoch ms", rows({"1704187800000", "1704187860000", "1704187920000"})},
        {"epoch us", rows({"1704187800000000", "1704187860000000", "1704187920000000"})},
        {"epoch ns", rows({"1704187800000000000", "1704187860000000000", "1704187920000000000"})},
        {"Date,Time columns", "Date,Time,Open,High,Low,Close,Volume\n" +
                                  rows({"2024-01-02,09:30:00", "2024-01-02,09:31:00", "2024-01-02,09:32:00"})},
        {"compact date and time columns", "date;time;open;high;low;close;volume\n" +
                                              rows({"20240102;093000", "20240102;093100", "20240102;093200"}, ';')},
        {"7 fields without header", rows({"2024-01-02,09:30", "2024-01-02,09:31", "2024-01-02,09:32"})},
        {"time column before date column", "Time,Date,Open,High,Low,Close,Volume\n" +
                                               rows({"09:30:00,2024-01-02", "09:31:00,2024-01-02", "09:32:00,2024-01-02"})},
        {"extra columns ignored", "Symbol,Date,Open,High,Low,Close,Adj Close,Volume,OpenInterest\n"
                                  "SPY,2024-01-02 09:30:00,100.5,101,100,100.75,99.1,10,7\n"
                                  "SPY,2024-01-02 09:31:00,100.75,101.25,100.5,101,nan,20,\n"
                                  "SPY,2024-01-02 09:32:00,101,101.5,100.25,100.5,x y z,5.5,0\n"},
        {"names in any case and order", "VOLUME,Close,LOW,high,Open,DateTime\n"
                                        "10,100.75,100,101,100.5,2024-01-02 09:30:00\n"
                                        "20,101,100.5,101.25,100.75,2024-01-02 09:31:00\n"
                                        "5.5,100.5,100.25,101.5,101,2024-01-02 09:32:00\n"},
        {"MetaTrader names and vol", "<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>\n" +
                                         rows({"20240102,09:30:00", "20240102,09:31:00", "20240102,09:32:00"})},
        {"quotes and blanks", "\"ts\", \"open\", \"high\", \"low\", \"close\", \"volume\"\n"
                              "\"2024-01-02 09:30:00\", \"100.5\", 101 ,100,100.75,10\n"
                              "2024-01-02 09:31:00 ,100.75,101.25,100.5,101,\"20\"\n"
                              " 2024-01-02 09:32:00,101,101.5,100.25,100.5,5.5 \n"},
        {"Databento ts_event", "ts_event,rtype,open,high,low,close,volume,symbol\n"
                               "1704187800000000000,33,100.5,101,100,100.75,10,ES\n"
                               "1704187860000000000,33,100.75,101.25,100.5,101,20,ES\n"
                               "1704187920000000000,33,101,101.5,100.25,100.5,5.5,ES\n"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.what);
        check_three(parse_one(c.csv));
        check_three(parse_one(c.csv, {}, kChunked));
    }
}

TEST_CASE("csv: columns not stored and a missing volume are named in notes, never dropped silently") {
    ParseOptions o;
    o.timeframe = Duration{std::chrono::minutes(1)};
    const auto extra = parse_one("Symbol,Date,Open,High,Low,Close,Adj Close,Volume,\"OpenInterest\"\n"
                                 "SPY,2024-01-02 09:30:00,100.5,101,100,100.75,99.1,10,7\n", o);
    // Symbol is a column barstore reads (it names the series), not one it drops.
    CHECK(extra.notes == std::vector<std::string>{"columns not stored: Adj Close, OpenInterest"});
    CHECK(extra.key.symbol == "SPY");
    CHECK(extra.bars.volume == std::vector<std::int64_t>{10});

    // No volume column: every volume is 0, at 0 decimals, and the note says so.
    const auto fx = parse_one("time,open,high,low,close\n2024-01-02 09:30:00,1.1,1.2,1.05,1.15\n"
                              "2024-01-02 09:31:00,1.15,1.25,1.1,1.2\n", o);
    CHECK(fx.notes == std::vector<std::string>{"no volume column: volume stored as 0"});
    CHECK(fx.bars.volume == std::vector<std::int64_t>{0, 0});
    CHECK(fx.scale.volume_decimals == 0);
    CHECK(fx.bars.close == std::vector<std::int64_t>{115, 120});
    // ... the same split into chunks parsed in parallel.
    CHECK(parse_one("time,open,high,low,close\n2024-01-02 09:30:00,1.1,1.2,1.05,1.15\n"
                    "2024-01-02 09:31:00,1.15,1.25,1.1,1.2\n", o, kChunked).bars.volume == fx.bars.volume);

    // A file that stores every column, and a headerless one, have nothing to say.
    CHECK(parse_one("ts,open,high,low,close,volume\n2024-01-02 09:30:00,1,2,1,2,5\n", o).notes.empty());
    CHECK(parse_one("2024-01-02 09:30:00,1,2,1,2,5\n", o).notes.empty());
}

TEST_CASE("csv: --columns maps fields by position; a first line that is not data is a header") {
    ParseOptions o;
    const auto cols = [](std::initializer_list<const char*> c) { return std::vector<std::string>(c.begin(), c.end()); };
    // Issue 17's file: date and time in two fields under one header name, so the header names
    // one column fewer than the rows hold: refused, whatever the rows say.
    const std::string mismatched = "Date Time,Open,High,Low,Close,Volume\n" +
                                   rows({"2024-01-02,09:30:00", "2024-01-02,09:31:00", "2024-01-02,09:32:00"});
    CHECK(error_of(mismatched) == "t.csv:2: error: wrong field count: expected 6 fields, got 7 "
                                  "(got '2024-01-02,09:30:00,100.5,101,100,100.75,10')");
    o.columns = cols({"date", "time", "open", "high", "low", "close", "volume"});
    check_three(parse_one(mismatched, o));
    check_three(parse_one(mismatched, o, kChunked));
    // The same rows without a header: the first line is data, and is kept.
    check_three(parse_one(rows({"2024-01-02,09:30:00", "2024-01-02,09:31:00", "2024-01-02,09:32:00"}), o));
    // A header that names the columns wrongly is overridden: the roles are the option's.
    o.columns = cols({"skip", "ts", "open", "high", "low", "close", "volume"});
    const auto b = parse_one("close,open,volume,high,low,ts,x\n" + rows({"A,2024-01-02 09:30:00", "B,2024-01-02 09:31:00",
                                                                      "C,2024-01-02 09:32:00"}), o);
    check_three(b);
    CHECK(b.notes.empty());  // skip was asked for: nothing to say
    // Roles in any order, case-insensitive, volume optional (stored 0, and said).
    o.columns = cols({"Close", "ts", "open", "high", "low"});
    const auto nv = parse_one("2,2024-01-02 09:30:00,1,3,1\n2,2024-01-02 09:31:00,1,3,1\n", o);
    CHECK(nv.bars.close == std::vector<std::int64_t>{2, 2});
    CHECK(nv.bars.volume == std::vector<std::int64_t>{0, 0});
    CHECK(nv.notes == std::vector<std::string>{"no volume column: volume stored as 0"});
    // A date alone is the whole stamp.
    o.columns = cols({"date", "open", "high", "low", "close", "volume"});
    CHECK(parse_one("d,o,h,l,c,v\n2024-01-02,1,2,1,2,5\n2024-01-03,2,3,1,2,5\n", o).key.base == 24h);

    // Bad mappings are the call's fault, named before the file is read.
    const std::pair<std::vector<std::string>, const char*> bad[] = {
        {cols({"ts", "open", "high", "low", "close", "vol"}), "unknown role 'vol'"},
        {cols({"ts", "open", "open", "low", "close"}), "role open given twice"},
        {cols({"ts", "time", "open", "high", "low", "close"}), "ts is the whole stamp"},
        {cols({"time", "open", "high", "low", "close"}), "time needs a date field"},
        {cols({"open", "high", "low", "close", "volume"}), "no stamp"},
        {cols({"ts", "open", "high", "close", "volume"}), "no low field"},
    };
    for (const auto& [c, want] : bad) {
        o.columns = c;
        const auto e = error_of("", o);
        CAPTURE(e);
        CHECK(e.starts_with("t.csv: error: --columns: "));
        CHECK(e.find(want) != std::string::npos);
    }
    // Rows that do not fit the mapping are named as ever.
    o.columns = cols({"ts", "open", "high", "low", "close", "volume"});
    CHECK(error_of("ts,o,h,l,c,v\n2024-01-02 09:30:00,1,2,1,2,5\n2024-01-02 09:31:00,1,2,x,2,5\n", o) ==
          "t.csv:3: error: low is not a decimal number (got 'x')");
}

TEST_CASE("csv: a symbol column names the series; a long-format file is one series per symbol, or --symbol's") {
    const std::string hdr = "symbol,ts,open,high,low,close,volume\n";
    const auto with = [](const char* a, const char* b, const char* c) {
        return rows({std::string(a) + ",2024-01-02 09:30:00", std::string(b) + ",2024-01-02 09:31:00",
                     std::string(c) + ",2024-01-02 09:32:00"});
    };
    // One symbol: it names the series, whatever the file is called.
    auto b = parse_one(hdr + with("ES", "ES", "\"ES\""));
    check_three(b);
    CHECK(b.key.symbol == "ES");
    CHECK(b.notes.empty());
    CHECK(parse_one("Ticker,ts,open,high,low,close,volume\n" + with("NQ", "NQ", "NQ"), {}, kChunked).key.symbol == "NQ");

    // Two: a series each, in order of first appearance, against a naive split of the rows.
    const std::string mixed = hdr + with("ES", "NQ", "ES");
    ParseOptions o;
    o.timeframe = 1min;
    for (const auto& t : {Tuning{}, kChunked, kSerial}) {
        auto v = csv_detail::parse_csv(mixed, "t.csv", o, t);
        REQUIRE(v.size() == 2);
        CHECK(v[0].key.symbol == "ES");
        CHECK(v[1].key.symbol == "NQ");
        const Expected x;
        CHECK(v[0].bars.ts == std::vector<std::int64_t>{x.ts[0], x.ts[2]});
        CHECK(v[0].bars.close == std::vector<std::int64_t>{x.close[0], x.close[2]});
        CHECK(v[0].bars.volume == std::vector<std::int64_t>{x.volume[0], x.volume[2]});
        CHECK(v[1].bars.ts == std::vector<std::int64_t>{x.ts[1]});
        CHECK(v[1].bars.open == std::vector<std::int64_t>{x.open[1]});
        CHECK(v[1].scale == Scale{2, 0});  // each series its own decimals
    }
    // Each symbol's timeframe is its own: NQ's single bar cannot give one, named at its line.
    CHECK(error_of(mixed) == "t.csv:3: error: cannot infer the timeframe from a single bar; pass --timeframe "
                             "(got 'NQ,2024-01-02 09:31:00,100.75,101.25,100.5,101,20')");
    // The first problem in file order wins, whichever symbol it is in; lines are the file's.
    const std::string bad_nq = hdr + "ES,2024-01-02 09:30:00,1,2,1,2,5\nNQ,2024-01-02 09:30:00,1,2,x,2,5\n"
                                      "ES,2024-01-02 09:31:00,1,2,y,2,5\nNQ,2024-01-02 09:31:00,1,2,1,2,5\n";
    CHECK(error_of(bad_nq, o) == "t.csv:3: error: low is not a decimal number (got 'x')");
    const std::string bad_es = hdr + "ES,2024-01-02 09:30:00,1,2,1,2,5\nNQ,2024-01-02 09:30:00,1,2,1,2,5\n"
                                      "ES,2024-01-02 09:31:00,1,2,y,2,5\nNQ,2024-01-02 09:31:00,1,2,x,2,5\n";
    CHECK(error_of(bad_es, o) == "t.csv:4: error: low is not a decimal number (got 'y')");
    CHECK(error_of(bad_es, o, kChunked) == error_of(bad_es, o));
    // A line too short to hold a symbol is every symbol's problem, named once at its line.
    CHECK(error_of(hdr + "ES,2024-01-02 09:30:00,1,2,1,2,5\nNQ,2024-01-02 09:30:00,1,2,1,2,5\n2024\n", o) ==
          "t.csv:4: error: wrong field count: expected 7 fields, got 1 (got '2024')");

    // --symbol keeps that symbol's rows; lines keep their numbers.
    o.symbol = "NQ";
    b = parse_one(mixed, o);
    CHECK(b.key.symbol == "NQ");
    CHECK(b.bars.ts == std::vector<std::int64_t>{utc_ns(2024, 1, 2, 9, 31)});
    o.symbol = "ES";
    b = parse_one(mixed, o, kChunked);
    CHECK(b.bars.size() == 2);
    CHECK(error_of(bad_nq, o) == "t.csv:4: error: low is not a decimal number (got 'y')");
    o.symbol = "CL";
    CHECK(error_of(mixed, o) == "t.csv: error: no row has symbol CL in the symbol column (it holds ES, NQ) (got 'CL')");

    // --columns can name the symbol field too; a bad symbol is named with its line.
    o = {};
    o.columns = {"ts", "open", "high", "low", "close", "volume", "symbol"};
    o.timeframe = 1min;
    CHECK(parse_one("2024-01-02 09:30:00,1,2,1,2,5,CL\n", o).key.symbol == "CL");
    CHECK(error_of("2024-01-02 09:30:00,1,2,1,2,5,CL\n2024-01-02 09:30:00,1,2,1,2,5,a\x01" "b\n", o) ==
          "t.csv:2: error: symbol column: a symbol is 1 to 64 bytes of printable UTF-8 (got 'a\\x01b')");
    // Bytes that are not UTF-8 are escaped in every message, never written raw.
    CHECK(error_of("ts,open,high,low,close,volume\n2024-01-02 09:30:00,1,2,1,2,5\n\x80\xff\xc3\xa9,1,2,1,2,5\n") ==
          "t.csv:3: error: unparseable timestamp (expected epoch s/ms/us/ns, 2021-12-31 23:01:00[.ffffff][Z|+01:00], "
          "2021-12-31T23:01:00 or 20110103 090100) (got '\\x80\\xff\xc3\xa9')");
}

TEST_CASE("csv: date-only rows, --timeframe, --stamp end and the default symbol") {
    auto b = parse_one("Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,1,2,5\n2024-01-03,2,3,1,2,5\n2024-01-05,2,3,1,2,5\n");
    CHECK(b.key.base == 24h);
    CHECK(b.bars.ts == std::vector<std::int64_t>{utc_ns(2024, 1, 2), utc_ns(2024, 1, 3), utc_ns(2024, 1, 5)});

    // The smallest step, not the first one; gaps are fine.
    b = parse_one(rows({"20240102 093000", "20240102 093500", "20240102 093600"}));
    CHECK(b.key.base == 1min);

    ParseOptions o;
    o.timeframe = 1min;
    o.stamp = Stamp::end;
    b = parse_one(rows({"20240102 093100", "20240102 093200", "20240102 093300"}), o);
    check_three(b);
    o.timeframe.reset();
    check_three(parse_one(rows({"20240102 093100", "20240102 093200", "20240102 093300"}), o));

    // A single bar is fine once the timeframe is given.
    o = {};
    o.timeframe = 5min;
    b = parse_one("ts,open,high,low,close,volume\n2024-01-02 09:30:00,1,1,1,1,0\n", o);
    CHECK(b.key.base == 5min);
    CHECK(b.bars.size() == 1);

    // The symbol: opts.symbol, else the stem of the name.
    CHECK(csv_detail::parse_csv(rows(kIso), "data/ES.c.0.csv", {}, {})[0].key.symbol == "ES.c.0");
    o = {};
    o.symbol = "SPY";
    CHECK(csv_detail::parse_csv(rows(kIso), "data/x.csv", o, {})[0].key.symbol == "SPY");
}

TEST_CASE("csv: stored_base sets the base when no --timeframe is given; bars off it are refused naming the series") {
    std::vector<std::string> asked;
    ParseOptions o;
    o.symbol = "ORCL";
    o.stored_base = [&](const std::string& symbol) -> std::optional<Duration> {
        asked.push_back(symbol);
        return Duration{24h};
    };
    // A Friday and a Monday: alone they would say 3d.
    const std::string fri_mon = "Date,Open,High,Low,Close,Volume\n2024-01-12,1,2,1,2,5\n2024-01-15,2,3,1,2,5\n";
    CHECK(parse_one(fri_mon, o).key == SeriesKey{"ORCL", 24h});
    CHECK(parse_one("Date,Open,High,Low,Close,Volume\n2024-01-16,1,2,1,2,5\n", o).bars.size() == 1);
    CHECK(asked == std::vector<std::string>{"ORCL", "ORCL"});
    CHECK(error_of("ts,open,high,low,close,volume\n2024-01-16 00:00:00,1,1,1,1,1\n2024-01-16 12:00:00,1,1,1,1,1\n", o) ==
          "t.csv:3: error: timestamp not aligned to the 1d base of the stored series ORCL 1d (a new base for ORCL "
          "needs --timeframe) (got '2024-01-16 12:00:00,1,1,1,1,1')");
    // An explicit timeframe wins and nothing is asked.
    o.timeframe = 12h;
    asked.clear();
    CHECK(parse_one("ts,open,high,low,close,volume\n2024-01-16 00:00:00,1,1,1,1,1\n2024-01-16 12:00:00,1,1,1,1,1\n", o)
              .key.base == 12h);
    CHECK(asked.empty());
    // No stored series: the smallest step, as before; the callback's own error names the file.
    o.timeframe.reset();
    o.stored_base = [](const std::string&) -> std::optional<Duration> { return std::nullopt; };
    CHECK(parse_one(fri_mon, o).key.base == 72h);
    o.stored_base = [](const std::string&) -> std::optional<Duration> { throw InvalidInput("ORCL has series at several bases"); };
    CHECK(error_of(fri_mon, o) == "t.csv: error: ORCL has series at several bases");
}

TEST_CASE("csv: --tz converts naive text across DST changes; explicit offsets win") {
    ParseOptions o;
    o.tz = "America/New_York";
    // 2024-03-10: 02:00 EST jumps to 03:00 EDT. 01:30 EST = 06:30Z, 03:00 EDT = 07:00Z.
    auto b = parse_one("ts,open,high,low,close,volume\n"
                       "2024-03-10 01:00:00,1,1,1,1,1\n"
                       "2024-03-10 01:30:00,1,1,1,1,1\n"
                       "2024-03-10 03:00:00,1,1,1,1,1\n"
                       "2024-03-10 03:30:00,1,1,1,1,1\n"
                       "2024-03-10T09:00:00Z,1,1,1,1,1\n",
                       o);
    CHECK(b.key.base == 30min);
    CHECK(b.bars.ts == std::vector<std::int64_t>{utc_ns(2024, 3, 10, 6, 0), utc_ns(2024, 3, 10, 6, 30),
                                                 utc_ns(2024, 3, 10, 7, 0), utc_ns(2024, 3, 10, 7, 30),
                                                 utc_ns(2024, 3, 10, 9, 0)});
    // Two columns and the date-only form go through the zone too.
    o.timeframe = 30min;
    b = parse_one("Date,Time,Open,High,Low,Close,Volume\n20240309,2300,1,1,1,1,1\n20240310,0330,1,1,1,1,1\n", o);
    o.timeframe.reset();
    CHECK(b.bars.ts == std::vector<std::int64_t>{utc_ns(2024, 3, 10, 4, 0), utc_ns(2024, 3, 10, 7, 30)});
    // 2024-11-03 01:00 happens twice; the earlier instant (EDT, 05:00Z) is taken.
    b = parse_one("2024-11-03 00:00:00,1,1,1,1,1\n2024-11-03 01:00:00,1,1,1,1,1\n", o);
    CHECK(b.bars.ts == std::vector<std::int64_t>{utc_ns(2024, 11, 3, 4, 0), utc_ns(2024, 11, 3, 5, 0)});
    // Epoch numbers are UTC whatever --tz says.
    b = parse_one(rows({"1704187800", "1704187860", "1704187920"}), o);
    check_three(b);
}

TEST_CASE("csv: --tz agrees with date::zoned_time hour by hour over two years") {
    for (const char* zone_name : {"America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata",
                                  "America/Sao_Paulo"}) {
        CAPTURE(zone_name);
        const auto* zone = date::locate_zone(zone_name);
        std::string csv = "time,open,high,low,close,volume\n";
        std::vector<std::int64_t> want;
        const auto start = date::sys_days{date::year{2022} / 12 / 25};
        for (int h = 0; h < 2 * 366 * 24; ++h) {
            const date::sys_seconds t = start + std::chrono::hours{h};
            const auto local = zone->to_local(t);
            // The second copy of a repeated local hour cannot be told apart in naive text.
            if (zone->get_info(local).result == date::local_info::ambiguous && zone->to_sys(local, date::choose::earliest) != t)
                continue;
            csv += date::format("%F %T", local) + ",1,1,1,1,1\n";
            want.push_back(t.time_since_epoch().count() * 1'000'000'000LL);
        }
        ParseOptions o;
        o.tz = zone_name;
        const auto b = parse_one(csv, o);
        CHECK(b.key.base == 1h);
        CHECK(b.bars.ts == want);
        CHECK(parse_one(csv, o, kChunked).bars.ts == want);
    }
}

namespace {

const std::string kHead = "ts,open,high,low,close,volume\n";
const std::string kRow1 = "2024-01-02 09:30:00,100.5,101,100,100.75,10\n";
const std::string kRow2 = "2024-01-02 09:31:00,100.75,101.25,100.5,101,20\n";

struct BadCase {
    const char* what;
    std::string csv;
    std::string message;  // the whole message
    ParseOptions opts = {};
};

std::vector<BadCase> bad_cases() {
    ParseOptions ny;
    ny.tz = "America/New_York";
    ParseOptions mars;
    mars.tz = "Mars/Olympus";
    ParseOptions hourly;
    hourly.timeframe = 1h;
    return {
        {"empty file", "", "t.csv:1: error: empty file (got '')"},
        {"blank lines only", "\n\r\n\n", "t.csv:1: error: empty file (got '')"},
        {"header only", kHead, "t.csv:1: error: header but no data rows (got 'ts,open,high,low,close,volume')"},
        {"header only, CRLF and blank lines", "ts;open;high;low;close;volume\r\n\r\n",
         "t.csv:1: error: header but no data rows (got 'ts;open;high;low;close;volume')"},
        {"too few fields", kHead + kRow1 + "2024-01-02 09:31:00,100.75,101.25,100.5\n" + kRow2,
         "t.csv:3: error: wrong field count: expected 6 fields, got 4 (got '2024-01-02 09:31:00,100.75,101.25,100.5')"},
        {"too many fields", kHead + kRow1 + "2024-01-02 09:31:00,100.75,101.25,100.5,101,20,7\n",
         "t.csv:3: error: wrong field count: expected 6 fields, got 7 (got '2024-01-02 09:31:00,100.75,101.25,100.5,101,20,7')"},
        {"no header and 5 fields", "2024-01-02 09:30:00,1,1,1,1\n",
         "t.csv:1: error: without a header a row has 6 fields (ts,open,high,low,close,volume) or 7 "
         "(date,time,open,high,low,close,volume); this one has 5 (got '2024-01-02 09:30:00,1,1,1,1')"},
        {"NaN price", kHead + kRow1 + "2024-01-02 09:31:00,100.75,NaN,100.5,101,20\n",
         "t.csv:3: error: high is not a decimal number (got 'NaN')"},
        {"inf price", kHead + kRow1 + "2024-01-02 09:31:00,inf,101.25,100.5,101,20\n",
         "t.csv:3: error: open is not a decimal number (got 'inf')"},
        {"exponent", kHead + kRow1 + "2024-01-02 09:31:00,100.75,101.25,1e2,101,20\n",
         "t.csv:3: error: low is not a decimal number (got '1e2')"},
        {"text price", kHead + kRow1 + "2024-01-02 09:31:00,100.75,101.25,100.5,12x.5,20\n",
         "t.csv:3: error: close is not a decimal number (got '12x.5')"},
        {"decimal comma", "ts;open;high;low;close;volume\n2024-01-02 09:31:00;100,75;101;100;101;20\n",
         "t.csv:2: error: open is not a decimal number (got '100,75')"},
        {"empty price", kHead + kRow1 + "2024-01-02 09:31:00,,101.25,100.5,101,20\n",
         "t.csv:3: error: open is empty (got '')"},
        {"negative volume", kHead + kRow1 + "2024-01-02 09:31:00,100.75,101.25,100.5,101,-20\n",
         "t.csv:3: error: negative volume (got '2024-01-02 09:31:00,100.75,101.25,100.5,101,-20')"},
        {"high below low", kHead + kRow1 + "2024-01-02 09:31:00,100.75,100.5,101.25,101,20\n",
         "t.csv:3: error: high below low (got '2024-01-02 09:31:00,100.75,100.5,101.25,101,20')"},
        {"low above open", kHead + kRow1 + "2024-01-02 09:31:00,100.75,101.25,100.8,101,20\n",
         "t.csv:3: error: low above open or close (got '2024-01-02 09:31:00,100.75,101.25,100.8,101,20')"},
        {"duplicate timestamp", kHead + kRow1 + kRow2 + kRow2,
         "t.csv:4: error: duplicate timestamp (got '2024-01-02 09:31:00,100.75,101.25,100.5,101,20')"},
        {"timestamp goes backwards", kHead + kRow2 + kRow1,
         "t.csv:3: error: timestamp goes backwards (got '2024-01-02 09:30:00,100.5,101,100,100.75,10')"},
        {"only duplicates", kHead + kRow1 + kRow1,
         "t.csv:3: error: duplicate timestamp (got '2024-01-02 09:30:00,100.5,101,100,100.75,10')"},
        {"last line cut between fields", kHead + kRow1 + "2024-01-02 09:31:00,100.75,101.25",
         "t.csv:3: error: line cut short (no newline at end of file): expected 6 fields, got 3 "
         "(got '2024-01-02 09:31:00,100.75,101.25')"},
        {"last line cut inside the timestamp", kHead + kRow1 + "2024-01-02 09:3",
         "t.csv:3: error: line cut short (no newline at end of file): expected 6 fields, got 1 (got '2024-01-02 09:3')"},
        {"last line cut after a delimiter", kHead + kRow1 + "2024-01-02 09:31:00,100.75,101.25,100.5,101,",
         "t.csv:3: error: volume is empty (got '')"},
        {"unparseable timestamp", kHead + kRow1 + "yesterday,100.75,101.25,100.5,101,20\n",
         "t.csv:3: error: unparseable timestamp (expected epoch s/ms/us/ns, 2021-12-31 23:01:00[.ffffff][Z|+01:00], "
         "2021-12-31T23:01:00 or 20110103 090100) (got 'yesterday')"},
        {"no such date", kHead + "2024-02-30 09:30:00,1,1,1,1,1\n" + kRow2,
         "t.csv:2: error: timestamp: no such date (got '2024-02-30 09:30:00')"},
        {"no such time", kHead + kRow1 + "2024-01-02 24:00:00,1,1,1,1,1\n",
         "t.csv:3: error: timestamp: no such time of day (got '2024-01-02 24:00:00')"},
        {"bad offset", kHead + kRow1 + "2024-01-02T09:31:00+1,1,1,1,1,1\n",
         "t.csv:3: error: unparseable timestamp (expected epoch s/ms/us/ns, 2021-12-31 23:01:00[.ffffff][Z|+01:00], "
         "2021-12-31T23:01:00 or 20110103 090100) (got '2024-01-02T09:31:00+1')"},
        {"date past the supported range", kHead + "2261-06-01 09:30:00,1,1,1,1,1\n2261-06-01 09:31:00,1,1,1,1,1\n",
         "t.csv:2: error: timestamp outside the supported range 1679-01-01T00:00:00Z .. 2261-01-01T00:00:00Z "
         "(docs/time.md) (got '2261-06-01 09:30:00,1,1,1,1,1')"},
        {"epoch ns past the supported range", kHead + "9200000000000000000,1,1,1,1,1\n9200000060000000000,1,1,1,1,1\n",
         "t.csv:2: error: timestamp outside the supported range 1679-01-01T00:00:00Z .. 2261-01-01T00:00:00Z "
         "(docs/time.md) (got '9200000000000000000,1,1,1,1,1')"},
        {"date out of range", kHead + "1492-10-12 09:30:00,1,1,1,1,1\n" + kRow2,
         "t.csv:2: error: timestamp: date outside 1678..2261 (the range of int64 nanoseconds) (got '1492-10-12 09:30:00')"},
        {"epoch out of range", "1704187800,1,1,1,1,1\n99999999999,1,1,1,1,1\n",
         "t.csv:2: error: timestamp: epoch timestamp after 2262 (the range of int64 nanoseconds) (got '99999999999')"},
        {"bad time column", "Date,Time,Open,High,Low,Close,Volume\n2024-01-02,9:30,1,1,1,1,1\n",
         "t.csv:2: error: unparseable time of day (expected 09:30:00 or 093000) (got '9:30')"},
        {"bad date column", "Date,Time,Open,High,Low,Close,Volume\n01/02/2024,09:30,1,1,1,1,1\n",
         "t.csv:2: error: unparseable date (expected 2011-01-03 or 20110103) (got '01/02/2024')"},
        {"bad --tz", kHead + kRow1 + kRow2,
         "t.csv: error: unknown --tz time zone, expected an IANA name such as America/New_York (got 'Mars/Olympus')",
         mars},
        {"DST gap", kHead + "2024-03-10 01:30:00,1,1,1,1,1\n2024-03-10 02:30:00,1,1,1,1,1\n",
         "t.csv:3: error: local time does not exist in America/New_York (skipped by a daylight-saving change) "
         "(got '2024-03-10 02:30:00')",
         ny},
        {"single bar", kHead + kRow1,
         "t.csv:2: error: cannot infer the timeframe from a single bar; pass --timeframe "
         "(got '2024-01-02 09:30:00,100.5,101,100,100.75,10')"},
        {"not aligned to --timeframe", kHead + kRow1 + kRow2,
         "t.csv:2: error: timestamp not aligned to the 1h timeframe (got '2024-01-02 09:30:00,100.5,101,100,100.75,10')",
         hourly},
        {"too many decimals", kHead + kRow1 + "2024-01-02 09:31:00,100.75,101.25,0.0000000000000000001,101,20\n",
         "t.csv:3: error: low has more than 18 decimals (got '0.0000000000000000001')"},
        {"beyond int64", kHead + kRow1 + "2024-01-02 09:31:00,100.75,101.25,100.5,101,99999999999999999999\n",
         "t.csv:3: error: volume does not fit in a 64-bit integer (got '99999999999999999999')"},
        {"beyond int64 at the file's scale",
         kHead + "2024-01-02 09:30:00,1,1,1,1,0.5\n2024-01-02 09:31:00,1,1,1,1,1000000000000000000\n",
         "t.csv:3: error: volume does not fit in a 64-bit integer at 1 decimals (got '1000000000000000000')"},
        {"earlier value beyond int64 once a later one needs a decimal",
         kHead + "2024-01-02 09:30:00,1000000000000000000,1000000000000000000,1000000000000000000,1000000000000000000,1\n" +
             kRow2,
         "t.csv:2: error: price does not fit in a 64-bit integer at 2 decimals (a later value has 2) "
         "(got '2024-01-02 09:30:00,1000000000000000000,1000000000000000000,10000000000000000...')"},
        {"no timestamp column", "when,open,high,low,close,volume\n" + kRow1,
         "t.csv:1: error: no timestamp column in the header (looked for ts, time, timestamp, datetime, date) "
         "(got 'when,open,high,low,close,volume')"},
        {"no close column", "ts,open,high,low,volume\n" + kRow1,
         "t.csv:1: error: no close column in the header (got 'ts,open,high,low,volume')"},
        {"stray carriage return", kHead + kRow1 + "2024-01-02 09:31:00,100.75\r,101.25,100.5,101,20\n",
         "t.csv:3: error: open is not a decimal number (got '100.75\\r')"},
        {"control byte", kHead + kRow1 + std::string("2024-01-02 09:31:00,100.75,101.25,100.5,101,2\0", 46) + "\n",
         "t.csv:3: error: volume is not a decimal number (got '2\\x00')"},
    };
}

}  // namespace

TEST_CASE("csv: every bad input throws InvalidInput naming the line, the reason and the text") {
    for (const auto& c : bad_cases()) {
        CAPTURE(c.what);
        CHECK(error_of(c.csv, c.opts) == c.message);
        CHECK(error_of(c.csv, c.opts, kChunked) == c.message);
        CHECK(error_of(c.csv, c.opts, Tuning{2, 0, 1}) == c.message);
    }
}

TEST_CASE("csv: the first problem in file order wins") {
    const std::string bad_price = "2024-01-02 09:32:00,1,x,1,1,1\n";
    const std::string high_low = "2024-01-02 09:31:00,1,1,2,1,1\n";  // high below low
    for (const auto& t : {Tuning{}, kChunked, Tuning{2, 0, 1}}) {
        CHECK(error_of(kHead + kRow1 + high_low + bad_price) ==
              "t.csv:3: error: high below low (got '2024-01-02 09:31:00,1,1,2,1,1')");
        CHECK(error_of(kHead + kRow1 + bad_price + high_low, {}, t) == "t.csv:3: error: high is not a decimal number (got 'x')");
        // Backwards after a blank line: line numbers count every line.
        CHECK(error_of(kHead + kRow2 + "\n\n" + kRow1 + bad_price, {}, t) ==
              "t.csv:5: error: timestamp goes backwards (got '2024-01-02 09:30:00,100.5,101,100,100.75,10')");
    }
    // Error messages escape and cut what they quote, and stay on one line.
    const auto msg = error_of(kHead + kRow1 + "2024-01-02 09:31:00," + std::string(200, '9') + "x,1,1,1,1\n");
    CHECK(msg == "t.csv:3: error: open is not a decimal number (got '" + std::string(77, '9') + "...')");
    CHECK(msg.find('\n') == std::string::npos);
}

TEST_CASE("csv: a scale overflow names the same row and reason however the file is split") {
    // A huge value on one row and a finer one on another: wherever the chunks split, the error
    // is the one the serial parse finds.
    // A third value with fewer decimals next to the huge one makes the chunk's own scale differ
    // from the file's at the moment it fails.
    for (const bool volume : {false, true}) {
        for (std::size_t big = 0; big < 12; ++big) {
            for (std::size_t fine = 0; fine < 12; ++fine) {
                const std::size_t mid = (big + 1 + fine % 2 * 10) % 12;  // just after or before `big`
                std::string csv = kHead;
                for (std::size_t i = 0; i < 12; ++i) {
                    const std::string huge = "1000000000000000000";
                    const std::string price = i == big && !volume ? huge : i == fine && !volume ? "1.25" : i == mid && !volume ? "1.5" : "7";
                    const std::string vol = i == big && volume ? huge : i == fine && volume ? "0.25" : i == mid && volume ? "0.5" : "3";
                    csv += "2024-01-02 09:" + std::to_string(10 + i) + ":00," + price + "," + price + "," + price + "," +
                           price + "," + vol + "\n";
                }
                CAPTURE(csv);
                const auto want = error_of(csv, {}, kSerial);
                CHECK(want.starts_with("t.csv:"));
                for (const auto& t : {kChunked, Tuning{2, 0, 1}, Tuning{3, 0, 40}}) CHECK(error_of(csv, {}, t) == want);
            }
        }
    }
}

namespace {

// A random walk of 1-minute bars as CSV text, prices in cents written with or without trailing
// zeros. Row `fine_row` is the first to need 4 price and 3 volume decimals.
std::string walk_csv(std::mt19937_64& rng, std::size_t n, std::size_t fine_row) {
    std::string out = "timestamp,open,high,low,close,volume\n";
    out.reserve(n * 64);
    std::int64_t price = 450'000;
    const auto cents = [&](std::int64_t v) {
        std::string s = std::to_string(v / 100) + "." + std::to_string(v % 100 / 10) + std::to_string(v % 10);
        if (rng() % 2) {  // drop trailing zeros, or keep them: `4500.10` and `4500.1` are equal
            while (s.back() == '0') s.pop_back();
            if (s.back() == '.') s.pop_back();
        }
        return s;
    };
    const auto start = date::sys_days{date::year{2020} / 1 / 1};
    for (std::size_t i = 0; i < n; ++i) {
        const auto t = date::sys_seconds{start} + std::chrono::minutes{i + (i > n / 3 ? 7 : 0)};
        out += date::format("%F %T", t);
        if (i == fine_row) {
            out += ",4500.1234,4500.1234,4500.1234,4500.1234,12.125\n";
            continue;
        }
        const std::int64_t open = price, close = std::max<std::int64_t>(100, price + static_cast<std::int64_t>(rng() % 201) - 100);
        const std::int64_t high = std::max(open, close) + static_cast<std::int64_t>(rng() % 50);
        const std::int64_t low = std::max<std::int64_t>(1, std::min(open, close) - static_cast<std::int64_t>(rng() % 50));
        price = close;
        for (const auto v : {open, high, low, close}) (out += ',') += cents(v);
        ((out += ',') += std::to_string(rng() % 10'000)) += '\n';
    }
    return out;
}

std::size_t line_start(const std::string& text, std::size_t line) {  // 1-based line
    std::size_t pos = 0;
    for (std::size_t l = 1; l < line; ++l) pos = text.find('\n', pos) + 1;
    return pos;
}

}  // namespace

TEST_CASE("csv: the parallel parse equals the serial parse and the naive reference") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const std::size_t n = 150'000;
    const std::string csv = walk_csv(rng, n, n * 9 / 10);
    REQUIRE(csv.size() > 8u << 20);

    const auto ref = reference::naive_parse(csv, ',', true);
    const auto serial = parse_one(csv, {}, kSerial);
    const auto parallel = parse_one(csv);  // the default: 2+ threads above 4 MB
    const auto pieces = parse_one(csv, {}, Tuning{7, 0, 64 << 10});
    CHECK(serial.scale == Scale{4, 3});
    CHECK(ref.scale == serial.scale);
    CHECK(serial.bars == ref.bars);
    CHECK(parallel.scale == serial.scale);
    CHECK(parallel.bars == serial.bars);
    CHECK(pieces.scale == serial.scale);
    CHECK(pieces.bars == serial.bars);
    CHECK(serial.key.base == 1min);
    // Read in blocks (stream ingest), the scale change at fine_row comes blocks after the first.
    for (const auto& t : {Tuning{2, 0, 64 << 10, 1 << 20}, Tuning{1, std::size_t(-1), 1, 100'000}}) {
        const auto blocks = parse_one(csv, {}, t);
        CHECK(blocks.scale == serial.scale);
        CHECK(blocks.bars == serial.bars);
        CHECK(blocks.key.base == 1min);
    }

    // An error late in the file, and then an earlier one too: each config names the same line.
    std::string bad = csv;
    const std::size_t late = n * 19 / 20 + 2;  // a line number
    bad.insert(line_start(bad, late) + 20, "x");
    const std::string late_msg = error_of(bad, {}, kSerial);
    CHECK(late_msg.starts_with("t.csv:" + std::to_string(late) + ": error: open is not a decimal number (got 'x"));
    CHECK(error_of(bad) == late_msg);
    CHECK(error_of(bad, {}, Tuning{7, 0, 64 << 10}) == late_msg);

    const std::size_t early = n / 50 + 2;
    bad.replace(line_start(bad, early), 19, "2019-12-31 00:00:00");
    const std::string early_msg = error_of(bad, {}, kSerial);
    CHECK(early_msg.starts_with("t.csv:" + std::to_string(early) + ": error: timestamp goes backwards"));
    CHECK(error_of(bad) == early_msg);
    CHECK(error_of(bad, {}, Tuning{7, 0, 64 << 10}) == early_msg);
    for (const std::size_t block_bytes : {std::size_t{1} << 20, std::size_t{4096}}) {
        CHECK(error_of(bad, {}, Tuning{2, 0, 64 << 10, block_bytes}) == early_msg);
        // The backwards row first in its block: found against the block before.
        std::string cut = bad;
        const std::size_t from = line_start(cut, early);
        CHECK(error_of(cut, {}, Tuning{2, 0, 64 << 10, from}) == early_msg);
    }
}

/// A long-format file of `symbols` interleaved series: ts,symbol,open,high,low,close,volume, each
/// symbol's first two bars one minute apart (so every way of cutting it infers 1m), then gaps
/// of 1 to 5 minutes, prices at 0 to 3 decimals.
std::string long_csv(std::mt19937_64& rng, std::size_t symbols, std::size_t rows) {
    std::string out = "ts,symbol,open,high,low,close,volume\n";
    std::vector<std::int64_t> next(symbols), price(symbols, 50'000);
    std::vector<int> seen(symbols, 0);
    const std::int64_t start = 1'700'000'000 / 60 * 60;
    for (std::size_t s = 0; s < symbols; ++s) next[s] = start + 60 * static_cast<std::int64_t>(rng() % 30);
    for (std::size_t i = 0; i < rows; ++i) {
        const std::size_t s = static_cast<std::size_t>(std::min_element(next.begin(), next.end()) - next.begin());
        const std::int64_t t = next[s];
        next[s] += 60 * (seen[s]++ == 0 ? 1 : 1 + static_cast<std::int64_t>(rng() % 5));
        const std::int64_t open = price[s], close = std::max<std::int64_t>(10, open + static_cast<std::int64_t>(rng() % 41) - 20);
        price[s] = close;
        const std::int64_t high = std::max(open, close) + static_cast<std::int64_t>(rng() % 9);
        const std::int64_t low = std::min(open, close) - static_cast<std::int64_t>(rng() % 9);
        const int decimals = static_cast<int>(rng() % 4);
        out += std::to_string(t) + ",S" + std::to_string(s);
        for (const auto v : {open, high, low, close}) (out += ',') += format_decimal(v * 1000 + (decimals ? 1 : 0), 3);
        (out += ',') += std::to_string(rng() % 1000) + '\n';
    }
    return out;
}

TEST_CASE("csv: a file read in blocks gives what it gives read whole, bars and errors alike") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int iter = 0; iter < 60; ++iter) {
        CAPTURE(iter);
        const std::size_t symbols = 1 + rng() % 4;
        const std::string csv = long_csv(rng, symbols, 200 + rng() % 3000);
        const Tuning blocks{1 + static_cast<unsigned>(rng() % 3), 0, 1, 40 + rng() % 20'000};
        CAPTURE(blocks.block_bytes);
        const auto whole = csv_detail::parse_csv(csv, "t.csv", {}, kSerial);
        // Every block parsed into columns reused from earlier ones (load_file's ColumnPool).
        ColumnPool pool;
        ParseOptions pooled;
        pooled.column_pool = rng() % 2 ? &pool : nullptr;
        CAPTURE(pooled.column_pool != nullptr);
        const auto cut = csv_detail::parse_csv(csv, "t.csv", pooled, blocks);
        REQUIRE(whole.size() == symbols);
        REQUIRE(cut.size() == whole.size());
        // In the order of their first pieces: a symbol whose first block held one bar of it comes later.
        for (const auto& w : whole) {
            const auto c = std::find_if(cut.begin(), cut.end(), [&](const SeriesBatch& b) { return b.key.symbol == w.key.symbol; });
            REQUIRE(c != cut.end());
            CHECK(c->key == w.key);
            CHECK(c->key.base == 1min);
            CHECK(c->scale == w.scale);
            CHECK(c->bars == w.bars);
            CHECK(c->rounded_values == w.rounded_values);
        }
        // One damaged line: the same message (the file's line number) whichever block holds it.
        std::string bad = csv;
        const std::size_t line = 2 + rng() % (std::count(csv.begin(), csv.end(), '\n') - 1);
        const std::size_t at = line_start(bad, line);
        switch (rng() % 3) {
            case 0: bad.insert(bad.find(',', bad.find(',', at) + 1) + 1, "x"); break;  // open is not a number
            case 1: bad.replace(at, 10, "1600000000"); break;                // a timestamp going backwards
            case 2: bad.insert(at, "1,2,3\n"); break;                       // a short row
        }
        ParseOptions o;
        o.timeframe = 1min;
        CAPTURE(line);
        const std::string serial = error_of(bad, o, kSerial);
        CHECK(error_of(bad, o, blocks) == serial);
        o.column_pool = &pool;
        CHECK(error_of(bad, o, blocks) == serial);
    }
}

TEST_CASE("csv: progress is reported in order and ends at the total") {
    std::mt19937_64 rng(7);
    const std::string csv = walk_csv(rng, 200'000, 0);
    std::vector<std::pair<std::uint64_t, std::uint64_t>> calls;
    ParseOptions o;
    o.progress = [&](std::uint64_t done, std::uint64_t total) { calls.emplace_back(done, total); };
    parse_one(csv, o);
    REQUIRE(calls.size() >= 2);
    CHECK(calls.back() == std::pair<std::uint64_t, std::uint64_t>{csv.size(), csv.size()});
    for (std::size_t i = 1; i < calls.size(); ++i) {
        CHECK(calls[i].first >= calls[i - 1].first);
        CHECK(calls[i].first <= calls[i].second);
    }
}

TEST_CASE("csv: mutated input throws only InvalidInput, the same with or without chunks") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const std::string base = "Date,Time,Open,High,Low,Close,Volume,Extra\r\n"
                             "2024-01-02,09:30:00,100.5,101,100,100.75,10,a\r\n"
                             "2024-01-02,09:31:00,100.75,101.25,100.5,101,20,b\r\n"
                             "2024-01-02,09:32:00,101,101.5,100.25,100.5,5.5,\r\n"
                             "20240102,093300,101,101.5,100.25,100.5,5.5,c\r\n"
                             "2024-01-02,09:34:00.5,101,101.5,100.25,100.5,5.5,d\r\n";
    const std::string base2 = "ts;open;high;low;close;volume\n"
                              "1704187800;100.5;101;100;100.75;10\n"
                              "2024-01-02T09:31:00Z;100.75;101.25;100.5;101;20\n"
                              "2024-01-02T10:32:00+01:00;101;101.5;100.25;100.5;5.5\n"
                              "20240102 093300;101;101.5;100.25;100.5;5.5\n"
                              "1704188040000;101;101.5;100.25;100.5;5.5";
    const std::string alphabet = "0123456789.,;:-+ TZ\"\r\n\t\x00\xff" "eE";
    std::size_t ok = 0;
    for (int iter = 0; iter < 4000; ++iter) {
        std::string s = iter % 2 ? base : base2;
        const int edits = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < edits && !s.empty(); ++k) {
            const std::size_t at = rng() % s.size();
            switch (rng() % 4) {
                case 0: s[at] = alphabet[rng() % alphabet.size()]; break;
                case 1: s.erase(at, 1 + rng() % 3); break;
                case 2: s.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
                case 3: s.resize(at); break;
            }
        }
        CAPTURE(iter);
        CAPTURE(s);
        std::string serial, chunked;
        ParseOptions o;
        o.timeframe = 1s;
        for (auto* out : {&serial, &chunked}) {
            try {
                const auto b = parse_one(s, o, out == &serial ? kSerial : kChunked);
                CHECK_FALSE(check_bars(b.bars, b.key.base).has_value());
                *out = "ok " + std::to_string(b.bars.size()) + " " + std::to_string(sum(b.bars.close)) + " " +
                       std::to_string(b.scale.price_decimals);
            } catch (const InvalidInput& e) {
                *out = e.what();
                CHECK(out->find('\n') == std::string::npos);
            }
        }
        CHECK(serial == chunked);
        ok += serial.starts_with("ok");
    }
    MESSAGE("mutations that still parsed: " << ok);
}

TEST_CASE("csv: throughput on 5.26 M rows" * doctest::skip()) {
    // Run with: ./build/tests/test_csv -tc='csv: throughput*' --no-skip
    std::mt19937_64 rng(1);
    for (const bool text : {false, true}) {
        std::string csv;
        csv.reserve(5'256'000 * 64);
        std::int64_t price = 4'631'925;
        std::int64_t t = 1'609'459'200;
        const auto quarters = [](std::int64_t v) {  // 46319.25, 46385.5, 46319
            const auto whole = std::to_string(v / 100);
            const auto f = v % 100 / 25 * 25;
            return f == 0 ? whole : f == 50 ? whole + ".5" : whole + "." + std::to_string(f);
        };
        for (int i = 0; i < 5'256'000; ++i, t += 60) {
            const std::int64_t open = price, close = price + static_cast<std::int64_t>(rng() % 2001) - 1000;
            const std::int64_t high = std::max(open, close) + static_cast<std::int64_t>(rng() % 500);
            const std::int64_t low = std::min(open, close) - static_cast<std::int64_t>(rng() % 500);
            price = close;
            csv += text ? date::format("%F %T", date::sys_seconds{std::chrono::seconds{t}}) : std::to_string(t);
            for (const auto v : {open, high, low, close}) (csv += ',') += quarters(v);
            ((csv += ',') += std::to_string(rng() % 5000)) += '\n';
        }
        for (int rep = 0; rep < 3; ++rep) {
            const auto t0 = std::chrono::steady_clock::now();
            const auto b = parse_one(csv);
            const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
            const std::string kind = text ? "text stamps, " : "epoch stamps, ";
            MESSAGE(kind << csv.size() / 5'256'000 << " B/row: " << b.bars.size() << " rows in " << dt.count() * 1e3
                         << " ms = " << b.bars.size() / dt.count() / 1e6 << " M rows/s");
        }
    }
}

// ---- the number fields (ingest/csv_number.hpp over core/decimal_parse.hpp) ----------------------

namespace {

/// What a CSV number field should parse to, from reference::naive_decimal and a plain syntax
/// check: "mag@decimals" with "-" and "~" (rounded) marks, or why it is refused.
std::string expected_number(const std::string& t) {
    bool plain = !t.empty();
    std::size_t dots = 0, digits = 0;
    for (std::size_t i = 0; i < t.size(); ++i) {
        const char c = t[i];
        if (c == '.') ++dots;
        else if (c >= '0' && c <= '9') ++digits;
        else if (!((c == '-' || c == '+') && i == 0)) plain = false;
    }
    if (!plain || dots > 1 || digits == 0) return "syntax";
    const auto d = reference::naive_decimal(t);
    if (d.decimals > 18) return "decimals";
    if (d.digits > INT64_MAX) return "range";
    // Rounded: more than 15 significant digits with a fraction left after its trailing zeros.
    const auto dot = t.find('.');
    std::string frac = dot == std::string::npos ? "" : t.substr(dot + 1);
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    std::string all = t.substr(t[0] == '-' || t[0] == '+' ? 1 : 0, dot == std::string::npos ? std::string::npos : dot) + frac;
    all.erase(std::remove(all.begin(), all.end(), '.'), all.end());
    const auto first = all.find_first_not_of('0');
    const bool rounded = !frac.empty() && first != std::string::npos && all.size() - first > 15;
    return std::string(d.negative ? "-" : "") + std::to_string(static_cast<std::uint64_t>(d.digits)) + "@" +
           std::to_string(d.decimals) + (rounded ? "~" : "");
}

std::string shown(const csv_detail::Num& n) {
    return std::string(n.negative ? "-" : "") + std::to_string(n.mag) + "@" + std::to_string(n.decimals) +
           (n.rounded ? "~" : "");
}

/// A random number field: short prices, long float noise, tiny fractions, or junk.
std::string random_number(std::mt19937_64& rng) {
    const auto digits = [&](std::size_t n) {
        std::string s;
        for (std::size_t i = 0; i < n; ++i) s += static_cast<char>('0' + rng() % 10);
        return s;
    };
    std::string t = rng() % 4 == 0 ? (rng() % 2 ? "-" : "+") : "";
    switch (rng() % 5) {
        case 0:  // prices and volumes as exchanges print them, trailing zeros included
            t += digits(1 + rng() % 7);
            if (rng() % 2) {
                t += '.';
                t += digits(rng() % 7);
                t.append(rng() % 3, '0');
            }
            break;
        case 1:  // a double printed in full, around the 15- and 19-digit limits
        case 2:
            if (rng() % 4 == 0) t += "00";
            t += digits(1 + rng() % 20);
            t += '.';
            t += digits(1 + rng() % 18);
            break;
        case 3:  // tiny fractions, up to past 18 decimals
            t += "0.";
            t.append(rng() % 22, '0');
            t += digits(1 + rng() % 4);
            break;
        default: {  // junk: signs, dots, exponents and blanks anywhere
            const std::string alphabet = "0123456789.-+e ";
            for (std::size_t i = rng() % 12; i > 0; --i) t += alphabet[rng() % alphabet.size()];
        }
    }
    return t;
}

}  // namespace

TEST_CASE("csv: number fields equal the reference, through the fast path and the exact core alike") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    std::vector<std::string> texts = {"46319.0", "0", "-0", "0.000", "218102.59507500002", "9223372036854775807",
                                      "-9223372036854775808", "9223372036854775808", "92233720368547758.08",
                                      "0.000000000000000001", "0.0000000000000000001", "999999999999999.95",
                                      "0.99999999999999999", "1.", ".5", "-.5", "+", "-", ".", "", "1e5", "1.2.3"};
    for (int i = 0; i < 50'000; ++i) texts.push_back(random_number(rng));
    for (const auto& t : texts) {
        CAPTURE(t);
        const std::string want = expected_number(t);
        csv_detail::Num core;
        const auto status = decimal_core::parse_exact(t, csv_detail::kNumberRules, core);
        const char* const kStatus[] = {"ok", "syntax", "decimals", "range"};
        CHECK((status == decimal_core::Status::ok ? shown(core) : kStatus[static_cast<int>(status)]) == want);
        // The row parser's view: the field, its line's end and padding; it must stop at the '\n'.
        std::string padded = t + "\n" + std::string(64, '\0');
        const char* p = padded.data();
        csv_detail::Num fast;
        const bool took = csv_detail::parse_number(p, fast) && p == padded.data() + t.size();
        CHECK((took ? shown(fast) : "refused") == (want.find('@') != std::string::npos ? want : "refused"));
    }
}

// ---------------------------------------------------------------------------------------------
// Compressed input (issue 17): ingest/decompress.cpp against zlib's and zstd's own encoders.

namespace {

std::string gzip_of(const std::string& text) {
    z_stream z{};
    REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&z, static_cast<uLong>(text.size())) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    z.avail_in = static_cast<uInt>(text.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

std::string zstd_of(const std::string& text) {
    std::string out(ZSTD_compressBound(text.size()), '\0');
    const auto n = ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 3);
    REQUIRE(!ZSTD_isError(n));
    out.resize(n);
    return out;
}

std::string unpack(const std::string& packed) {
    const auto bytes = std::as_bytes(std::span<const char>(packed.data(), packed.size()));
    return std::string(ingest_detail::decompress(bytes, ingest_detail::sniff_compression(bytes), "t.csv.gz").view());
}

}  // namespace

TEST_CASE("csv: gzip and zstd decode to the exact text; every truncation is an error naming the byte") {
    std::string text = "ts,open,high,low,close,volume\n";
    for (int i = 0; i < 2000; ++i) text += "2024-01-02 09:" + std::to_string(10 + i % 50) + ":00,1.5,2,1,1.25," + std::to_string(i) + "\n";
    const std::string gz = gzip_of(text), zs = zstd_of(text);
    CHECK(unpack(gz) == text);
    CHECK(unpack(zs) == text);
    CHECK(unpack(gz + gzip_of("more\n")) == text + "more\n");  // members, as `cat a.gz b.gz`
    CHECK(unpack(zs + zstd_of("more\n")) == text + "more\n");  // frames
    // ISIZE only sizes the first buffer (decompress.cpp); a lie in either direction is still
    // caught, as zlib checks it against what it decoded.
    for (const std::uint32_t lie : {1u, 0xFFFFFFFFu}) {
        std::string lying = gz;
        for (int i = 0; i < 4; ++i) lying[lying.size() - 4 + i] = static_cast<char>(lie >> (8 * i));
        CAPTURE(lie);
        CHECK_THROWS_AS(unpack(lying), InvalidInput);
    }
    for (std::size_t n = 0; n < gz.size(); n += 1 + n / 16) {
        CAPTURE(n);
        try {
            (void)unpack(gz.substr(0, n));
            if (n >= 2) FAIL("a gzip stream cut at byte " << n << " decoded");
        } catch (const InvalidInput& e) {
            const std::string what = e.what();
            CHECK(what.starts_with("t.csv.gz: error: "));
            CHECK(what.ends_with("at compressed byte " + std::to_string(n)));
        }
    }
    for (std::size_t n = 4; n < zs.size(); n += 1 + n / 16) {
        CAPTURE(n);
        CHECK_THROWS_AS(unpack(zs.substr(0, n)), InvalidInput);
    }
    // A bomb: 128 MiB of zeros in a few KiB is past 1024x the input (and the 64 MiB floor).
    const std::string bomb = zstd_of(std::string(128u << 20, '\0'));
    CHECK_THROWS_WITH_AS(unpack(bomb), doctest::Contains("likely decompression bomb"), InvalidInput);
}
