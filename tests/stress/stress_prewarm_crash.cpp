// tests/stress/stress_prewarm_crash.cpp: kill -9 during prewarm and during writes that keep prewarmed
// aggregates current (docs/reliability.md, "How each test works", Prewarm crash). A forked child
// prewarms, or appends to, replaces in and cuts the tails of three prewarmed series (one with a
// session and session-aligned aggregates), and is SIGKILLed at a random moment,
// BARSTORE_PREWARM_CRASH_KILLS times (default 100), half in each kind of work. After each kill:
// verify({.deep = true}) is clean; every prewarmed aggregate is current (built from the series'
// generation) and equals a fresh aggregation of the base bars (the naive oracle for utc bins,
// resample() for session bins); the base bars are exactly the synthetic ones up to a length the
// child either committed last or was committing (so no committed write is lost, none is partial).
#include <doctest/doctest.h>
#include <fcntl.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "barstore/resample.hpp"
#include "barstore/session.hpp"
#include "barstore/store.hpp"
#include "harness.hpp"
#include "reference/naive_resample.hpp"
#include "support/util.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using barstore::AggregateSpec;
using barstore::Alignment;
using barstore::Store;
using barstore::StoreOptions;

namespace {

constexpr std::size_t kInitialRows = 20'000, kCapRows = 40'000;

struct Series {
    std::string symbol;
    std::uint64_t seed = 0;
    bool session = false;  // us-equity, with session-aligned aggregates beside utc ones
    barstore::SeriesKey key() const { return {symbol, std::chrono::minutes(1)}; }
    std::vector<AggregateSpec> specs() const {
        std::vector<AggregateSpec> s = {{5min, Alignment::utc}, {15min, Alignment::utc}, {1h, Alignment::utc},
                                        {4h, Alignment::utc}, {24h, Alignment::utc}};
        if (session) s.insert(s.end(), {{30min, Alignment::session}, {24h, Alignment::session}, {168h, Alignment::session}});
        return s;
    }
};

const std::vector<Series> kSeries = {{"A", 11, false}, {"B", 12, false}, {"E", 13, true}};

enum class Work { prewarm, write };

/// The child: works until killed, saying in `log` (one line per event, written with write(2),
/// so a line written before the kill is in the file) what it starts and what it finished:
/// `P s` prewarm of series s begins, `p s` it returned; `X s` a drop begins; `I s rows` a write
/// that leaves series s with `rows` bars begins, `D s rows` it committed.
int child_main(const fs::path& db, Work work, std::uint64_t seed, const fs::path& log) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return 3;
    auto say = [&](const std::string& line) {
        const std::string s = line + "\n";
        if (::write(fd, s.data(), s.size()) != static_cast<ssize_t>(s.size())) std::abort();
    };
    std::mt19937_64 rng(seed);
    Store store = Store::open(db);
    say("O");
    for (;;) {
        const auto& s = kSeries[rng() % kSeries.size()];
        const auto key = s.key();
        const auto specs = s.specs();
        if (work == Work::prewarm) {
            // Drop some (or all) so that the prewarm has work to do, then build them again.
            // One drop, one commit: all of them or one of them.
            say("X " + s.symbol);
            if (rng() % 3 == 0) store.drop_prewarmed(key);
            else store.drop_prewarmed(key, specs[rng() % specs.size()]);
            say("P " + s.symbol);
            store.prewarm(key, specs, barstore::PrewarmOptions{.threads = static_cast<unsigned>(1 + rng() % 2)});
            say("p " + s.symbol);
            continue;
        }
        // Writes to a prewarmed series; a prewarm first if a kill left some aggregate dropped.
        if (store.prewarmed(key).size() < specs.size()) {
            say("P " + s.symbol);
            store.prewarm(key, specs);
            say("p " + s.symbol);
        }
        const std::size_t rows = store.info_fast(key)->rows;
        const unsigned what = static_cast<unsigned>(rng() % 10);
        if (rows > kCapRows && what == 0) {
            // Cut the tail: aggregates are recomputed from the bin holding the cut.
            const std::size_t keep = kInitialRows + rng() % (rows - kInitialRows);
            say("I " + s.symbol + " " + std::to_string(keep));
            store.remove(key, stress::synth_bar(s.seed, keep).ts);
            say("D " + s.symbol + " " + std::to_string(keep));
        } else if (what == 1) {
            // Replace a stretch with the same bars: new chunks, same content, aggregates redone
            // from the stretch on, in the same transaction.
            const std::size_t a = rng() % rows, b = std::min(rows, a + 1 + rng() % 3000);
            say("I " + s.symbol + " " + std::to_string(rows));
            const auto batch = stress::synth_batch(s.symbol, s.seed, a, b);
            store.write(std::span(&batch, 1), barstore::WriteMode::replace);
            say("D " + s.symbol + " " + std::to_string(rows));
        } else {
            const std::size_t n = 1 + rng() % 1440;
            say("I " + s.symbol + " " + std::to_string(rows + n));
            const auto batch = stress::synth_batch(s.symbol, s.seed, rows, rows + n);
            store.write(std::span(&batch, 1));
            say("D " + s.symbol + " " + std::to_string(rows + n));
        }
    }
}

/// What the child's log says: the last thing it was doing, and per series the row counts the
/// store may hold (the last committed one, or the one being written).
struct LogState {
    char last_event = 0;
    std::map<std::string, std::size_t> done, pending;
};

LogState read_log(const fs::path& log) {
    LogState st;
    std::istringstream in(test::read_text(log));
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream l(line);
        char ev = 0;
        std::string sym;
        std::size_t rows = 0;
        l >> ev >> sym >> rows;
        st.last_event = ev;
        if (ev == 'I') st.pending[sym] = rows;
        if (ev == 'D') {
            st.done[sym] = rows;
            st.pending.erase(sym);
        }
    }
    return st;
}

std::vector<reference::IntBar> to_int_bars(const barstore::BarColumns& c) {
    std::vector<reference::IntBar> out(c.size());
    for (std::size_t i = 0; i < c.size(); ++i) out[i] = {c.ts[i], c.open[i], c.high[i], c.low[i], c.close[i], c.volume[i]};
    return out;
}

/// Everything the test asserts after a kill; each count is of failures (messages say which).
struct Check {
    std::uint64_t verify_problems = 0, stale = 0, differing = 0, lost_or_partial = 0, wrong_bars = 0;
    std::uint64_t aggregates = 0, missing = 0;  // checked; dropped and not yet rebuilt (allowed)
    std::uint64_t failures() const { return verify_problems + stale + differing + lost_or_partial + wrong_bars; }
};

/// Checks the store against the oracles; `rows` holds what each series had before this round
/// (updated to what it has now).
Check check_store(const fs::path& db, const LogState& log, std::map<std::string, std::size_t>& rows) {
    Check c;
    const Store store = Store::open(db, StoreOptions{.read_only = true});
    for (const auto& p : store.verify({.deep = true})) {
        ++c.verify_problems;
        MESSAGE("verify: " << p.key.symbol << ": " << p.reason);
    }
    for (const auto& s : kSeries) {
        const auto info = store.info_fast(s.key());
        REQUIRE(info.has_value());
        // Rows: the last commit the child reported (or what it had before), or the one in flight.
        const std::size_t committed = log.done.count(s.symbol) ? log.done.at(s.symbol) : rows[s.symbol];
        const bool in_flight = log.pending.count(s.symbol) && log.pending.at(s.symbol) == info->rows;
        if (info->rows != committed && !in_flight) {
            ++c.lost_or_partial;
            MESSAGE(s.symbol << ": " << info->rows << " rows, the child committed " << committed);
        }
        rows[s.symbol] = info->rows;
        const auto bars = store.read(s.key(), barstore::Timestamp::min(), barstore::Timestamp::max());
        if (!(bars == stress::synth_bars(s.seed, 0, info->rows))) {
            ++c.wrong_bars;
            MESSAGE(s.symbol << ": its bars are not the synthetic ones");
        }
        const auto ints = to_int_bars(bars);
        const auto infos = store.prewarmed(s.key());
        c.missing += s.specs().size() - infos.size();
        for (const auto& pi : infos) {
            ++c.aggregates;
            const std::string name = s.symbol + " " + barstore::format_timeframe(pi.spec.timeframe) +
                                     (pi.spec.align == Alignment::session ? " session" : " utc");
            if (!pi.current || pi.built_generation != info->generation) {
                ++c.stale;
                MESSAGE(name << ": built from generation " << pi.built_generation << ", the series is at " << info->generation);
                continue;
            }
            barstore::BarColumns stored;
            const bool served = store.scan_prewarmed(s.key(), pi.spec, info->generation, barstore::Timestamp::min(),
                                                     barstore::Timestamp::max(),
                                                     [&](const barstore::BarColumns& p) { stored.append(p, 0, p.size()); });
            bool same = served;
            if (same && pi.spec.align == Alignment::utc) {
                const auto want = reference::resample(ints, pi.spec.timeframe.count());
                same = stored.size() == want.size();
                for (std::size_t i = 0; same && i < want.size(); ++i)
                    same = stored.ts[i] == want[i].ts && stored.open[i] == want[i].open && stored.high[i] == want[i].high &&
                           stored.low[i] == want[i].low && stored.close[i] == want[i].close && stored.volume[i] == want[i].volume;
            } else if (same) {
                same = stored == barstore::resample(bars, 1min, pi.spec.timeframe, Alignment::session, info->session);
            }
            if (!same) {
                ++c.differing;
                MESSAGE(name << ": " << std::string(served ? "differs from a fresh aggregation of its base bars" : "not served"));
            }
        }
    }
    return c;
}

}  // namespace

TEST_CASE("SIGKILL during prewarm and during writes to prewarmed series: verify --deep clean, aggregates current "
          "and equal to the oracle, no committed write lost") {
    const auto kills_wanted = stress::env_u64("BARSTORE_PREWARM_CRASH_KILLS", 100);
    const auto seed = test::seed();
    CAPTURE(seed);
    std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
    std::mt19937_64 rng(seed);
    test::TempDir tmp;
    const fs::path db = tmp / "db", log = tmp / "child.log";

    std::map<std::string, std::size_t> rows;
    double prewarm_all_s = 0;
    {
        Store store = Store::open(db);
        for (const auto& s : kSeries) {
            const auto b = stress::synth_batch(s.symbol, s.seed, 0, kInitialRows);
            store.write(std::span(&b, 1));
            if (s.session) store.set_session(s.key(), barstore::parse_session("us-equity"));
            rows[s.symbol] = kInitialRows;
        }
        // The time of a prewarm of every series sets the kill times of the prewarm rounds.
        const auto t0 = std::chrono::steady_clock::now();
        for (const auto& s : kSeries) store.prewarm(s.key(), s.specs());
        prewarm_all_s = stress::seconds_since(t0);
    }

    std::uint64_t kills = 0, in_prewarm = 0, in_write = 0, elsewhere = 0, rounds_failed = 0, aggregates = 0, missing = 0;
    Check total;
    const auto start = std::chrono::steady_clock::now();
    while (kills < kills_wanted) {
        const Work work = kills % 2 ? Work::write : Work::prewarm;
        fs::remove(log);
        const std::uint64_t child_seed = rng();
        const bool early = rng() % 10 == 0;
        const pid_t pid = stress::fork_child([&] { return child_main(db, work, child_seed, log); });
        // A tenth of the kills within 2 ms of the fork, to hit the open; the others timed from
        // the child's first line (the open done), spread over a few prewarms or tens of writes.
        const auto t_fork = std::chrono::steady_clock::now();
        if (early) {
            std::this_thread::sleep_for(std::chrono::duration<double>(std::uniform_real_distribution<double>(0, 0.002)(rng)));
        } else {
            while (!fs::exists(log) || fs::file_size(log) == 0) {
                REQUIRE(stress::seconds_since(t_fork) < 60);
                std::this_thread::sleep_for(100us);
            }
            const double span_s = work == Work::prewarm ? 2 * prewarm_all_s : std::max(0.06, prewarm_all_s);
            std::this_thread::sleep_for(std::chrono::duration<double>(std::uniform_real_distribution<double>(0, span_s)(rng)));
        }
        int status = 0;
        REQUIRE(::waitpid(pid, &status, WNOHANG) == 0);  // the child works until killed; it must not have failed
        ::kill(pid, SIGKILL);
        const auto o = stress::wait_child(pid);
        REQUIRE(o.describe() == "signal 9 (Killed)");
        ++kills;

        const LogState st = read_log(log);
        if (st.last_event == 'P') ++in_prewarm;
        else if (st.last_event == 'I') ++in_write;
        else ++elsewhere;  // opening, dropping, between calls
        const Check c = check_store(db, st, rows);
        total.verify_problems += c.verify_problems;
        total.stale += c.stale;
        total.differing += c.differing;
        total.lost_or_partial += c.lost_or_partial;
        total.wrong_bars += c.wrong_bars;
        aggregates += c.aggregates;
        missing += c.missing;
        if (c.failures() > 0) {
            ++rounds_failed;
            break;  // the figure is already wrong: stop and show it
        }
    }
    const double wall = stress::seconds_since(start);
    std::printf("FIGURE prewarm crash: %llu SIGKILLs (%llu inside Store::prewarm, %llu inside a write updating "
                "prewarmed aggregates, %llu elsewhere: open, drop, between calls) over 3 series, 14 prewarmed "
                "aggregates (3 session-aligned): %llu verify --deep problems, %llu stale aggregates, %llu aggregates "
                "differing from a fresh aggregation (of %llu checked; %llu dropped and not yet rebuilt), %llu committed "
                "writes lost or partial, %llu series with wrong bars; prewarm of all 3 series %.0f ms; %.1f s\n",
                static_cast<unsigned long long>(kills), static_cast<unsigned long long>(in_prewarm),
                static_cast<unsigned long long>(in_write), static_cast<unsigned long long>(elsewhere),
                static_cast<unsigned long long>(total.verify_problems), static_cast<unsigned long long>(total.stale),
                static_cast<unsigned long long>(total.differing), static_cast<unsigned long long>(aggregates),
                static_cast<unsigned long long>(missing), static_cast<unsigned long long>(total.lost_or_partial),
                static_cast<unsigned long long>(total.wrong_bars), prewarm_all_s * 1e3, wall);
    CHECK(rounds_failed == 0);
    CHECK(kills == kills_wanted);
    CHECK(total.failures() == 0);
    // Kills must land in both kinds of work, or the test tests less than it says.
    CHECK(in_prewarm >= kills_wanted / 8);
    CHECK(in_write >= kills_wanted / 8);
}
