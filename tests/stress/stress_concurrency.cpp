// tests/stress/stress_concurrency.cpp: one writer and 8 reader processes on one store for
// BARSTORE_STRESS_SECONDS (default 10; docs/reliability.md gives the 30 s figure).
// The writer appends synthetic bars in batches whose sizes come from a seed the readers share,
// so each reader knows every committed prefix; now and then it rewrites a stretch of stored
// bars with the same bars (--replace), which rewrites chunks without changing content. Readers
// run range reads, read_last, scans and catalog lookups, and check every result is some
// committed prefix (never a torn or partial write), and that time never goes backwards.
// Reports queries per second and latency percentiles.
// Then the issue-10 case at full size: two CLI ingests with lock.mdb deleted between their
// starts, BARSTORE_LOCKSWAP_ROUNDS times (default 8): every commit an ingest reported survives.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "barstore/error.hpp"
#include "barstore/store.hpp"
#include "harness.hpp"
#include "support/util.hpp"

namespace fs = std::filesystem;
using barstore::BarColumns;
using barstore::SeriesKey;
using barstore::Store;
using barstore::StoreOptions;
using barstore::Timestamp;

namespace {

constexpr std::uint64_t kBarSeed = 42;
const SeriesKey kKey{"S", std::chrono::minutes(1)};

Timestamp at_index(std::size_t i) { return stress::synth_bar(kBarSeed, i).ts; }

/// The committed prefix lengths, in order: each write appends 1..4000 bars. Both sides draw
/// the same sequence from the same seed.
class CommitPoints {
public:
    explicit CommitPoints(std::uint64_t seed) : rng_(seed) {}
    std::size_t next() {
        end_ += 1 + rng_() % 4000;
        points_.insert(end_);
        return end_;
    }
    /// Is `n` a prefix length some write left behind? (0: only before the first write.)
    bool committed(std::size_t n) {
        while (end_ < n) next();
        return points_.count(n) != 0;
    }

private:
    std::mt19937_64 rng_;
    std::size_t end_ = 0;
    std::set<std::size_t> points_;
};

struct ReaderStats {
    std::uint64_t queries = 0, torn = 0, errors = 0, backwards = 0;
};

/// Checks that `got` are exactly the synthetic bars [lo, lo + got.size()), and that they end
/// at `hi` (the range was fully written) or at a committed prefix.
bool whole_prefix(const BarColumns& got, std::size_t lo, std::size_t hi, CommitPoints& points) {
    const std::size_t end = lo + got.size();
    if (got.size() > 0 && !(got == stress::synth_bars(kBarSeed, lo, end))) return false;
    if (end == hi || got.empty()) return true;
    return points.committed(end);
}

int reader_main(const fs::path& db, std::uint64_t seed, std::uint64_t commit_seed, double seconds,
                const fs::path& out) {
    auto store = Store::open(db, StoreOptions{.read_only = true});
    CommitPoints points(commit_seed);
    std::mt19937_64 rng(seed);
    ReaderStats st;
    std::vector<float> latency_us;
    latency_us.reserve(1 << 20);
    std::size_t seen = 0;  // the longest prefix this reader has seen: it may never shrink
    const auto t0 = std::chrono::steady_clock::now();
    while (stress::seconds_since(t0) < seconds) {
        const int op = static_cast<int>(rng() % 10);
        const auto q0 = std::chrono::steady_clock::now();
        bool ok = true;
        std::size_t now_len = 0;
        try {
            if (op < 4) {  // a range read, mostly near the growing end where chunks are rewritten
                const std::size_t span = 1 + rng() % 12000;
                const std::size_t lo = rng() % 2 ? (seen > span ? seen - span + rng() % (2 * span) : rng() % (span + 1))
                                                 : rng() % (seen + 1);
                const std::size_t hi = lo + span;
                const auto got = store.read(kKey, at_index(lo), at_index(hi));
                ok = whole_prefix(got, lo, hi, points);
                if (got.size() > 0 && lo + got.size() < hi) now_len = lo + got.size();
            } else if (op < 7) {  // the last n bars: must end exactly at a committed prefix
                const std::size_t n = 1 + rng() % 5000;
                const auto got = store.read_last(kKey, n, Timestamp::max());
                const std::size_t end = got.empty() ? 0 : stress::synth_index(got.ts.back()) + 1;
                ok = got.size() == std::min(n, end) && end >= got.size() &&
                     got == stress::synth_bars(kBarSeed, end - got.size(), end) && points.committed(end);
                now_len = end;
            } else if (op < 9) {  // a scan of the tail, chunk by chunk: pieces in order, no gaps
                const std::size_t lo = seen > 9000 ? seen - 9000 : 0;
                std::size_t next = lo;
                store.scan(kKey, at_index(lo), Timestamp::max(), [&](const BarColumns& piece) {
                    if (!(piece == stress::synth_bars(kBarSeed, next, next + piece.size()))) ok = false;
                    next += piece.size();
                });
                ok = ok && (next == lo || points.committed(next));
                now_len = next;
            } else {  // the catalog alone
                const auto info = store.info_fast(kKey);
                ok = info && points.committed(info->rows) &&
                     stress::synth_index(info->last.time_since_epoch().count()) + 1 == info->rows;
                now_len = info ? info->rows : 0;
            }
        } catch (const std::exception& e) {
            ++st.errors;
            std::fprintf(stderr, "reader: %s\n", e.what());
        }
        latency_us.push_back(static_cast<float>(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - q0).count()));
        ++st.queries;
        if (!ok) ++st.torn;
        if (now_len > 0 && now_len < seen) ++st.backwards;
        seen = std::max(seen, now_len);
    }
    std::ofstream f(out, std::ios::binary);
    f.write(reinterpret_cast<const char*>(&st), sizeof st);
    f.write(reinterpret_cast<const char*>(latency_us.data()), static_cast<std::streamsize>(latency_us.size() * 4));
    return 0;
}

int writer_main(const fs::path& db, std::uint64_t commit_seed, double seconds, const fs::path& out) {
    auto store = Store::open(db);
    CommitPoints points(commit_seed);
    std::mt19937_64 rng(commit_seed ^ 0x5555);
    std::size_t end = points.next();  // the first write happened before the readers started
    std::uint64_t commits = 1, replaces = 0;
    const auto t0 = std::chrono::steady_clock::now();
    while (stress::seconds_since(t0) < seconds) {
        const std::size_t next = points.next();
        const auto b = stress::synth_batch("S", kBarSeed, end, next);
        store.write(std::span(&b, 1));
        end = next;
        ++commits;
        if (rng() % 5 == 0) {  // rewrite a stretch with the very same bars: new chunks, same content
            const std::size_t lo = rng() % end, hi = std::min(end, lo + 1 + rng() % 6000);
            const auto r = stress::synth_batch("S", kBarSeed, lo, hi);
            store.write(std::span(&r, 1), barstore::WriteMode::replace);
            ++replaces;
        }
    }
    std::ofstream(out) << commits << " " << replaces << " " << end << "\n";
    return 0;
}

}  // namespace

TEST_CASE("1 writer and 8 readers: every read is a committed prefix, none torn; queries/s and p99") {
    const double seconds = static_cast<double>(stress::env_u64("BARSTORE_STRESS_SECONDS", 10));
    const int readers = static_cast<int>(stress::env_u64("BARSTORE_STRESS_READERS", 8));
    const auto seed = test::seed();
    CAPTURE(seed);
    test::TempDir tmp;
    const fs::path db = tmp / "db";
    {
        CommitPoints points(seed);
        auto s = Store::open(db);
        const auto b = stress::synth_batch("S", kBarSeed, 0, points.next());
        s.write(std::span(&b, 1));
    }
    const auto writer = stress::fork_child([&] { return writer_main(db, seed, seconds, tmp / "writer.out"); });
    std::vector<pid_t> pids;
    for (int r = 0; r < readers; ++r)
        pids.push_back(stress::fork_child([&, r] {
            return reader_main(db, seed * 31 + static_cast<std::uint64_t>(r), seed, seconds,
                               tmp / ("reader" + std::to_string(r) + ".out"));
        }));
    CHECK(stress::wait_child(writer).describe() == "exit 0");
    ReaderStats total;
    std::vector<double> latencies;
    int readers_ok = 0;
    for (int r = 0; r < readers; ++r) {
        const auto o = stress::wait_child(pids[static_cast<std::size_t>(r)]);
        CHECK(o.describe() == "exit 0");
        const auto raw = test::read_text(tmp / ("reader" + std::to_string(r) + ".out"));
        if (raw.size() < sizeof(ReaderStats)) continue;
        ReaderStats st;
        std::memcpy(&st, raw.data(), sizeof st);
        const std::size_t n = (raw.size() - sizeof st) / 4;
        for (std::size_t i = 0; i < n; ++i) {
            float f;
            std::memcpy(&f, raw.data() + sizeof st + 4 * i, 4);
            latencies.push_back(f);
        }
        readers_ok += st.queries > 0;
        total.queries += st.queries;
        total.torn += st.torn;
        total.errors += st.errors;
        total.backwards += st.backwards;
    }
    unsigned long long commits = 0, replaces = 0, bars = 0;
    std::istringstream(test::read_text(tmp / "writer.out")) >> commits >> replaces >> bars;
    auto s = Store::open(db, StoreOptions{.read_only = true});
    const bool final_ok = s.read(kKey, Timestamp::min(), Timestamp::max()) == stress::synth_bars(kBarSeed, 0, bars) &&
                          s.verify().empty();
    std::printf("FIGURE concurrency: 1 writer (%llu commits, %llu same-content rewrites, %llu bars) + %d readers for "
                "%.0f s: %llu queries, %.0f queries/s, latency p50 %.0f us, p99 %.0f us, max %.0f us; %llu torn "
                "reads, %llu reader errors, %llu reads going back in time\n",
                commits, replaces, bars, readers, seconds, static_cast<unsigned long long>(total.queries),
                static_cast<double>(total.queries) / seconds, stress::quantile(latencies, 0.5),
                stress::quantile(latencies, 0.99), stress::quantile(latencies, 1.0),
                static_cast<unsigned long long>(total.torn), static_cast<unsigned long long>(total.errors),
                static_cast<unsigned long long>(total.backwards));
    CHECK(readers_ok == readers);
    CHECK(commits > 10);
    CHECK(total.torn == 0);
    CHECK(total.errors == 0);
    CHECK(total.backwards == 0);
    CHECK(final_ok);
}

TEST_CASE("two CLI ingests with lock.mdb deleted between their starts: every reported commit survives") {
    const auto rounds = stress::env_u64("BARSTORE_LOCKSWAP_ROUNDS", 8);
    const auto n_bars = static_cast<std::size_t>(stress::env_u64("BARSTORE_LOCKSWAP_BARS", 500'000));
    test::TempDir tmp;
    const fs::path csv = tmp / "bars.csv";
    {
        std::ofstream out(csv);
        out << "ts,open,high,low,close,volume\n";
        char line[160];
        for (std::size_t i = 0; i < n_bars; ++i) {
            const auto b = stress::synth_bar(kBarSeed, i);
            auto px = [](std::int64_t v) { return std::to_string(v / 100) + "." + std::to_string(v % 100 / 10) + std::to_string(v % 10); };
            std::snprintf(line, sizeof line, "%lld,%s,%s,%s,%s,%lld\n",
                          static_cast<long long>(b.ts.time_since_epoch().count() / 1'000'000'000), px(b.open).c_str(),
                          px(b.high).c_str(), px(b.low).c_str(), px(b.close).c_str(), static_cast<long long>(b.volume));
            out << line;
        }
    }
    std::uint64_t reported = 0, survived = 0;
    for (std::uint64_t round = 0; round < rounds; ++round) {
        CAPTURE(round);
        const fs::path db = tmp / ("db" + std::to_string(round));
        auto ingest = [&](const char* symbol) {
            return stress::spawn({stress::barstore_exe(), "ingest", "--db", db.string(), "--symbol", symbol, "--timeframe",
                                  "1m", csv.string()},
                                 (tmp / (std::string(symbol) + std::to_string(round) + ".log")).string());
        };
        const pid_t a = ingest("A");
        // A has opened the store once lock.mdb exists; delete it while A parses and writes.
        for (int i = 0; i < 10'000 && !fs::exists(db / "lock.mdb"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        std::error_code ec;
        fs::remove(db / "lock.mdb", ec);
        const pid_t b = ingest("B");
        CHECK(stress::wait_child(a).describe() == "exit 0");
        CHECK(stress::wait_child(b).describe() == "exit 0");
        auto s = Store::open(db, StoreOptions{.read_only = true});
        for (const char* symbol : {"A", "B"}) {
            CAPTURE(symbol);
            const bool said = test::read_text(tmp / (std::string(symbol) + std::to_string(round) + ".log"))
                                  .find(std::to_string(n_bars) + " bars -> " + symbol) != std::string::npos;
            const auto info = s.info_fast(SeriesKey{symbol, std::chrono::minutes(1)});
            const bool kept = info && info->rows == n_bars;
            reported += said;
            survived += said && kept;
            CHECK(said);
            CHECK(kept);
        }
        CHECK(s.verify().empty());
    }
    std::printf("FIGURE lockswap: %llu rounds of two %zu-bar ingests with lock.mdb deleted between their starts: "
                "%llu commits reported, %llu survived\n",
                static_cast<unsigned long long>(rounds), n_bars, static_cast<unsigned long long>(reported),
                static_cast<unsigned long long>(survived));
    CHECK(survived == reported);
}
