// tests/test_store.cpp: Store against an in-memory oracle (tests/reference/naive_store.hpp):
// appends across chunk boundaries, replace anywhere, all-or-nothing writes, rescaling, many
// series, read-only opens, and corruption found by verify() and by reads.
#include <doctest/doctest.h>
#include <lmdb.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "barstore/error.hpp"
#include "barstore/ingest.hpp"
#include "barstore/query.hpp"
#include "barstore/session.hpp"
#include "barstore/store.hpp"
#include "barstore/time.hpp"
#include "codec/chunk.hpp"
#include "reference/naive_store.hpp"
#include "support/bars.hpp"
#include "support/raw_lmdb.hpp"
#include "support/time.hpp"
#include "support/util.hpp"

using barstore::Bar;
using barstore::BarColumns;
using barstore::CorruptData;
using barstore::Duration;
using barstore::InvalidInput;
using barstore::Scale;
using barstore::SeriesBatch;
using barstore::SeriesKey;
using barstore::Store;
using barstore::Timestamp;
using barstore::WriteMode;
using reference::NaiveSeries;
using test::at, test::batch, test::cols, test::diff, test::make_bars, test::ns, test::rows;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kMinuteNs = 60'000'000'000;
constexpr std::size_t kRows = barstore::codec::kChunkRows;
constexpr std::int64_t kLo = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kHi = std::numeric_limits<std::int64_t>::max();

void write1(Store& s, const SeriesBatch& b, WriteMode mode = WriteMode::append) { s.write(std::span(&b, 1), mode); }

/// Every catalog field and every bar of every series, as text: "nothing changed" is equality.
std::string snapshot(const Store& s) {
    std::string out;
    for (const auto& i : s.list()) {
        out += i.key.symbol + "|" + std::to_string(i.key.base.count()) + "|" + std::to_string(i.scale.price_decimals) +
               "|" + std::to_string(i.scale.volume_decimals) + "|" + std::to_string(i.rows) + "|" +
               std::to_string(i.chunks) + "|" + std::to_string(i.stored_bytes) + "|" + std::to_string(i.generation) +
               "|" + std::to_string(ns(i.first)) + "|" + std::to_string(ns(i.last)) + "\n";
        for (const auto& b : rows(s.read(i.key, at(kLo), at(kHi))))
            out += std::to_string(ns(b.ts)) + "," + std::to_string(b.open) + "," + std::to_string(b.high) + "," +
                   std::to_string(b.low) + "," + std::to_string(b.close) + "," + std::to_string(b.volume) + "\n";
    }
    return out;
}

/// Catalog, full read, random ranges and random read_last all match the oracle.
void check_matches(const Store& s, const SeriesKey& key, const NaiveSeries& want, std::mt19937_64& rng,
                   int probes = 40) {
    const auto info = s.info(key);
    REQUIRE(info.has_value());
    CHECK(info->rows == want.bars.size());
    CHECK(info->chunks == (want.bars.size() + kRows - 1) / kRows);  // every chunk but the last is full
    CHECK(info->scale == want.scale);
    CHECK((info->stored_bytes > 0) == !want.bars.empty());
    if (!want.bars.empty()) {
        CHECK(ns(info->first) == ns(want.bars.front().ts));
        CHECK(ns(info->last) == ns(want.bars.back().ts));
    }
    CHECK(diff(rows(s.read(key, at(kLo), at(kHi))), want.bars) == "");
    if (want.bars.empty()) return;
    const std::int64_t lo = ns(want.bars.front().ts) - 10 * kMinuteNs, hi = ns(want.bars.back().ts) + 10 * kMinuteNs;
    auto pick = [&] {
        // Half exactly on bar times (chunk starts are bar times), half anywhere near the data.
        if (rng() % 2) return ns(want.bars[rng() % want.bars.size()].ts) + (rng() % 3 == 0 ? 1 : 0);
        return lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo));
    };
    for (int p = 0; p < probes; ++p) {
        std::int64_t a = pick(), b = pick();
        if (a > b) std::swap(a, b);
        CAPTURE(a);
        CAPTURE(b);
        CHECK(diff(rows(s.read(key, at(a), at(b))), want.range(a, b)) == "");
        const std::size_t n = rng() % 3 == 0 ? rng() % (2 * kRows + 10) : rng() % 50;
        CAPTURE(n);
        CHECK(diff(rows(s.read_last(key, n, at(b))), want.last_n(n, b)) == "");
    }
    // Chunk starts, exactly: the first bar of each chunk and the one after.
    for (std::size_t c = 0; c * kRows < want.bars.size(); ++c) {
        const std::int64_t t = ns(want.bars[c * kRows].ts);
        CAPTURE(t);
        CHECK(diff(rows(s.read(key, at(t), at(t + 1))), want.range(t, t + 1)) == "");
        CHECK(diff(rows(s.read(key, at(t - 1), at(t))), want.range(t - 1, t)) == "");
        CHECK(diff(rows(s.read_last(key, 3, at(t))), want.last_n(3, t)) == "");
        CHECK(diff(rows(s.read_last(key, 3, at(t + 1))), want.last_n(3, t + 1)) == "");
    }
    CHECK(diff(rows(s.read_last(key, want.bars.size() + 5, at(kHi))), want.bars) == "");
}

/// Applies a batch to both the store and the oracle; they must agree on whether it is valid.
void write_both(Store& s, NaiveSeries& oracle, bool& exists, const SeriesBatch& b, WriteMode mode) {
    const bool ok = reference::apply(oracle, exists, b.scale, rows(b.bars), mode == WriteMode::replace);
    if (ok) {
        write1(s, b, mode);
        exists = exists || !b.bars.empty();
    } else {
        const auto before = snapshot(s);
        CHECK_THROWS_AS(write1(s, b, mode), InvalidInput);
        CHECK(snapshot(s) == before);
    }
}

/// Closes `s` before opening the store again: LMDB must not have one environment open twice in
/// a process (closing either copy would drop the other's locks).
void reopen(Store& s, const std::filesystem::path& dir, barstore::StoreOptions opts = {}) {
    { Store closing = std::move(s); }
    s = Store::open(dir, opts);
}

/// Offsets in `file` of every occurrence of the chunk magic "BSCK".
std::vector<std::size_t> find_magic(const std::string& file) {
    std::vector<std::size_t> out;
    for (std::size_t p = file.find("BSCK"); p != std::string::npos; p = file.find("BSCK", p + 1)) out.push_back(p);
    return out;
}

}  // namespace

// ---- round trips ------------------------------------------------------------------------------------

TEST_CASE("appends across chunk boundaries read back like the oracle") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    test::TempDir dir;
    auto s = Store::open(dir.path());
    // After 1970, and from before 1970 across it: chunk keys flip the sign bit, so negative
    // times must sort before positive ones.
    int series = 0;
    for (std::int64_t start : {std::int64_t{1640991660} * 1'000'000'000, std::int64_t{-20000} * kMinuteNs}) {
        CAPTURE(start);
        const SeriesKey key{++series == 1 ? "AFTER1970" : "ACROSS1970", 1min};
        NaiveSeries oracle;
        bool exists = false;
        std::int64_t next = start;
        // Sizes that top up a partial chunk, fill it exactly, and cross several boundaries.
        for (std::size_t n : {std::size_t{1}, std::size_t{100}, kRows - 101, std::size_t{1}, kRows + 3,
                              static_cast<std::size_t>(1 + rng() % 3000), 2 * kRows, static_cast<std::size_t>(1 + rng() % 50)}) {
            CAPTURE(n);
            const auto bars = make_bars(rng, n, next);
            next = ns(bars.back().ts) + kMinuteNs * (1 + static_cast<std::int64_t>(rng() % 3));
            write_both(s, oracle, exists, batch(key, bars), WriteMode::append);
            check_matches(s, key, oracle, rng, 15);
        }
        CHECK(s.verify().empty());
        if (series == 2) CHECK((ns(oracle.bars.front().ts) < 0 && ns(oracle.bars.back().ts) > 0));
    }
    // Everything survives closing and reopening, read-write and read-only.
    const auto before = snapshot(s);
    reopen(s, dir.path());
    CHECK(snapshot(s) == before);
    reopen(s, dir.path(), {.read_only = true});
    CHECK(snapshot(s) == before);
    CHECK(s.path() == dir.path());
}

TEST_CASE("replace in the middle, at the start, at the end and over everything matches the oracle") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    test::TempDir dir;
    auto s = Store::open(dir.path());
    const SeriesKey key{"REPL", 1min};
    NaiveSeries oracle;
    bool exists = false;
    const std::int64_t t0 = std::int64_t{1293840000} * 1'000'000'000;
    write_both(s, oracle, exists, batch(key, make_bars(rng, 3 * kRows + 500, t0)), WriteMode::append);
    auto ts_at = [&](double frac) {
        return ns(oracle.bars[static_cast<std::size_t>(frac * static_cast<double>(oracle.bars.size() - 1))].ts);
    };
    struct Case {
        const char* name;
        std::int64_t start;
        std::size_t n;
    };
    const std::vector<Case> cases = {
        {"middle, inside one chunk", ts_at(0.4), 50},
        {"middle, across two chunk boundaries", ts_at(0.2), 5000},
        {"at the start", ns(oracle.bars.front().ts), 300},
        {"before the start", ns(oracle.bars.front().ts) - 1000 * kMinuteNs, 200},
        {"at the end", ts_at(0.98), 400},
        {"after the end (like an append)", ns(oracle.bars.back().ts) + 5 * kMinuteNs, 10},
        {"a single bar in the middle", ts_at(0.5), 1},
        {"a chunk's first bar exactly", 0, 3},
        {"covering everything", ns(oracle.bars.front().ts) - 50 * kMinuteNs, 9000},
        {"covering everything with fewer bars", ns(oracle.bars.front().ts) - 50 * kMinuteNs, 20},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        std::int64_t start = c.start;
        if (start == 0) start = ns(oracle.bars[kRows].ts);
        // Wide gaps in the new batch make it delete stored bars between its own.
        auto bars = make_bars(rng, c.n, start, kMinuteNs, 1 + static_cast<int>(rng() % 40));
        if (std::string(c.name).starts_with("covering everything with fewer"))
            bars = make_bars(rng, c.n, start, kMinuteNs * 1000);
        write_both(s, oracle, exists, batch(key, bars), WriteMode::replace);
        check_matches(s, key, oracle, rng, 15);
        CHECK(s.verify().empty());
    }
    // Random replaces.
    for (int iter = 0; iter < 25; ++iter) {
        const std::int64_t start = ns(oracle.bars[rng() % oracle.bars.size()].ts) +
                                   kMinuteNs * (static_cast<std::int64_t>(rng() % 200) - 100);
        const std::size_t n = rng() % 4 == 0 ? 1 + rng() % 6000 : 1 + rng() % 300;
        CAPTURE(iter);
        CAPTURE(start);
        CAPTURE(n);
        write_both(s, oracle, exists, batch(key, make_bars(rng, n, start, kMinuteNs, 1 + static_cast<int>(rng() % 8))),
                   WriteMode::replace);
        check_matches(s, key, oracle, rng, 5);
    }
    CHECK(s.verify().empty());
}

TEST_CASE("scan_last and read_last equal a naive last-N; query() last N equals the full query's tail") {
    const auto seed = test::seed();
    CAPTURE(seed);
    MESSAGE("seed " << seed);  // printed even when the case passes: rerun with BARSTORE_SEED
    std::mt19937_64 rng(seed);
    test::TempDir dir;
    auto s = Store::open(dir.path());
    // 24x7 with utc bins, and an equity session (bars outside it are left out of its bins).
    for (int series = 0; series < 4; ++series) {
        const bool session = series % 2 == 1;
        const SeriesKey key{session ? "EQ" + std::to_string(series) : "UTC" + std::to_string(series), 1min};
        CAPTURE(key.symbol);
        // Gaps of up to days (make_int_bars' long gaps) and several chunks, the last partial.
        const std::size_t rows_total = 1 + rng() % (4 * kRows + 500);
        const auto ints = test::make_int_bars(rng, rows_total, 1'600'000'000LL * 1'000'000'000 / kMinuteNs * kMinuteNs, kMinuteNs);
        std::vector<Bar> bars;
        for (const auto& b : ints) bars.push_back({at(b.ts), b.open, b.high, b.low, b.close, b.volume});
        write1(s, batch(key, bars, {2, 0},
                        session ? std::optional(barstore::parse_session("us-equity")) : std::nullopt));
        const NaiveSeries oracle{.scale = {2, 0}, .bars = bars};

        const std::int64_t lo = ns(bars.front().ts) - 10 * kMinuteNs, hi = ns(bars.back().ts) + 2 * 1440 * kMinuteNs;
        auto pick_time = [&] {
            // Half on bar times (chunk starts among them), half anywhere around the data.
            if (rng() % 2) return ns(bars[rng() % bars.size()].ts) + (rng() % 3 == 0 ? 1 : 0);
            return lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo));
        };
        for (int probe = 0; probe < 30; ++probe) {
            const std::int64_t before = probe == 0 ? kHi : pick_time();
            const std::size_t n = rng() % 3 == 0 ? rng() % (2 * kRows + 10) : rng() % 60;
            CAPTURE(before);
            CAPTURE(n);
            CHECK(diff(rows(s.read_last(key, n, at(before))), oracle.last_n(n, before)) == "");

            // scan_last whole: pieces newest first, each in time order, together every bar before.
            std::vector<std::vector<Bar>> pieces;
            s.scan_last(key, at(before), [&](const BarColumns& piece) { pieces.push_back(rows(piece)); });
            std::vector<Bar> joined;
            for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) joined.insert(joined.end(), it->begin(), it->end());
            CHECK(diff(joined, oracle.last_n(bars.size(), before)) == "");
            CHECK(std::none_of(pieces.begin(), pieces.end(), [](const auto& p) { return p.empty(); }));
            // Stopped after k pieces: exactly k calls, the newest k pieces.
            if (!pieces.empty()) {
                const std::size_t k = 1 + rng() % pieces.size();
                std::size_t calls = 0;
                std::vector<Bar> newest;
                s.scan_last(key, at(before), [&](const BarColumns& piece) {
                    newest = rows(piece);
                    return ++calls < k;
                });
                CHECK(calls == k);
                CHECK(diff(newest, pieces[k - 1]) == "");
            }

            // query() last N: the full query's tail, for as-of, to, forming and no bound at all.
            for (const Duration tf : {Duration{5min}, Duration{1h}, Duration{24h}}) {
                barstore::QueryOptions full;
                full.timeframe = tf;
                const int bound = static_cast<int>(rng() % 4);
                if (bound == 1 || bound == 3) full.as_of = at(pick_time());
                if (bound == 2 || bound == 3) full.to = at(pick_time());
                full.include_forming = full.as_of && rng() % 2;
                auto last = full;
                last.last = n;
                CAPTURE(tf.count());
                CAPTURE(bound);
                CAPTURE(full.include_forming);
                const auto all = barstore::query(s, key, full);
                BarColumns tail;
                tail.append(all, all.size() - std::min(n, all.size()), all.size());
                CHECK(diff(barstore::query(s, key, last), tail) == "");
            }
        }
    }
}

TEST_CASE("two batches of one series in one write apply in order") {
    std::mt19937_64 rng(3);
    test::TempDir dir;
    auto s = Store::open(dir.path());
    const SeriesKey key{"TWICE", 1min};
    const auto bars = make_bars(rng, kRows + 200, 0);
    const std::vector<Bar> a(bars.begin(), bars.begin() + 100), b(bars.begin() + 100, bars.end());
    const std::vector<SeriesBatch> both = {batch(key, a), batch(key, b)};
    s.write(both);
    NaiveSeries oracle{{2, 0}, bars};
    check_matches(s, key, oracle, rng);
    // The second overlapping the first inside one append write is rejected as a whole.
    const auto before = snapshot(s);
    const auto more = make_bars(rng, 10, ns(bars.back().ts) + kMinuteNs);
    const std::vector<SeriesBatch> overlapping = {batch(key, more), batch(key, {more.begin() + 5, more.end()})};
    CHECK_THROWS_AS(s.write(overlapping), InvalidInput);
    CHECK(snapshot(s) == before);
}

TEST_CASE("a Writer fed a batch in random pieces (add or stage) leaves the store as one write() of the batch would") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const SeriesKey key{"PIECES", 1min};
    const std::int64_t t0 = std::int64_t{1293840000} * 1'000'000'000;
    const std::vector<barstore::AggregateSpec> specs = {{1h}, {1440min}};
    for (int iter = 0; iter < 12; ++iter) {
        CAPTURE(iter);
        test::TempDir one_dir, pieces_dir;
        auto one = Store::open(one_dir.path());
        auto pieces = Store::open(pieces_dir.path());
        // A stored series (prewarmed every other round), then a batch that appends or replaces.
        const auto stored = make_bars(rng, kRows + rng() % (3 * kRows), t0);
        for (auto* s : {&one, &pieces}) {
            write1(*s, batch(key, stored));
            if (iter % 2 == 0) s->prewarm(key, specs);
        }
        const bool replace = rng() % 2;
        const std::int64_t start = replace ? ns(stored[rng() % stored.size()].ts) : ns(stored.back().ts) + kMinuteNs;
        const auto bars = make_bars(rng, 1 + rng() % (3 * kRows), start, kMinuteNs, 1 + static_cast<int>(rng() % 4));
        const Scale scale{2 + static_cast<int>(rng() % 2), 0};  // more decimals: the stored series is rescaled
        const auto mode = replace ? WriteMode::replace : WriteMode::append;
        write1(one, batch(key, bars, scale), mode);
        // The same bars cut at random points, each piece at its own (possibly smaller) scale.
        auto writer = pieces.begin_write(mode);
        for (std::size_t from = 0; from < bars.size();) {
            const std::size_t to = std::min(bars.size(), from + 1 + rng() % (kRows + 100));
            auto piece = batch(key, {bars.begin() + static_cast<std::ptrdiff_t>(from), bars.begin() + static_cast<std::ptrdiff_t>(to)}, scale);
            // stage() holds append pieces until they fill chunks; add() writes at once; mixed, as callers may.
            if (rng() % 2) writer.add(piece);
            else writer.stage(std::move(piece));
            from = to;
        }
        writer.commit();
        CAPTURE(replace);
        CHECK(snapshot(pieces) == snapshot(one));
        CHECK(pieces.verify().empty());
        for (const auto& spec : specs) {
            barstore::QueryOptions q;
            q.timeframe = spec.timeframe;
            CHECK(barstore::query(pieces, key, q) == barstore::query(one, key, q));
        }
        if (iter % 2 == 0) CHECK(pieces.prewarmed(key).size() == specs.size());
    }
}

TEST_CASE("a Writer renames what it created, refuses the rest, and writes nothing unless committed") {
    std::mt19937_64 rng(11);
    test::TempDir dir;
    auto s = Store::open(dir.path());
    const auto kept = make_bars(rng, 300, 0);
    write1(s, batch(SeriesKey{"OLD", 1min}, kept));
    const auto before = snapshot(s);
    {
        auto w = s.begin_write();
        w.add(batch(SeriesKey{"NEW", 2min}, make_bars(rng, 50, 0, 2 * kMinuteNs)));
        CHECK(w.find("NEW").size() == 1);  // the writer sees its own series
        CHECK(s.find("NEW").empty());      // nobody else does before the commit
    }  // destroyed uncommitted: nothing was written
    CHECK(snapshot(s) == before);

    auto w = s.begin_write();
    const auto fresh = make_bars(rng, 5000, 0, 2 * kMinuteNs);
    w.add(batch(SeriesKey{"NEW", 2min}, fresh, {2, 0}, barstore::parse_session("America/New_York 09:30-16:00")));
    CHECK_THROWS_AS(w.rename(SeriesKey{"OLD", 1min}, SeriesKey{"OLD", 30s}), InvalidInput);  // not this writer's
    w.rename(SeriesKey{"NEW", 2min}, SeriesKey{"NEW", 1min});
    // Later pieces go to the new name and continue the same series.
    const auto more = make_bars(rng, 10, ns(fresh.back().ts) + kMinuteNs);
    w.add(batch(SeriesKey{"NEW", 1min}, more));
    w.commit();
    CHECK_FALSE(s.info(SeriesKey{"NEW", 2min}).has_value());
    const auto info = s.info(SeriesKey{"NEW", 1min});
    REQUIRE(info.has_value());
    CHECK(info->rows == fresh.size() + more.size());
    CHECK(barstore::format_session(info->session) == "America/New_York 09:30-16:00");
    auto all = fresh;
    all.insert(all.end(), more.begin(), more.end());
    CHECK(s.read(SeriesKey{"NEW", 1min}, Timestamp::min(), Timestamp::max()) == cols(all));
    CHECK(s.verify().empty());
}

// ---- rejected writes leave the store unchanged --------------------------------------------------------

TEST_CASE("append at or before the last bar throws InvalidInput and changes nothing") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    test::TempDir dir;
    auto s = Store::open(dir.path());
    const SeriesKey key{"APP", 1min}, other{"OTHER", 1h};
    const auto bars = make_bars(rng, kRows + 10, 0);
    write1(s, batch(key, bars));
    write1(s, batch(other, make_bars(rng, 5, 0, 3600 * 1'000'000'000LL)));
    const auto before = snapshot(s);
    const std::int64_t last = ns(bars.back().ts);
    for (std::int64_t start : {last, last - kMinuteNs, ns(bars.front().ts), ns(bars[kRows].ts),
                               ns(bars.front().ts) - 100 * kMinuteNs}) {
        CAPTURE(start);
        CHECK_THROWS_AS(write1(s, batch(key, make_bars(rng, 3, start))), InvalidInput);
        CHECK(snapshot(s) == before);
    }
    CHECK(s.verify().empty());
    // One minute after the last bar is fine.
    CHECK_NOTHROW(write1(s, batch(key, make_bars(rng, 3, last + kMinuteNs))));
}

TEST_CASE("batches that break bar invariants or key rules throw InvalidInput and change nothing") {
    std::mt19937_64 rng(11);
    test::TempDir dir;
    auto s = Store::open(dir.path());
    const SeriesKey key{"INV", 1min};
    write1(s, batch(key, make_bars(rng, 50, 0)));
    const auto before = snapshot(s);
    const auto fresh = make_bars(rng, 20, 1000 * kMinuteNs);
    auto broken = [&](auto edit) {
        auto b = fresh;
        edit(b);
        return batch(key, b);
    };
    std::vector<std::pair<std::string, SeriesBatch>> bad = {
        {"high below low", broken([](auto& b) { b[3].high = b[3].low - 1; })},
        {"low above open", broken([](auto& b) { b[4].low = std::max(b[4].open, b[4].close) + 1; })},
        {"high below close", broken([](auto& b) { b[5].high = std::min(b[5].open, b[5].close) - 1; })},
        {"negative volume", broken([](auto& b) { b[6].volume = -1; })},
        {"unaligned ts", broken([](auto& b) { b[7].ts += 1s; })},
        {"duplicate ts", broken([](auto& b) { b[8].ts = b[7].ts; })},
        {"backwards ts", broken([](auto& b) { std::swap(b[9].ts, b[10].ts); })},
        {"ts at the end of the supported range", broken([](auto& b) { b[19].ts = barstore::kEndTime; })},
        {"ts before the supported range", broken([](auto& b) { b[0].ts = barstore::kMinTime - 1min; })},
        {"empty symbol", batch(SeriesKey{"", 1min}, fresh)},
        {"65-byte symbol", batch(SeriesKey{std::string(65, 'x'), 1min}, fresh)},
        {"control byte in symbol", batch(SeriesKey{"A\nB", 1min}, fresh)},
        {"zero base", batch(SeriesKey{"ZERO", Duration{0}}, fresh)},
        {"negative base", batch(SeriesKey{"NEG", -1min}, fresh)},
        {"19 price decimals", batch(key, fresh, {19, 0})},
        {"negative volume decimals", batch(key, fresh, {2, -1})},
    };
    for (const auto& [name, b] : bad) {
        CAPTURE(name);
        CHECK_THROWS_AS(write1(s, b), InvalidInput);
        CHECK_THROWS_AS(write1(s, b, WriteMode::replace), InvalidInput);
        CHECK(snapshot(s) == before);
    }
}

TEST_CASE("a write is all or nothing: an invalid second batch leaves the first unwritten") {
    std::mt19937_64 rng(5);
    test::TempDir dir;
    auto s = Store::open(dir.path());
    const SeriesKey a{"A", 1min}, b{"B", 1min}, c{"C", 1min};
    write1(s, batch(c, make_bars(rng, 10, 0)));
    const auto before = snapshot(s);
    auto bad_bars = make_bars(rng, 5, 0);
    bad_bars[2].high = bad_bars[2].low - 1;
    {
        const std::vector<SeriesBatch> w = {batch(a, make_bars(rng, kRows + 7, 0)), batch(b, bad_bars)};
        CHECK_THROWS_AS(s.write(w), InvalidInput);
    }
    CHECK_FALSE(s.info(a).has_value());
    CHECK_FALSE(s.info(b).has_value());
    CHECK(s.read(a, at(kLo), at(kHi)).empty());
    CHECK(snapshot(s) == before);
    {
        // The first batch extends an existing series, the second appends into the past.
        const std::vector<SeriesBatch> w = {batch(c, make_bars(rng, 10, 100 * kMinuteNs)),
                                            batch(a, make_bars(rng, 5, 0)), batch(c, make_bars(rng, 3, 0))};
        CHECK_THROWS_AS(s.write(w), InvalidInput);
    }
    CHECK(snapshot(s) == before);
    {
        // Same with replace mode and a bad bar in the last batch.
        const std::vector<SeriesBatch> w = {batch(c, make_bars(rng, 10, 0)), batch(b, bad_bars)};
        CHECK_THROWS_AS(s.write(w, WriteMode::replace), InvalidInput);
    }
    CHECK(snapshot(s) == before);
    // And the series ids handed out by the failed writes were not burnt into anything visible.
    write1(s, batch(a, make_bars(rng, 3, 0)));
    CHECK(s.list().size() == 2);
    CHECK(s.verify().empty());
}

// ---- scale ----------------------------------------------------------------------------------------------

TEST_CASE("more decimals rescale the stored series; fewer decimals scale the new batch up") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    test::TempDir dir;
    auto s = Store::open(dir.path());
    const SeriesKey key{"SCALE", 1min};
    NaiveSeries oracle;
    bool exists = false;
    auto first = make_bars(rng, kRows + 100, 0);
    write_both(s, oracle, exists, batch(key, first, {2, 0}), WriteMode::append);
    check_matches(s, key, oracle, rng, 5);
    const auto gen0 = s.info(key)->generation;

    // More decimals: every stored price x100, every stored volume x1000.
    auto second = make_bars(rng, 50, ns(first.back().ts) + kMinuteNs);
    write_both(s, oracle, exists, batch(key, second, {4, 3}), WriteMode::append);
    CHECK(s.info(key)->scale == Scale{4, 3});
    const auto all = rows(s.read(key, at(kLo), at(kHi)));
    REQUIRE(all.size() == first.size() + second.size());
    CHECK(all[0].open == first[0].open * 100);
    CHECK(all[0].volume == first[0].volume * 1000);
    CHECK(all[kRows + 5].close == first[kRows + 5].close * 100);
    CHECK(all[first.size()].open == second[0].open);  // the new batch as given
    CHECK(s.info(key)->generation != gen0);
    check_matches(s, key, oracle, rng, 10);

    // Fewer decimals: the new batch is scaled up to {4, 3}.
    auto third = make_bars(rng, 30, ns(second.back().ts) + kMinuteNs);
    write_both(s, oracle, exists, batch(key, third, {1, 0}), WriteMode::append);
    CHECK(s.info(key)->scale == Scale{4, 3});
    const auto got = s.read(key, third.front().ts, third.back().ts + 1ns);
    REQUIRE(got.size() == third.size());
    CHECK(got.open[0] == third[0].open * 1000);
    CHECK(got.volume[0] == third[0].volume * 1000);
    check_matches(s, key, oracle, rng, 10);

    // Mixed: more price decimals, fewer volume decimals, through replace.
    auto fourth = make_bars(rng, 40, ns(first[100].ts));
    write_both(s, oracle, exists, batch(key, fourth, {6, 0}), WriteMode::replace);
    CHECK(s.info(key)->scale == Scale{6, 3});
    check_matches(s, key, oracle, rng, 10);
    CHECK(s.verify().empty());
}

TEST_CASE("a rescale that would overflow int64 is rejected and nothing changes") {
    std::mt19937_64 rng(9);
    test::TempDir dir;
    auto s = Store::open(dir.path());
    const SeriesKey key{"BIG", 1min};
    auto bars = make_bars(rng, 20, 0);
    bars[10].high = INT64_MAX / 50;  // fits x10, not x100
    bars[11].volume = INT64_MAX / 5;
    write1(s, batch(key, bars, {0, 0}));
    const auto before = snapshot(s);
    const auto next = make_bars(rng, 5, ns(bars.back().ts) + kMinuteNs);
    CHECK_THROWS_AS(write1(s, batch(key, next, {2, 0})), InvalidInput);   // stored high x100
    CHECK_THROWS_AS(write1(s, batch(key, next, {0, 1})), InvalidInput);   // stored volume x10
    CHECK(snapshot(s) == before);
    CHECK_NOTHROW(write1(s, batch(key, next, {1, 0})));                 // x10 fits
    CHECK(s.info(key)->scale == Scale{1, 0});
    // A new batch that cannot be scaled up to the series' decimals.
    auto huge = make_bars(rng, 2, ns(next.back().ts) + kMinuteNs);
    huge[1].high = INT64_MAX / 2;
    const auto before2 = snapshot(s);
    CHECK_THROWS_AS(write1(s, batch(key, huge, {0, 0})), InvalidInput);
    CHECK(snapshot(s) == before2);
}

// ---- catalog --------------------------------------------------------------------------------------------

TEST_CASE("generation changes with every write to a series and only then") {
    std::mt19937_64 rng(13);
    test::TempDir dir;
    auto s = Store::open(dir.path());
    const SeriesKey a{"GA", 1min}, b{"GB", 1min};
    std::set<std::uint64_t> seen;
    std::int64_t next_a = 0;
    write1(s, batch(b, make_bars(rng, 3, 0)));
    const auto gen_b = s.info(b)->generation;
    for (int i = 0; i < 12; ++i) {
        const auto bars = make_bars(rng, 1 + rng() % 10, next_a);
        next_a = ns(bars.back().ts) + kMinuteNs;
        write1(s, batch(a, bars), i % 3 == 2 ? WriteMode::replace : WriteMode::append);
        const auto g = s.info(a)->generation;
        CHECK(seen.insert(g).second);
        CHECK(s.info(b)->generation == gen_b);
        // A failed write does not change it either.
        CHECK_THROWS_AS(write1(s, batch(a, bars)), InvalidInput);
        CHECK(s.info(a)->generation == g);
    }
    reopen(s, dir.path());
    const auto g = s.info(a)->generation;
    write1(s, batch(a, make_bars(rng, 1, next_a)));
    CHECK(s.info(a)->generation != g);
    CHECK(seen.count(s.info(a)->generation) == 0);  // not reused after reopening
}

TEST_CASE("1,200 series in one store: list() returns all, each reads back, find() orders bases") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    test::TempDir dir;
    auto s = Store::open(dir.path());
    std::map<std::string, std::vector<Bar>> want;  // "symbol|base" -> bars
    std::vector<SeriesBatch> batches;
    const Duration bases[] = {1min, 5min, 1h, 1s, 24h};
    for (int i = 0; i < 1200; ++i) {
        std::string sym = "SYM" + std::to_string(i);
        if (i % 7 == 0) sym += "-\xC3\xA9";                 // UTF-8
        if (i % 11 == 0) sym = std::string(60, 'Z') + std::to_string(i % 1000);  // long
        if (sym.size() > 64) sym.resize(64);
        const Duration base = bases[i % 5];
        const auto bars = make_bars(rng, 1 + rng() % 5, static_cast<std::int64_t>(rng() % 1000) * base.count(),
                                    base.count());
        if (want.count(sym + "|" + std::to_string(base.count()))) continue;
        want[sym + "|" + std::to_string(base.count())] = bars;
        batches.push_back(batch(SeriesKey{sym, base}, bars));
    }
    s.write(batches);
    // The same symbols at more bases, in a second write.
    std::vector<SeriesBatch> more;
    for (const Duration base : {Duration{1h}, Duration{1min}, Duration{5min}}) {
        const auto bars = make_bars(rng, 3, 0, base.count());
        if (want.count("MULTI|" + std::to_string(base.count()))) continue;
        want["MULTI|" + std::to_string(base.count())] = bars;
        more.push_back(batch(SeriesKey{"MULTI", base}, bars));
    }
    s.write(more);
    REQUIRE(want.size() >= 1000);

    const auto list = s.list();
    CHECK(list.size() == want.size());
    std::set<std::string> listed;
    for (const auto& i : list) listed.insert(i.key.symbol + "|" + std::to_string(i.key.base.count()));
    CHECK(listed.size() == want.size());
    for (const auto& [k, bars] : want) {
        CAPTURE(k);
        CHECK(listed.count(k) == 1);
        const auto bar = k.rfind('|');
        const SeriesKey key{k.substr(0, bar), Duration{std::stoll(k.substr(bar + 1))}};
        CHECK(diff(rows(s.read(key, at(kLo), at(kHi))), bars) == "");
        CHECK(s.info(key)->rows == bars.size());
    }
    const auto multi = s.find("MULTI");
    REQUIRE(multi.size() == 3);
    CHECK(multi[0].key.base == 1min);
    CHECK(multi[1].key.base == 5min);
    CHECK(multi[2].key.base == 1h);
    CHECK(s.find("NOPE").empty());
    CHECK(s.verify().empty());
}

TEST_CASE("resolve() picks the series a timeframe means, as a naive oracle over the bases does") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    test::TempDir dir;
    auto s = Store::open(dir.path());
    const Duration candidates[] = {1s, 1min, 5min, 15min, 1h, 4h, 24h};
    // Oracle: with one series, it; with no timeframe, the finest; else, of the bases dividing the
    // timeframe, the largest; none dividing is an error.
    auto oracle = [](const std::vector<Duration>& bases, std::optional<Duration> tf) -> std::optional<Duration> {
        if (bases.size() == 1 || !tf) return *std::min_element(bases.begin(), bases.end());
        std::optional<Duration> best;
        for (const auto b : bases)
            if (tf->count() % b.count() == 0 && (!best || b > *best)) best = b;
        return best;
    };
    for (int i = 0; i < 40; ++i) {
        const std::string sym = "R" + std::to_string(i);
        std::vector<Duration> bases;
        for (const auto b : candidates)
            if (rng() % 3 == 0) bases.push_back(b);
        if (bases.empty()) bases.push_back(candidates[rng() % std::size(candidates)]);
        std::vector<SeriesBatch> batches;
        for (const auto b : bases) batches.push_back(batch(SeriesKey{sym, b}, make_bars(rng, 2, 0, b.count())));
        s.write(batches);
        for (const std::optional<Duration> tf : {std::optional<Duration>{}, std::optional<Duration>{90s},
                                                 std::optional<Duration>{7min}, std::optional<Duration>{30min},
                                                 std::optional<Duration>{2h}, std::optional<Duration>{48h}}) {
            CAPTURE(sym);
            CAPTURE(bases.size());
            CAPTURE(tf ? tf->count() : 0);
            const auto want = oracle(bases, tf);
            if (want) CHECK(s.resolve(sym, tf).key == SeriesKey{sym, *want});
            else CHECK_THROWS_AS(s.resolve(sym, tf), InvalidInput);
        }
    }
    CHECK_THROWS_AS(s.resolve("NOPE", std::nullopt), barstore::NotFound);
}

TEST_CASE("unknown series, empty ranges and n = 0 read as empty") {
    std::mt19937_64 rng(17);
    test::TempDir dir;
    auto s = Store::open(dir.path());
    const SeriesKey key{"E", 1min};
    write1(s, batch(key, make_bars(rng, 100, 0)));
    CHECK(s.read(SeriesKey{"NONE", 1min}, at(kLo), at(kHi)).empty());
    CHECK(s.read(SeriesKey{"E", 5min}, at(kLo), at(kHi)).empty());  // same symbol, other base
    CHECK(s.read_last(SeriesKey{"NONE", 1min}, 10, at(kHi)).empty());
    CHECK_FALSE(s.info(SeriesKey{"NONE", 1min}).has_value());
    CHECK(s.read(key, at(50 * kMinuteNs), at(50 * kMinuteNs)).empty());
    CHECK(s.read(key, at(60 * kMinuteNs), at(50 * kMinuteNs)).empty());
    CHECK(s.read_last(key, 0, at(kHi)).empty());
    CHECK(s.read_last(key, 10, at(0)).empty());
    CHECK(s.read(key, at(kLo), at(0)).empty());
    // An empty batch writes nothing.
    write1(s, batch(SeriesKey{"EMPTY", 1min}, {}));
    CHECK_FALSE(s.info(SeriesKey{"EMPTY", 1min}).has_value());
}

// ---- opening --------------------------------------------------------------------------------------------

TEST_CASE("read-only open of a missing or empty directory throws NotFound; read-only stores refuse writes") {
    test::TempDir dir;
    CHECK_THROWS_AS(Store::open(dir / "missing", {.read_only = true}), barstore::NotFound);
    CHECK_FALSE(std::filesystem::exists(dir / "missing"));
    std::filesystem::create_directory(dir / "empty");
    CHECK_THROWS_AS(Store::open(dir / "empty", {.read_only = true}), barstore::NotFound);
    {
        auto s = Store::open(dir / "new");  // read-write creates it
        CHECK(s.list().empty());
        std::mt19937_64 rng(1);
        write1(s, batch(SeriesKey{"X", 1min}, make_bars(rng, 5, 0)));
    }
    auto ro = Store::open(dir / "new", {.read_only = true});
    CHECK(ro.list().size() == 1);
    std::mt19937_64 rng(2);
    CHECK_THROWS_AS(write1(ro, batch(SeriesKey{"Y", 1min}, make_bars(rng, 5, 0))), InvalidInput);
    CHECK(ro.list().size() == 1);
}

// ---- corruption -----------------------------------------------------------------------------------------

TEST_CASE("a flipped byte in data.mdb: verify() names the series and chunk, reads of it throw CorruptData") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    test::TempDir dir;
    const SeriesKey bad_key{"ROT", 1min}, good_key{"FINE", 1h};
    const auto bad_bars = make_bars(rng, 3 * kRows + 10, 0);
    const auto good_bars = make_bars(rng, 2 * kRows, -1000 * 3600 * 1'000'000'000LL, 3600 * 1'000'000'000LL);
    {
        auto s = Store::open(dir.path());
        // One write, so every chunk is written once and data.mdb holds no stale copies.
        const std::vector<SeriesBatch> w = {batch(bad_key, bad_bars), batch(good_key, good_bars)};
        s.write(w);
        CHECK(s.verify().empty());
    }
    const auto file = dir.path() / "data.mdb";
    std::string bytes = test::read_text(file);
    const auto magics = find_magic(bytes);
    CHECK(magics.size() == 4 + 2);
    // Corrupt the chunk of ROT that starts at bar kRows (its second chunk), inside its payload.
    const std::int64_t target_ts = ns(bad_bars[kRows].ts);
    std::size_t hit = std::string::npos;
    for (auto p : magics) {
        std::int64_t first_ts;
        std::memcpy(&first_ts, bytes.data() + p + 16, 8);
        if (first_ts == target_ts) hit = p;
    }
    REQUIRE(hit != std::string::npos);
    const std::size_t flip = hit + barstore::codec::kHeaderBytes + rng() % 64;
    bytes[flip] = static_cast<char>(bytes[flip] ^ 0x10);
    {
        std::ofstream out(file, std::ios::binary | std::ios::in | std::ios::out);
        out.seekp(static_cast<std::streamoff>(flip));
        out.put(bytes[flip]);
    }

    auto s = Store::open(dir.path(), {.read_only = true});
    const auto problems = s.verify();
    REQUIRE(problems.size() >= 1);
    for (const auto& p : problems) {
        CAPTURE(p.reason);
        CHECK(p.key == bad_key);
    }
    CHECK(ns(problems[0].first) == target_ts);
    CHECK(problems[0].reason.find("checksum") != std::string::npos);

    // Any read that touches the chunk fails, naming the series; reads around it still work.
    const std::int64_t chunk_first = target_ts, chunk_last = ns(bad_bars[2 * kRows - 1].ts);
    CHECK_THROWS_AS(s.read(bad_key, at(kLo), at(kHi)), CorruptData);
    CHECK_THROWS_AS(s.read(bad_key, at(chunk_first), at(chunk_first + 1)), CorruptData);
    CHECK_THROWS_AS(s.read(bad_key, at(chunk_last), at(chunk_last + 1)), CorruptData);
    CHECK_THROWS_AS(s.read_last(bad_key, 10, at(chunk_last + 1)), CorruptData);
    try {
        s.read(bad_key, at(kLo), at(kHi));
    } catch (const CorruptData& e) {
        CHECK(std::string(e.what()).find("ROT") != std::string::npos);
    }
    CHECK(diff(rows(s.read(bad_key, at(kLo), at(chunk_first))),
               std::vector<Bar>(bad_bars.begin(), bad_bars.begin() + kRows)) == "");
    // A read from the next chunk's first bar on never needs the corrupt chunk. (One from
    // chunk_last + 1 may: only the corrupt chunk's unverifiable header could say it ends earlier.)
    CHECK(diff(rows(s.read(bad_key, bad_bars[2 * kRows].ts, at(kHi))),
               std::vector<Bar>(bad_bars.begin() + 2 * kRows, bad_bars.end())) == "");
    CHECK(diff(rows(s.read_last(bad_key, 5, at(kHi))), std::vector<Bar>(bad_bars.end() - 5, bad_bars.end())) == "");
    CHECK(diff(rows(s.read(good_key, at(kLo), at(kHi))), good_bars) == "");
}

TEST_CASE("a chunk rewritten through LMDB with one bad byte is found by verify() and by write()") {
    std::mt19937_64 rng(23);
    test::TempDir dir;
    const SeriesKey key{"LMDB", 1min};
    const auto bars = make_bars(rng, kRows + 20, 0);
    {
        auto s = Store::open(dir.path());
        write1(s, batch(key, bars));
    }
    // Rewrite the last chunk (the partial one an append would top up) with a byte flipped.
    {
        test::RawEnv env(dir.path());
        MDB_txn* txn = nullptr;
        REQUIRE(mdb_txn_begin(env.get(), nullptr, 0, &txn) == 0);
        MDB_dbi dbi;
        REQUIRE(mdb_dbi_open(txn, "chunks", 0, &dbi) == 0);
        MDB_cursor* cur = nullptr;
        REQUIRE(mdb_cursor_open(txn, dbi, &cur) == 0);
        MDB_val k, v;
        REQUIRE(mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0);
        std::string value(static_cast<const char*>(v.mv_data), v.mv_size);
        std::string kcopy(static_cast<const char*>(k.mv_data), k.mv_size);
        value[value.size() / 2] = static_cast<char>(value[value.size() / 2] ^ 1);
        mdb_cursor_close(cur);
        MDB_val k2{kcopy.size(), kcopy.data()}, v2{value.size(), value.data()};
        REQUIRE(mdb_put(txn, dbi, &k2, &v2, 0) == 0);
        REQUIRE(mdb_txn_commit(txn) == 0);
    }
    auto s = Store::open(dir.path());
    const auto problems = s.verify();
    REQUIRE(problems.size() >= 1);
    CHECK(problems[0].key == key);
    CHECK(ns(problems[0].first) == ns(bars[kRows].ts));
    CHECK_THROWS_AS(s.read(key, at(kLo), at(kHi)), CorruptData);
    CHECK(s.read(key, at(kLo), bars[kRows].ts).size() == kRows);
    // Appending decodes the partial last chunk to top it up: the corruption surfaces, nothing is written.
    const auto info = s.info(key);
    CHECK_THROWS_AS(write1(s, batch(key, make_bars(rng, 5, ns(bars.back().ts) + kMinuteNs))), CorruptData);
    CHECK(s.info(key)->rows == info->rows);
}

// ---- cutting out corrupt chunks ------------------------------------------------------------------------

namespace {

/// Rewrites, through LMDB, the value of the chunk whose key is (series, first_ts) with one byte
/// flipped in its payload: a chunk that fails its checksum, in a store LMDB itself finds sound.
void corrupt_chunk(const std::filesystem::path& dir, std::int64_t first_ts) {
    test::RawEnv env(dir);
    MDB_txn* txn = nullptr;
    REQUIRE(mdb_txn_begin(env.get(), nullptr, 0, &txn) == 0);
    MDB_dbi dbi;
    REQUIRE(mdb_dbi_open(txn, "chunks", 0, &dbi) == 0);
    MDB_cursor* cur = nullptr;
    REQUIRE(mdb_cursor_open(txn, dbi, &cur) == 0);
    MDB_val k, v;
    bool found = false;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        // Chunk keys: be32 series id, be64 first ts with the sign bit flipped (docs/format.md).
        std::uint64_t be = 0;
        for (int i = 0; i < 8; ++i) be = (be << 8) | static_cast<const unsigned char*>(k.mv_data)[4 + i];
        if (k.mv_size == 12 && static_cast<std::int64_t>(be ^ (std::uint64_t{1} << 63)) == first_ts) {
            found = true;
            break;
        }
    }
    REQUIRE(found);
    std::string value(static_cast<const char*>(v.mv_data), v.mv_size);
    std::string kcopy(static_cast<const char*>(k.mv_data), k.mv_size);
    const std::size_t flip = barstore::codec::kHeaderBytes + (value.size() - barstore::codec::kHeaderBytes) / 2;
    value[flip] = static_cast<char>(value[flip] ^ 0x20);
    mdb_cursor_close(cur);
    MDB_val k2{kcopy.size(), kcopy.data()}, v2{value.size(), value.data()};
    REQUIRE(mdb_put(txn, dbi, &k2, &v2, 0) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
}

}  // namespace

TEST_CASE("--replace over a chunk that fails its checksum cuts it out without decoding it") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const SeriesKey key{"CUT", 1min}, other{"OTHER", 1min};
    const auto bars = make_bars(rng, 4 * kRows + 300, 0);
    const auto other_bars = make_bars(rng, 2 * kRows + 5, 0);
    // Chunk 2 (bars [2 kRows, 3 kRows)) is corrupt; replaces cover it whole, and some of its
    // neighbours too, which are decoded as usual.
    const std::int64_t bad_first = ns(bars[2 * kRows].ts), next_first = ns(bars[3 * kRows].ts);
    struct Case {
        const char* name;
        std::int64_t first, last;  // the new bars' range (inclusive)
    };
    const std::vector<Case> cases = {
        {"exactly the chunk's bars", bad_first, next_first - kMinuteNs},
        {"the chunk's key range to the next chunk's first bar", bad_first, next_first},
        {"from inside the previous chunk to inside the next", ns(bars[2 * kRows - 700].ts), ns(bars[3 * kRows + 9].ts)},
        {"from the series' start to past its end", ns(bars.front().ts) - 5 * kMinuteNs, ns(bars.back().ts) + kMinuteNs},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        test::TempDir dir;
        NaiveSeries oracle, other_oracle;
        bool exists = false, other_exists = false;
        {
            auto s = Store::open(dir.path());
            write_both(s, oracle, exists, batch(key, bars), WriteMode::append);
            write_both(s, other_oracle, other_exists, batch(other, other_bars), WriteMode::append);
        }
        corrupt_chunk(dir.path(), bad_first);
        auto s = Store::open(dir.path());
        REQUIRE(s.verify().size() == 1);
        const auto fresh = make_bars(rng, static_cast<std::size_t>((c.last - c.first) / kMinuteNs / 3 + 1), c.first,
                                     kMinuteNs, 1);
        auto replacement = fresh;
        std::erase_if(replacement, [&](const Bar& b) { return ns(b.ts) > c.last; });
        replacement.back().ts = at(c.last);  // the batch ends exactly at the range's end
        if (replacement.size() > 1 && ns(replacement[replacement.size() - 2].ts) >= c.last) replacement.pop_back();
        write_both(s, oracle, exists, batch(key, replacement), WriteMode::replace);
        CHECK(s.verify().empty());
        check_matches(s, key, oracle, rng, 10);
        check_matches(s, other, other_oracle, rng, 3);
    }
}

TEST_CASE("a store of an unknown format version is refused naming the version found") {
    test::TempDir dir;
    { auto s = Store::open(dir.path()); }
    auto set_version = [&](std::string value) {
        test::RawEnv env(dir.path());
        MDB_txn* txn = nullptr;
        REQUIRE(mdb_txn_begin(env.get(), nullptr, 0, &txn) == 0);
        MDB_dbi dbi;
        REQUIRE(mdb_dbi_open(txn, "meta", 0, &dbi) == 0);
        std::string k = "format_version";
        MDB_val kv{k.size(), k.data()}, vv{value.size(), value.data()};
        REQUIRE(mdb_put(txn, dbi, &kv, &vv, 0) == 0);
        REQUIRE(mdb_txn_commit(txn) == 0);
    };
    auto message = [&](barstore::StoreOptions opts) {
        try {
            Store::open(dir.path(), opts);
        } catch (const CorruptData& e) {
            return std::string(e.what());
        }
        return std::string("no CorruptData");
    };
    set_version(std::string("\x07\x00\x00\x00", 4));
    for (const bool ro : {false, true}) {
        const auto m = message({.read_only = ro});
        CAPTURE(m);
        CHECK(m.find(dir.path().string()) != std::string::npos);
        CHECK(m.find("format version 7") != std::string::npos);
        CHECK(m.find("version 1") != std::string::npos);  // the one this build reads
    }
    set_version(std::string("\x01\x00", 2));
    const auto m = message({});
    CAPTURE(m);
    CHECK(m.find("2 bytes") != std::string::npos);
    set_version(std::string("\x01\x00\x00\x00", 4));
    CHECK_NOTHROW(Store::open(dir.path()));
}

// ---- remove -----------------------------------------------------------------------------------------------

namespace {

/// remove() on the store and the oracle: same count, same bars after, generation moved iff a
/// bar went, nothing else changed.
void remove_both(Store& s, const SeriesKey& key, NaiveSeries& oracle, std::optional<std::int64_t> from,
                 std::optional<std::int64_t> to) {
    const auto gen = s.info(key)->generation;
    const auto want = reference::remove(oracle, from.value_or(kLo), to ? *to : kHi);
    if (!to) oracle.bars.erase(std::remove_if(oracle.bars.begin(), oracle.bars.end(),
                                              [&](const Bar& b) { return ns(b.ts) >= from.value_or(kLo); }),
                               oracle.bars.end());  // [from, +inf): the bar at INT64_MAX too
    const auto got = s.remove(key, from ? std::optional(at(*from)) : std::nullopt, to ? std::optional(at(*to)) : std::nullopt);
    CHECK(got == want);
    CHECK((s.info(key)->generation != gen) == (got > 0));
}

}  // namespace

TEST_CASE("remove() of a range anywhere matches the oracle, and the series stays when emptied") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    test::TempDir dir;
    auto s = Store::open(dir.path());
    const SeriesKey key{"RM", 1min}, other{"RM", 5min};
    NaiveSeries oracle, other_oracle;
    bool exists = false, other_exists = false;
    write_both(s, oracle, exists, batch(key, make_bars(rng, 5 * kRows + 700, 0)), WriteMode::append);
    write_both(s, other_oracle, other_exists, batch(other, make_bars(rng, 300, 0, 5 * kMinuteNs)), WriteMode::append);
    s.set_session(key, barstore::parse_session("us-equity"));
    auto chunk_first = [&](std::size_t c) { return ns(oracle.bars[c * kRows].ts); };
    auto bar = [&](double frac) {
        return ns(oracle.bars[static_cast<std::size_t>(frac * static_cast<double>(oracle.bars.size() - 1))].ts);
    };
    using Range = std::pair<std::optional<std::int64_t>, std::optional<std::int64_t>>;
    // Each range is taken from the bars left by the cases before it.
    const std::vector<std::pair<const char*, std::function<Range()>>> cases = {
        {"inside one chunk", [&] { return Range{bar(0.3), bar(0.3) + 40 * kMinuteNs}; }},
        {"exactly one chunk, by its key range", [&] { return Range{chunk_first(2), chunk_first(3)}; }},
        {"across two chunk boundaries", [&] { return Range{bar(0.1), bar(0.45)}; }},
        {"a single bar", [&] { return Range{bar(0.5), bar(0.5) + 1}; }},
        {"from before the first bar", [&] { return Range{ns(oracle.bars.front().ts) - 100 * kMinuteNs, bar(0.05)}; }},
        {"no start", [&] { return Range{std::nullopt, bar(0.1)}; }},
        {"no end", [&] { return Range{bar(0.9), std::nullopt}; }},
        {"to past the end", [&] { return Range{bar(0.8), ns(oracle.bars.back().ts) + kMinuteNs * 1000}; }},
        {"after the data (nothing)",
         [&] { return Range{ns(oracle.bars.back().ts) + kMinuteNs, ns(oracle.bars.back().ts) + 9 * kMinuteNs}; }},
        {"in a gap (nothing)", [&] {
             for (std::size_t i = 1; i < oracle.bars.size(); ++i)
                 if (ns(oracle.bars[i].ts) - ns(oracle.bars[i - 1].ts) > kMinuteNs)
                     return Range{ns(oracle.bars[i - 1].ts) + 1, ns(oracle.bars[i].ts)};
             return Range{kLo, kLo + 1};
         }},
        {"from == to (nothing)", [&] { return Range{bar(0.5), bar(0.5)}; }},
        {"from a chunk boundary to the end", [&] { return Range{chunk_first(1), std::nullopt}; }},
    };
    for (const auto& [label, range] : cases) {
        const std::string name = label;
        CAPTURE(name);
        REQUIRE(oracle.bars.size() > 4 * kRows / 3);
        const auto [from, to] = range();
        remove_both(s, key, oracle, from, to);
        check_matches(s, key, oracle, rng, 10);
        CHECK(s.verify().empty());
        // Chunk keys still equal their first bar: the oracle's every kRows-th bar.
        CHECK(s.info(key)->session == barstore::parse_session("us-equity"));
    }
    // Random removals and replaces, interleaved.
    for (int iter = 0; iter < 30; ++iter) {
        CAPTURE(iter);
        if (oracle.bars.size() < 2 * kRows)
            write_both(s, oracle, exists, batch(key, make_bars(rng, 3 * kRows, ns(oracle.bars.empty() ? at(0) : oracle.bars.back().ts) + kMinuteNs)),
                       WriteMode::append);
        const std::int64_t a = ns(oracle.bars[rng() % oracle.bars.size()].ts) + kMinuteNs * (static_cast<std::int64_t>(rng() % 20) - 10);
        const std::int64_t len = rng() % 3 == 0 ? static_cast<std::int64_t>(rng() % (3 * kRows)) * kMinuteNs
                                                : static_cast<std::int64_t>(rng() % 200) * kMinuteNs;
        if (iter % 3 == 2) {
            write_both(s, oracle, exists, batch(key, make_bars(rng, 1 + rng() % 500, a, kMinuteNs, 3)), WriteMode::replace);
        } else {
            CAPTURE(a);
            CAPTURE(len);
            remove_both(s, key, oracle, a, a + len);
        }
        check_matches(s, key, oracle, rng, 4);
    }
    CHECK(s.verify().empty());
    // Removing every bar leaves an empty series that keeps its decimals and session.
    remove_both(s, key, oracle, kLo, std::nullopt);
    const auto empty = s.info(key);
    REQUIRE(empty.has_value());
    CHECK(empty->rows == 0);
    CHECK(empty->chunks == 0);
    CHECK(empty->stored_bytes == 0);
    CHECK(empty->session == barstore::parse_session("us-equity"));
    CHECK(s.read(key, at(kLo), at(kHi)).empty());
    CHECK(s.read_last(key, 5, at(kHi)).empty());
    CHECK(s.remove(key, at(kLo), at(kHi)) == 0);
    CHECK(s.verify().empty());
    // And it takes appends again.
    write_both(s, oracle, exists, batch(key, make_bars(rng, kRows + 3, 77 * kMinuteNs)), WriteMode::append);
    check_matches(s, key, oracle, rng, 5);
    // The other series of the symbol never moved.
    check_matches(s, other, other_oracle, rng, 5);
    CHECK(s.verify().empty());
}

TEST_CASE("remove() of a whole series drops its bars, catalog row and session; others stay") {
    std::mt19937_64 rng(29);
    test::TempDir dir;
    auto s = Store::open(dir.path());
    const SeriesKey gone{"GONE", 1min}, stay{"STAY", 1min}, same_symbol{"GONE", 1h};
    const auto bars = make_bars(rng, 2 * kRows + 10, 0);
    const std::vector<SeriesBatch> w = {batch(gone, bars), batch(stay, make_bars(rng, kRows + 1, 0)),
                                        batch(same_symbol, make_bars(rng, 20, 0, 3600 * 1'000'000'000LL))};
    s.write(w);
    s.set_session(gone, barstore::parse_session("us-equity"));
    const auto stay_before = rows(s.read(stay, at(kLo), at(kHi)));
    const auto hourly_before = rows(s.read(same_symbol, at(kLo), at(kHi)));
    CHECK(s.remove(gone) == bars.size());
    CHECK_FALSE(s.info(gone).has_value());
    CHECK(s.find("GONE").size() == 1);
    CHECK(s.list().size() == 2);
    CHECK(s.read(gone, at(kLo), at(kHi)).empty());
    CHECK(diff(rows(s.read(stay, at(kLo), at(kHi))), stay_before) == "");
    CHECK(diff(rows(s.read(same_symbol, at(kLo), at(kHi))), hourly_before) == "");
    CHECK(s.verify().empty());
    CHECK_THROWS_AS(s.remove(gone), barstore::NotFound);
    CHECK_THROWS_AS(s.remove(gone, at(0), at(1)), barstore::NotFound);
    // Written again, it is a new series: no old chunk, no old session, a new generation.
    const auto again = make_bars(rng, 5, 0);
    write1(s, batch(gone, again));
    CHECK(diff(rows(s.read(gone, at(kLo), at(kHi))), again) == "");
    CHECK(s.info(gone)->session.is_24x7());
    CHECK(s.info(gone)->chunks == 1);
    CHECK(s.verify().empty());
    // No chunk of the removed series is left in the chunks table: the store's chunk count is
    // the catalog's.
    std::uint64_t catalog_chunks = 0;
    for (const auto& i : s.list()) catalog_chunks += i.chunks;
    const auto magics = find_magic(test::read_text(dir.path() / "data.mdb"));
    CHECK(magics.size() >= catalog_chunks);  // sanity: freed pages may still hold old bytes
    {
        test::RawEnv env(dir.path(), MDB_RDONLY);
        MDB_txn* txn = nullptr;
        REQUIRE(mdb_txn_begin(env.get(), nullptr, MDB_RDONLY, &txn) == 0);
        MDB_dbi dbi;
        REQUIRE(mdb_dbi_open(txn, "chunks", 0, &dbi) == 0);
        MDB_stat st{};
        REQUIRE(mdb_stat(txn, dbi, &st) == 0);
        CHECK(st.ms_entries == catalog_chunks);
        mdb_txn_abort(txn);
    }
}

TEST_CASE("remove() refuses what it cannot do and changes nothing") {
    std::mt19937_64 rng(31);
    test::TempDir dir;
    const SeriesKey key{"R", 1min};
    {
        auto s = Store::open(dir.path());
        write1(s, batch(key, make_bars(rng, kRows + 50, 0)));
        const auto before = snapshot(s);
        CHECK_THROWS_AS(s.remove(SeriesKey{"NOPE", 1min}), barstore::NotFound);
        CHECK_THROWS_AS(s.remove(SeriesKey{"R", 5min}, at(0), at(kHi)), barstore::NotFound);
        CHECK_THROWS_AS(s.remove(key, at(100 * kMinuteNs), at(10 * kMinuteNs)), InvalidInput);
        CHECK(snapshot(s) == before);
    }
    auto ro = Store::open(dir.path(), {.read_only = true});
    const auto before = snapshot(ro);
    CHECK_THROWS_AS(ro.remove(key), InvalidInput);
    CHECK_THROWS_AS(ro.remove(key, at(0), at(kHi)), InvalidInput);
    CHECK(snapshot(ro) == before);
}

TEST_CASE("remove() cuts out a chunk that fails its checksum without decoding it") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const SeriesKey key{"CUT", 1min};
    const auto bars = make_bars(rng, 4 * kRows + 300, 0);
    const std::int64_t bad_first = ns(bars[2 * kRows].ts), next_first = ns(bars[3 * kRows].ts);
    struct Case {
        const char* name;
        std::optional<std::int64_t> from, to;
    };
    const std::vector<Case> cases = {
        {"its key range, as verify reports it", bad_first, std::nullopt},  // `to` from verify below
        {"from inside the previous chunk to inside the next", ns(bars[2 * kRows - 5].ts), ns(bars[3 * kRows + 5].ts)},
        {"everything from it on", bad_first, std::nullopt},
        {"everything up to its end", std::nullopt, next_first},
    };
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const auto& c = cases[i];
        const std::string name = c.name;
        CAPTURE(name);
        test::TempDir dir;
        NaiveSeries oracle;
        bool exists = false;
        {
            auto s = Store::open(dir.path());
            write_both(s, oracle, exists, batch(key, bars), WriteMode::append);
        }
        corrupt_chunk(dir.path(), bad_first);
        auto s = Store::open(dir.path());
        const auto problems = s.verify();
        REQUIRE(problems.size() == 1);
        CHECK(problems[0].undecodable);
        CHECK(ns(problems[0].first) == bad_first);
        CHECK(ns(problems[0].last) == next_first - kMinuteNs);  // what the keys allow
        auto to = c.to;
        if (i == 0) to = ns(problems[0].last) + kMinuteNs;
        // A range that cuts into the chunk without covering it must decode it: CorruptData
        // naming the range that would cut it out, and nothing changes.
        const auto before_gen = s.info(key)->generation;
        try {
            s.remove(key, at(bad_first + kMinuteNs), at(next_first));
            FAIL("no CorruptData");
        } catch (const CorruptData& e) {
            const std::string m = e.what();
            CAPTURE(m);
            CHECK(m.find("CUT 1m chunk at") != std::string::npos);
            CHECK(m.find("[" + barstore::format_time(at(bad_first)) + ", " + barstore::format_time(at(next_first)) + ")") !=
                  std::string::npos);
        }
        CHECK(s.info(key)->generation == before_gen);
        remove_both(s, key, oracle, c.from, to);
        CHECK(s.verify().empty());
        check_matches(s, key, oracle, rng, 10);
        // The cut-out bars can be written again.
        std::vector<Bar> back;
        for (const auto& b : bars)
            if (ns(b.ts) >= c.from.value_or(kLo) && ns(b.ts) < to.value_or(kHi)) back.push_back(b);
        write_both(s, oracle, exists, batch(key, back), WriteMode::replace);
        CHECK(diff(rows(s.read(key, at(kLo), at(kHi))), bars) == "");
        CHECK(s.verify().empty());
    }
}
