// tests/test_prewarm_read.cpp: readers served from prewarmed aggregates (query(), Reader) give the
// same answer, bin for bin and error for error, as the same readers over an identical store
// without prewarm, and as the naive oracles: for random series (gaps, sessions, a close off the
// base grid), random queries (as_of mid-bin and at bin ends, forming, last N, ranges), after
// random appends and replaces, with volume overflow marks, and with a damaged aggregate chunk.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "aggregate/binner.hpp"
#include "barstore/error.hpp"
#include "barstore/query.hpp"
#include "barstore/reader.hpp"
#include "barstore/store.hpp"
#include "barstore/time.hpp"
#include "core/bytes.hpp"
#include "reference/naive_prewarm.hpp"
#include "reference/naive_resample.hpp"
#include "reference/naive_session.hpp"
#include "storage/lmdb.hpp"
#include "support/bars.hpp"
#include "support/time.hpp"
#include "support/util.hpp"

using barstore::AggregateSpec;
using barstore::Alignment;
using barstore::BarColumns;
using barstore::Duration;
using barstore::QueryOptions;
using barstore::Reader;
using barstore::ReaderOptions;
using barstore::SeriesBatch;
using barstore::SeriesKey;
using barstore::Store;
using barstore::WriteMode;
using reference::IntBar;
using test::at, test::diff, test::ns, test::kMin, test::kHour, test::kDay, test::kWeek;
using namespace std::chrono_literals;

namespace {

using i64 = std::int64_t;

AggregateSpec utc(i64 tf) { return {Duration{tf}, Alignment::utc}; }
AggregateSpec sess(i64 tf) { return {Duration{tf}, Alignment::session}; }

SeriesBatch batch_of(const SeriesKey& key, const std::vector<IntBar>& bars) {
    SeriesBatch b;
    b.key = key;
    b.scale = {2, 0};
    b.bars = test::cols(bars);
    return b;
}

/// Two stores with the same bars: `warm` with prewarmed aggregates, `cold` without. Every write
/// goes to both, and to `bars`, the mirror the oracles read.
struct Twins {
    test::TempDir warm_dir, cold_dir;
    Store warm = Store::open(warm_dir.path());
    Store cold = Store::open(cold_dir.path());
    SeriesKey key;
    std::vector<IntBar> bars;

    void write(const std::vector<IntBar>& add, WriteMode mode = WriteMode::append) {
        const auto b = batch_of(key, add);
        warm.write(std::span(&b, 1), mode);
        cold.write(std::span(&b, 1), mode);
        if (mode == WriteMode::replace && !add.empty()) {
            // Stored bars in [first new ts, last new ts] go (Store::write).
            std::erase_if(bars, [&](const IntBar& x) { return x.ts >= add.front().ts && x.ts <= add.back().ts; });
        }
        bars.insert(bars.end(), add.begin(), add.end());
        std::sort(bars.begin(), bars.end(), [](const IntBar& a, const IntBar& b) { return a.ts < b.ts; });
    }
    void set_session(const std::string& text) {
        warm.set_session(key, barstore::parse_session(text));
        cold.set_session(key, barstore::parse_session(text));
    }
};

/// A query's answer as text: its bins, or its error's type and message; equal texts mean the
/// same bins or the same error.
std::string outcome(const Store& s, const SeriesKey& key, const QueryOptions& o) {
    try {
        const auto got = barstore::query(s, key, o);
        std::string out;
        for (std::size_t i = 0; i < got.size(); ++i) out += test::show(got, i) + "\n";
        return out;
    } catch (const barstore::InvalidInput& e) {
        return std::string("InvalidInput: ") + e.what();
    } catch (const barstore::Error& e) {
        return std::string("Error: ") + e.what();
    }
}

std::string rows_text(const std::vector<IntBar>& v) {
    std::string out;
    const auto c = test::cols(v);
    for (std::size_t i = 0; i < c.size(); ++i) out += test::show(c, i) + "\n";
    return out;
}

std::string describe(const QueryOptions& o) {
    std::string s = "tf=" + barstore::format_timeframe(*o.timeframe);
    if (o.align) s += *o.align == Alignment::utc ? " utc" : " session";
    if (o.from) s += " from=" + std::to_string(ns(*o.from));
    if (o.to) s += " to=" + std::to_string(ns(*o.to));
    if (o.as_of) s += " as_of=" + std::to_string(ns(*o.as_of));
    if (o.last) s += " last=" + std::to_string(*o.last);
    if (o.include_forming) s += " forming";
    return s;
}

/// Instants worth asking about for bins of `tf`/`align`: every bin's label and end (from the
/// Binner; probes only, the answers are checked against the oracle and the cold store), and
/// the last bar's close.
std::vector<i64> probes(const std::vector<IntBar>& bars, i64 base, i64 tf, Alignment align,
                        const barstore::Session& session) {
    barstore::aggregate::Binner binner(Duration{base}, Duration{tf}, align, session);
    std::vector<i64> out;
    for (const auto& b : bars) {
        const auto bin = binner.bin_of(b.ts);
        if (!bin.included) continue;
        if (out.empty() || out.back() != bin.end) {
            out.push_back(bin.label);
            out.push_back(bin.end);
        }
    }
    if (!bars.empty()) out.push_back(bars.back().ts + base);
    return out;
}

/// A random query of timeframe tf: as_of at a bin's end, just around one, mid-bin or anywhere;
/// random ranges, counts and forming.
QueryOptions random_query(std::mt19937_64& rng, i64 tf, std::optional<Alignment> align, const std::vector<i64>& marks,
                          i64 lo, i64 hi) {
    auto instant = [&]() -> i64 {
        const auto k = rng() % 10;
        if (k < 2 || marks.empty()) return lo + static_cast<i64>(rng() % static_cast<std::uint64_t>(hi - lo));
        const i64 m = marks[rng() % marks.size()];
        if (k < 5) return m;                                      // exactly a label or an end
        if (k < 7) return m + static_cast<i64>(rng() % 3) - 1;    // a nanosecond either side
        if (k < 8) return m + static_cast<i64>(rng() % 3 - 1) * kMin;
        return m + static_cast<i64>(rng() % static_cast<std::uint64_t>(tf));  // mid-bin
    };
    QueryOptions o;
    o.timeframe = Duration{tf};
    o.align = align;
    if (rng() % 4 == 0) o.from = at(instant());
    if (rng() % 4 == 0) o.to = at(instant());
    if (o.from && o.to && *o.from > *o.to) std::swap(*o.from, *o.to);
    if (rng() % 5 != 0) o.as_of = at(instant());
    if (rng() % 2 == 0) {
        const auto k = rng() % 4;
        o.last = k == 0 ? rng() % 4 : k == 1 ? 1 + rng() % 30 : k == 2 ? 200 : 100000;
    }
    o.include_forming = rng() % 2;
    return o;
}

reference::NaiveQuery naive_of(const QueryOptions& o) {
    reference::NaiveQuery q;
    q.timeframe = o.timeframe->count();
    if (o.from) q.from = ns(*o.from);
    if (o.to) q.to = ns(*o.to);
    if (o.as_of) q.as_of = ns(*o.as_of);
    q.last = o.last;
    q.include_forming = o.include_forming;
    return q;
}

/// `count` random queries over the specs (and a timeframe no spec has): the warm store answers
/// as the cold one does, and as the oracle where there is one (`naive` session preset, or
/// utc bins of a 24x7 series when naive is empty). Returns how many answers held bins.
std::size_t differential(std::mt19937_64& rng, Twins& t, const std::vector<AggregateSpec>& specs, i64 other_tf,
                         const std::string& naive, int count) {
    const i64 base = t.key.base.count();
    const auto session = t.cold.info_fast(t.key)->session;
    const i64 lo = t.bars.front().ts - 2 * kDay, hi = t.bars.back().ts + 9 * kDay;
    std::map<std::pair<i64, bool>, std::vector<i64>> marks;
    std::map<std::pair<i64, bool>, std::vector<reference::Placement>> where;
    std::size_t nonempty = 0;
    for (int k = 0; k < count; ++k) {
        AggregateSpec spec = specs[rng() % specs.size()];
        if (rng() % 8 == 0) spec.timeframe = Duration{other_tf};
        const bool session_aligned = spec.align == Alignment::session;
        const std::pair<i64, bool> id{spec.timeframe.count(), session_aligned};
        if (!marks.count(id)) marks[id] = probes(t.bars, base, id.first, spec.align, session);
        // The default alignment is the series' (session unless 24x7): name it only sometimes.
        std::optional<Alignment> align = spec.align;
        if (rng() % 3 == 0 && (spec.align == Alignment::session) == !session.is_24x7()) align.reset();
        const auto o = random_query(rng, id.first, align, marks[id], lo, hi);
        const std::string text = describe(o);
        CAPTURE(text);
        const std::string warm = outcome(t.warm, t.key, o), cold = outcome(t.cold, t.key, o);
        CHECK(warm == cold);
        if (!warm.empty() && warm.rfind("InvalidInput", 0) != 0) ++nonempty;
        if (naive.empty()) {
            CHECK(cold == rows_text(reference::query(t.bars, base, naive_of(o))));
        } else if (naive != "-") {
            if (!where.count(id))
                where[id] = reference::place_all(
                    t.bars, reference::NaiveBinner(reference::naive_preset(naive), id.first, session_aligned));
            CHECK(cold == rows_text(reference::query_session(t.bars, where[id], base, naive_of(o))));
        }
    }
    return nonempty;
}

/// Bars of a US equity trading day from `first_day` on: every `step` from 12:00 to 22:00 UTC
/// with probability 0.9 (some before the open or after the close, DST either side), no weekends.
std::vector<IntBar> equity_days(std::mt19937_64& rng, i64 first_day, int days, i64 step, test::PriceWalk& walk) {
    std::vector<IntBar> out;
    for (int d = 0; d < days; ++d) {
        const i64 day = first_day + d * kDay;
        const int weekday = static_cast<int>(((day / kDay) % 7 + 11) % 7);  // 0 = Sunday
        if (weekday == 0 || weekday == 6) continue;
        for (i64 t = day + 12 * kHour; t < day + 22 * kHour; t += step)
            if (rng() % 10 != 0) out.push_back(walk.next(rng, t));
    }
    return out;
}

/// New bars after the series' last, or a replacement of a random stretch inside it.
void random_write(std::mt19937_64& rng, Twins& t, const std::function<std::vector<IntBar>(i64 from, int n)>& make) {
    if (rng() % 2 == 0) {
        t.write(make(t.bars.back().ts + t.key.base.count() * (1 + static_cast<i64>(rng() % 90)),
                     1 + static_cast<int>(rng() % 400)));
    } else {
        const i64 from = t.bars[rng() % t.bars.size()].ts;
        auto repl = make(from, 1 + static_cast<int>(rng() % 300));
        t.write(repl, WriteMode::replace);
    }
}

/// A checksum of a Reader's answer, bin by bin.
std::uint64_t mix(std::uint64_t h, const barstore::BarView& v) {
    for (const auto* col : {&v.ts, &v.open, &v.high, &v.low, &v.close, &v.volume})
        for (const i64 x : *col) h = (h ^ static_cast<std::uint64_t>(x)) * 0x100000001b3ull;
    return (h ^ v.size()) * 0x100000001b3ull;
}

/// The Reader loop of a replay: at each step, the last n bars of several timeframes as of t,
/// from a Reader on the warm store and one on the cold store, equal bin for bin; now and then a
/// step back (a few minutes, or to just past a bin's end) or a jump. Returns both checksums.
std::pair<std::uint64_t, std::uint64_t> replay(std::mt19937_64& rng, Twins& t, Reader& warm, Reader& cold,
                                               const std::vector<std::pair<i64, std::optional<Alignment>>>& tfs,
                                               i64 from, i64 to, int steps) {
    std::uint64_t hw = 14695981039346656037ull, hc = hw;
    i64 now = from;
    for (int k = 0; k < steps; ++k) {
        const auto r = rng() % 20;
        if (r == 0)
            now -= static_cast<i64>(1 + rng() % 90) * kMin;  // back
        else if (r == 1)
            now = from + static_cast<i64>(rng() % static_cast<std::uint64_t>(to - from));  // jump
        else
            now += static_cast<i64>(1 + rng() % 45) * kMin;
        if (now >= to) now = from + static_cast<i64>(rng() % static_cast<std::uint64_t>(to - from));
        const i64 as_of = now + (rng() % 4 == 0 ? static_cast<i64>(rng() % 3) - 1 : 0);
        for (const auto& [tf, align] : tfs) {
            const std::size_t n = rng() % 5 == 0 ? 1 + rng() % 300 : 200;
            CAPTURE(as_of);
            CAPTURE(tf);
            CAPTURE(n);
            std::string ew, ec;
            barstore::BarView vw, vc;
            try {
                vw = warm.last_bars(t.key, Duration{tf}, n, at(as_of), align);
            } catch (const barstore::Error& e) {
                ew = e.what();
            }
            try {
                vc = cold.last_bars(t.key, Duration{tf}, n, at(as_of), align);
            } catch (const barstore::Error& e) {
                ec = e.what();
            }
            REQUIRE(ew == ec);
            hw = mix(hw, vw);
            hc = mix(hc, vc);
            const auto a = vw.to_columns(), b = vc.to_columns();
            CHECK(diff(a, b) == "");
            if (k % 16 == 0 && ec.empty()) {
                QueryOptions o;
                o.timeframe = Duration{tf};
                o.align = align;
                o.last = n;
                o.as_of = at(as_of);
                CHECK(diff(b, barstore::query(t.cold, t.key, o)) == "");
            }
        }
    }
    return {hw, hc};
}

}  // namespace

TEST_CASE("differential: query() over prewarmed aggregates equals query() without them and the oracle, "
          "24x7 with gaps, before and after appends and replaces") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    Twins t;
    t.key = {"GAPS", 1min};
    const i64 start = test::utc_ns(2024, 1, 1) + static_cast<i64>(rng() % 5000) * kMin;
    t.write(test::make_int_bars(rng, 12000, start, kMin, true));
    std::vector<AggregateSpec> all = {utc(2 * kMin), utc(5 * kMin), utc(15 * kMin), utc(kHour), utc(4 * kHour),
                                      utc(kDay), utc(kWeek)};
    std::shuffle(all.begin(), all.end(), rng);
    const std::vector<AggregateSpec> specs(all.begin(), all.begin() + 4 + static_cast<long>(rng() % 4));
    t.warm.prewarm(t.key, specs);
    auto make = [&](i64 from, int n) { return test::make_int_bars(rng, static_cast<std::size_t>(n), from, kMin, true); };
    std::size_t nonempty = differential(rng, t, specs, 10 * kMin, "", 400);
    for (int round = 0; round < 4; ++round) {
        random_write(rng, t, make);
        nonempty += differential(rng, t, specs, 3 * kMin, "", 150);
    }
    CHECK(nonempty > 500);  // most answers held bins: the test compared something
}

TEST_CASE("differential: query() over prewarmed session-aligned 5m..1w and utc aggregates of a us-equity series") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    Twins t;
    t.key = {"EQ", 1min};
    test::PriceWalk walk{.px = 30000};
    // Across the March DST change, with days off.
    t.write(equity_days(rng, test::utc_ns(2024, 2, 26), 24, kMin, walk));
    t.set_session("us-equity");
    const std::vector<AggregateSpec> specs = {sess(5 * kMin), sess(30 * kMin), sess(kHour), sess(kDay), sess(kWeek),
                                              utc(kHour), utc(kDay)};
    t.warm.prewarm(t.key, specs);
    auto make = [&](i64 from, int n) {
        std::vector<IntBar> out;
        for (i64 x = from; static_cast<int>(out.size()) < n; x += kMin)
            if (rng() % 7 != 0) out.push_back(walk.next(rng, x));
        return out;
    };
    std::size_t nonempty = differential(rng, t, specs, 10 * kMin, "us-equity", 400);
    for (int round = 0; round < 3; ++round) {
        random_write(rng, t, make);
        nonempty += differential(rng, t, specs, 15 * kMin, "us-equity", 150);
    }
    CHECK(nonempty > 400);
}

TEST_CASE("differential: a session closing off the base grid (30m bars, 15:45 close): bins with an overhang") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    Twins t;
    t.key = {"ODD", 30min};
    test::PriceWalk walk{.px = 30000};
    t.write(equity_days(rng, test::utc_ns(2024, 3, 4), 30, 30 * kMin, walk));
    t.set_session("America/New_York 09:30-15:45 Mon-Fri");
    const std::vector<AggregateSpec> specs = {sess(kHour), sess(2 * kHour), sess(kDay), sess(kWeek), utc(kDay)};
    t.warm.prewarm(t.key, specs);
    // No preset oracle for this session: the cold store's query() is the reference ("-").
    std::size_t nonempty = differential(rng, t, specs, 90 * kMin, "-", 400);
    CHECK(nonempty > 200);
}

TEST_CASE("volume overflow marks in prewarmed bins: the same InvalidInput, or the same bins, as without") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    Twins t;
    t.key = {"HUGE", 1min};
    // Volumes near 2^62: four in a bin overflow int64; a few bins get them.
    auto bars = test::make_int_bars(rng, 3000, test::utc_ns(2024, 5, 1), kMin, false);
    for (auto& b : bars)
        if (rng() % 40 == 0) b.volume = (i64{1} << 62) + static_cast<i64>(rng() % 1000);
    t.write(bars);
    const std::vector<AggregateSpec> specs = {utc(5 * kMin), utc(kHour), utc(kDay)};
    t.warm.prewarm(t.key, specs);
    int errors = 0, ok = 0;
    const auto marks = probes(t.bars, kMin, kHour, Alignment::utc, {});
    for (int k = 0; k < 300; ++k) {
        const i64 tf = specs[rng() % specs.size()].timeframe.count();
        const auto o = random_query(rng, tf, Alignment::utc, marks, t.bars.front().ts, t.bars.back().ts + kDay);
        CAPTURE(describe(o));
        const std::string warm = outcome(t.warm, t.key, o);
        CHECK(warm == outcome(t.cold, t.key, o));
        ++(warm.rfind("InvalidInput", 0) == 0 ? errors : ok);
    }
    CHECK(errors > 10);
    CHECK(ok > 10);
}

TEST_CASE("Reader: a replay loop over prewarmed aggregates gives the same bars and checksums, and uses them") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (const bool session : {false, true}) {
        CAPTURE(session);
        Twins t;
        std::vector<std::pair<i64, std::optional<Alignment>>> tfs;
        if (!session) {
            t.key = {"RPL", 1min};
            t.write(test::make_int_bars(rng, 30000, test::utc_ns(2024, 1, 1), kMin, true));
            t.warm.prewarm(t.key, std::vector<AggregateSpec>{utc(5 * kMin), utc(kHour), utc(kDay)});
            tfs = {{5 * kMin, std::nullopt}, {kHour, std::nullopt}, {kDay, Alignment::utc}, {15 * kMin, std::nullopt}};
        } else {
            // 30m bars, a 15:45 close: the last 1h bin of a day closes before its bar ends.
            t.key = {"RPLS", 30min};
            test::PriceWalk walk{.px = 30000};
            t.write(equity_days(rng, test::utc_ns(2024, 1, 8), 120, 30 * kMin, walk));
            t.set_session("America/New_York 09:30-15:45 Mon-Fri");
            t.warm.prewarm(t.key, std::vector<AggregateSpec>{sess(kHour), sess(kDay), sess(kWeek)});
            tfs = {{kHour, std::nullopt}, {kDay, std::nullopt}, {kWeek, Alignment::session}, {2 * kHour, std::nullopt}};
        }
        const i64 from = t.bars.front().ts, to = t.bars.back().ts + 3 * kDay;
        // A small budget: entries are evicted and built again, from prewarmed bins or base bars.
        ReaderOptions ro;
        ro.budget_bytes = 96 << 10;
        ro.history_bars = 300;
        Reader warm(t.warm, ro), cold(t.cold, ro);
        const auto [hw, hc] = replay(rng, t, warm, cold, tfs, from, to, 600);
        CHECK(hw == hc);
        CHECK(warm.stats().prewarmed_hits > 0);
        CHECK(cold.stats().prewarmed_hits == 0);
        // A fresh Reader's first request (the benchmark's case) is served from prewarmed bins.
        Reader fresh(t.warm);
        const auto v = fresh.last_bars(t.key, Duration{tfs[1].first}, 200, at(t.bars.back().ts - 5 * kDay), tfs[1].second);
        CHECK(fresh.stats().prewarmed_hits == 1);
        QueryOptions o;
        o.timeframe = Duration{tfs[1].first};
        o.align = tfs[1].second;
        o.last = 200;
        o.as_of = at(t.bars.back().ts - 5 * kDay);
        CHECK(diff(v.to_columns(), barstore::query(t.cold, t.key, o)) == "");
        // Writes after prewarm: the aggregates follow them, and so do both Readers.
        auto make = [&](i64 first, int n) { return test::make_int_bars(rng, static_cast<std::size_t>(n), first, t.key.base.count(), false); };
        for (int round = 0; round < 3; ++round) {
            random_write(rng, t, make);
            const auto [w2, c2] = replay(rng, t, warm, cold, tfs, from, t.bars.back().ts + 2 * kDay, 150);
            CHECK(w2 == c2);
        }
    }
}

TEST_CASE("a flipped bit in a prewarmed aggregate chunk: query() and the Reader fall back to base bars, never throw") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    Twins t;
    t.key = {"FLIP", 1min};
    std::vector<IntBar> bars;
    test::PriceWalk walk{.px = 30000};
    // Every minute for 8 * 4096 minutes: the 2m aggregate has four chunks.
    for (i64 i = 0; i < 8 * 4096; ++i) bars.push_back(walk.next(rng, test::utc_ns(2024, 1, 1) + i * kMin));
    t.write(bars);
    const std::vector<AggregateSpec> specs = {utc(2 * kMin), utc(kHour)};
    t.warm.prewarm(t.key, specs);
    const auto env = barstore::storage::open_env(t.warm_dir.path(), {});
    std::map<std::string, std::string> chunks;
    {
        barstore::storage::Txn txn(*env, true);
        barstore::storage::Cursor cur(txn, txn.open_db("aggregates", false));
        for (bool ok = cur.move(MDB_FIRST); ok; ok = cur.move(MDB_NEXT))
            if (reference::parse_aggregate_key_per_spec(cur.key()).timeframe_ns == 2 * kMin)
                chunks.emplace(std::string(reinterpret_cast<const char*>(cur.key().data()), cur.key().size()),
                               std::string(reinterpret_cast<const char*>(cur.value().data()), cur.value().size()));
    }
    REQUIRE(chunks.size() == 4);
    // The last chunk, read by every last-N request, then one in the middle.
    for (const bool last : {true, false}) {
        const auto it = last ? std::prev(chunks.end()) : std::next(chunks.begin());
        std::string v = it->second;
        const std::size_t byte = 16 + rng() % (v.size() - 16);
        v[byte] = static_cast<char>(v[byte] ^ (1 << (rng() % 8)));
        {
            barstore::storage::Txn txn(*env, false);
            txn.put(txn.open_db("aggregates", false), barstore::bytes_of(it->first), barstore::bytes_of(v));
            txn.commit();
        }
        CAPTURE(byte);
        REQUIRE_FALSE(t.warm.verify().empty());  // the flip is there, and seen
        const auto marks = probes(t.bars, kMin, 2 * kMin, Alignment::utc, {});
        for (int k = 0; k < 150; ++k) {
            const auto o = random_query(rng, 2 * kMin, Alignment::utc, marks, t.bars.front().ts, t.bars.back().ts + kDay);
            CAPTURE(describe(o));
            CHECK(outcome(t.warm, t.key, o) == outcome(t.cold, t.key, o));
        }
        Reader warm(t.warm), cold(t.cold);
        const auto [hw, hc] = replay(rng, t, warm, cold, {{2 * kMin, std::nullopt}, {kHour, std::nullopt}},
                                     t.bars.front().ts, t.bars.back().ts + kDay, 200);
        CHECK(hw == hc);
        // Which builds the replay makes depends on its steps (the 1h entry may be built only at the
        // series' start, when no stored bin is whole, then only extended), so prewarmed_hits after it
        // can be 0. Fresh Readers, one build each, whose outcome the damaged position decides: the 1h
        // aggregate and a last-N read inside an undamaged 2m chunk are served from prewarmed bins; a
        // read whose newest bins are in the damaged chunk falls back to base bars.
        const std::size_t damaged = static_cast<std::size_t>(std::distance(chunks.begin(), it));
        std::vector<i64> firsts;  // each 2m chunk's first label
        for (const auto& [k, _] : chunks) firsts.push_back(reference::parse_aggregate_key_per_spec(barstore::bytes_of(k)).first_label);
        constexpr std::size_t n = 200;
        // A build reads the last n + 2 stored bins before the as-of's hi (query/prewarmed.cpp): with
        // n + 4 or more bins of a chunk whole by the as-of, and its last bin not, only that chunk is read.
        auto in_chunk = [&](std::size_t c) {
            return firsts[c] + static_cast<i64>(n + 4 + rng() % (4096 - n - 8)) * 2 * kMin;
        };
        std::size_t sound = rng() % 3;
        if (sound >= damaged) ++sound;
        struct Probe {
            i64 tf, as_of;
            std::uint64_t hits;
        };
        const Probe want[] = {
            {kHour, t.bars.front().ts + static_cast<i64>(n + 2) * kHour +
                        static_cast<i64>(rng() % static_cast<std::uint64_t>(t.bars.back().ts + kDay - t.bars.front().ts - (n + 2) * kHour)), 1},
            {2 * kMin, in_chunk(sound), 1},
            {2 * kMin, in_chunk(damaged), 0},
        };
        for (const auto& p : want) {
            CAPTURE(p.tf);
            CAPTURE(p.as_of);
            CAPTURE(sound);
            Reader fresh(t.warm), fresh_cold(t.cold);
            const auto got = fresh.last_bars(t.key, Duration{p.tf}, n, at(p.as_of), std::nullopt);
            CHECK(fresh.stats().prewarmed_hits == p.hits);
            CHECK(diff(got.to_columns(), fresh_cold.last_bars(t.key, Duration{p.tf}, n, at(p.as_of), std::nullopt).to_columns()) == "");
        }
        // Put it back.
        barstore::storage::Txn txn(*env, false);
        txn.put(txn.open_db("aggregates", false), barstore::bytes_of(it->first), barstore::bytes_of(it->second));
        txn.commit();
    }
    CHECK(t.warm.verify().empty());
}

TEST_CASE("a writer replacing the series while query() reads prewarmed bins: every answer is one generation's") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const SeriesKey key{"RACE", 1min};
    // Two versions of one series: same times, every price and volume different.
    const auto v1 = test::make_int_bars(rng, 6000, test::utc_ns(2024, 2, 1), kMin, false);
    auto v2 = v1;
    for (auto& b : v2) {
        b.open += 100000, b.high += 100000, b.low += 100000, b.close += 100000;
        b.volume += 1;
    }
    test::TempDir warm_dir, dir1, dir2;
    auto warm = Store::open(warm_dir.path());
    auto one = Store::open(dir1.path()), two = Store::open(dir2.path());
    const auto b1 = batch_of(key, v1), b2 = batch_of(key, v2);
    warm.write(std::span(&b1, 1));
    one.write(std::span(&b1, 1));
    two.write(std::span(&b2, 1));
    warm.prewarm(key, std::vector<AggregateSpec>{utc(5 * kMin), utc(kHour), utc(kDay)});
    // Queries whose answers need stored bins and base bars after them (as_of past the middle).
    std::vector<QueryOptions> qs;
    std::vector<std::pair<std::string, std::string>> want;
    const i64 tfs[] = {5 * kMin, kHour, kDay};
    while (qs.size() < 24) {
        QueryOptions o;
        o.timeframe = Duration{tfs[qs.size() % 3]};
        o.as_of = at(v1[3000 + rng() % 3000].ts + static_cast<i64>(rng() % 3) * 7 * kMin);
        if (rng() % 2) o.last = 1 + rng() % 100; else o.from = at(v1[rng() % 3000].ts);
        o.include_forming = rng() % 2;
        auto w = std::make_pair(outcome(one, key, o), outcome(two, key, o));
        if (w.first.empty() || w.first == w.second) continue;
        qs.push_back(o);
        want.push_back(std::move(w));
    }
    std::atomic<bool> done{false};
    std::thread writer([&] {
        auto w = Store::open(warm_dir.path());
        for (int k = 0; k < 30; ++k) {
            w.write(std::span(k % 2 == 0 ? &b2 : &b1, 1), WriteMode::replace);
            std::this_thread::sleep_for(1ms);
        }
        done = true;
    });
    // A Reader's answers too: the same as query() with last N and no forming bin.
    Reader reader(warm);
    auto read = [&](const QueryOptions& o) {
        QueryOptions r = o;
        r.from.reset();
        r.include_forming = false;
        if (!r.last) r.last = 50;
        const auto v = reader.last_bars(key, *r.timeframe, *r.last, *r.as_of);
        std::string out;
        const auto c = v.to_columns();
        for (std::size_t i = 0; i < c.size(); ++i) out += test::show(c, i) + "\n";
        return std::make_tuple(out, outcome(one, key, r), outcome(two, key, r));
    };
    std::vector<std::tuple<std::string, std::string, std::string>> reader_want;
    for (const auto& o : qs) reader_want.push_back(read(o));
    std::size_t asked = 0, seen2 = 0;
    while (!done || asked < qs.size()) {
        const std::size_t i = asked++ % qs.size();
        const auto got = outcome(warm, key, qs[i]);
        const bool ok = got == want[i].first || got == want[i].second;
        if (!ok) {
            CAPTURE(describe(qs[i]));
            FAIL_CHECK("an answer of neither version");
        }
        seen2 += got == want[i].second;
        QueryOptions r = qs[i];
        const auto& [unused, w1, w2] = reader_want[i];
        const auto [from_reader, x1, x2] = read(r);
        if (from_reader != w1 && from_reader != w2) {
            CAPTURE(describe(qs[i]));
            FAIL_CHECK("a Reader answer of neither version");
        }
    }
    writer.join();
    CHECK(seen2 > 0);  // the reads did overlap the writes
}

TEST_CASE("Reader with a spill: aggregates the store holds prewarmed are not spilled, and answers stay the same") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    Twins t;
    t.key = {"SPL", 1min};
    t.write(test::make_int_bars(rng, 30000, test::utc_ns(2024, 1, 1), kMin, true));
    const std::vector<std::pair<i64, std::optional<Alignment>>> tfs = {{5 * kMin, std::nullopt}, {kHour, std::nullopt}};
    t.warm.prewarm(t.key, std::vector<AggregateSpec>{utc(5 * kMin), utc(kHour)});
    test::TempDir spill_warm, spill_cold;
    ReaderOptions ro;
    ro.budget_bytes = 32 << 10;  // every call evicts
    ro.history_bars = 300;
    ro.spill_raw_windows = false;
    ReaderOptions rw = ro, rc = ro;
    rw.spill_dir = spill_warm / "s";
    rc.spill_dir = spill_cold / "s";
    Reader warm(t.warm, rw), cold(t.cold, rc);
    const auto [hw, hc] = replay(rng, t, warm, cold, tfs, t.bars.front().ts, t.bars.back().ts, 400);
    CHECK(hw == hc);
    CHECK(warm.stats().evictions > 0);
    CHECK(warm.stats().spills == 0);
    CHECK(warm.stats().spill_hits == 0);
    CHECK(warm.stats().prewarmed_hits > 0);
    CHECK(cold.stats().spills > 0);  // the same loop without prewarm does spill: the check can fail
}

TEST_CASE("Reader: an aggregate the store holds prewarmed keeps only the N asked of it, not history_bars") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    Twins t;
    t.key = {"HIS", 1min};
    t.write(test::make_int_bars(rng, 40000, test::utc_ns(2024, 1, 1), kMin, false));  // no gaps: 5 bars a bin
    t.warm.prewarm(t.key, std::vector<AggregateSpec>{utc(5 * kMin)});
    ReaderOptions ro;  // history_bars 5000: the cold entry keeps every bin it folds
    Reader warm(t.warm, ro), cold(t.cold, ro);
    std::size_t asked = 0;
    for (i64 now = t.bars[5000].ts; now < t.bars[5000].ts + 8000 * kMin; now += kMin) {
        const auto a = warm.last_bars(t.key, 5min, 100, at(now)).to_columns();
        const auto b = cold.last_bars(t.key, 5min, 100, at(now)).to_columns();
        REQUIRE(diff(a, b) == "");
        asked += a.size();
    }
    CHECK(asked > 0);
    CHECK(warm.stats().prewarmed_hits > 0);
    // 8000 minutes are 1600 bins folded onto the first 100: the cold entry holds about 1700,
    // the warm one 100 plus 16 of slack and the 256 it reads ahead (cache/aggregates.cpp), under
    // 440 (a bin is six columns and its end).
    CHECK(cold.stats().aggregate_bytes > 2 * warm.stats().aggregate_bytes);
    const std::size_t bin_bytes = 7 * sizeof(std::int64_t);
    CHECK(warm.stats().aggregate_bytes < 440 * bin_bytes + 4096);
}

TEST_CASE("Reader: asked only at prewarmed timeframes, a series needs no raw window, and reads ahead in stored bins") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (const bool gaps : {false, true}) {
        CAPTURE(gaps);
        Twins t;
        t.key = {"AHD", 1min};
        t.write(test::make_int_bars(rng, 20000, test::utc_ns(2024, 1, 1), kMin, gaps));
        t.warm.prewarm(t.key, std::vector<AggregateSpec>{utc(5 * kMin), utc(kHour)});
        Reader warm(t.warm), cold(t.cold);
        std::uint64_t steps = 0;
        // Minute by minute from the middle through the series' end (its forming bins) and past it.
        for (i64 now = t.bars[12000].ts; now < t.bars.back().ts + 3 * kHour; now += kMin, ++steps)
            for (const i64 tf : {5 * kMin, kHour}) {
                const std::size_t n = tf == kHour ? 50 : 200;
                CAPTURE(now);
                CAPTURE(tf);
                const auto a = warm.last_bars(t.key, Duration{tf}, n, at(now)).to_columns();
                const auto b = cold.last_bars(t.key, Duration{tf}, n, at(now)).to_columns();
                REQUIRE(diff(a, b) == "");
            }
        const auto w = warm.stats(), c = cold.stats();
        CHECK(w.raw_entries == 0);
        CHECK(w.raw_bytes == 0);
        CHECK(c.raw_entries == 1);  // the same loop without prewarm folds from a raw window
        CHECK(w.prewarmed_hits > 0);
        // Reads: one per 256 stored 5m bins (1280 steps) and 1h bins, plus a store scan per step
        // only past the last whole stored bin (the last few minutes); far fewer than the steps.
        CHECK(w.store_reads < steps / 8);
        CHECK(w.aggregate_bytes < 2 * (200 + 50 + 2 * (256 + 16)) * 7 * sizeof(std::int64_t) + 8192);
    }
}
