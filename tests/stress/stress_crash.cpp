// tests/stress/stress_crash.cpp: kill -9 during ingest (docs/reliability.md, "How each test works", Crash).
// The real BTC and SPY files are cut into 40 small files; the built CLI ingests them (one
// transaction per file) while this process SIGKILLs it at random moments, BARSTORE_CRASH_KILLS
// times (default 200). After each kill: `barstore verify` passes, the store equals exactly the
// state after some prefix of the files (0 partial files), that prefix holds every file the CLI
// reported committed (0 lost), and the ingest resumes from there. Each completed store equals
// the one an uninterrupted run builds, bar for bar and byte for byte in `query` output.
#include <doctest/doctest.h>
#include <xxhash.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "barstore/error.hpp"
#include "barstore/store.hpp"
#include "harness.hpp"
#include "support/util.hpp"

namespace fs = std::filesystem;
using barstore::Store;
using barstore::StoreOptions;

namespace {

struct InputFile {
    fs::path path;
    std::string symbol;
};

/// Cuts `src` into files of `rows` data lines each (the header, if any, repeated in each).
std::vector<InputFile> split(const fs::path& src, const std::string& symbol, std::size_t rows, const fs::path& dir) {
    std::ifstream in(src);
    std::string line, header;
    std::vector<std::string> lines;
    while (std::getline(in, line)) lines.push_back(line + "\n");
    std::size_t first = 0;
    if (!lines.empty() && !std::isdigit(static_cast<unsigned char>(lines[0][0]))) header = lines[first++];
    std::vector<InputFile> out;
    for (std::size_t at = first, k = 0; at < lines.size(); at += rows, ++k) {
        char name[64];
        std::snprintf(name, sizeof name, "%s-%02zu.csv", symbol.c_str(), k);
        std::ofstream f(dir / name);
        f << header;
        for (std::size_t i = at; i < std::min(lines.size(), at + rows); ++i) f << lines[i];
        out.push_back({dir / name, symbol});
    }
    return out;
}

/// Everything a reader can see in the store, hashed: every catalog field and every bar.
/// nullopt if there is no store to open (a kill before its creation finished).
std::optional<std::uint64_t> state_hash(const fs::path& db) {
    std::optional<Store> opened;
    try {
        opened.emplace(Store::open(db, StoreOptions{.read_only = true}));
    } catch (const barstore::NotFound&) {
        return std::nullopt;  // no store yet, or one whose creation was killed before its first commit
    }
    auto& s = *opened;
    XXH3_state_t* st = XXH3_createState();
    XXH3_64bits_reset(st);
    auto add = [&](const void* p, std::size_t n) { XXH3_64bits_update(st, p, n); };
    for (const auto& i : s.list()) {
        add(i.key.symbol.data(), i.key.symbol.size());
        const std::int64_t fields[] = {i.key.base.count(), i.scale.price_decimals, i.scale.volume_decimals,
                                       static_cast<std::int64_t>(i.rows), static_cast<std::int64_t>(i.chunks),
                                       static_cast<std::int64_t>(i.stored_bytes), static_cast<std::int64_t>(i.generation),
                                       i.first.time_since_epoch().count(), i.last.time_since_epoch().count()};
        add(fields, sizeof fields);
        const auto bars = s.read(i.key, barstore::Timestamp::min(), barstore::Timestamp::max());
        for (const auto* c : {&bars.ts, &bars.open, &bars.high, &bars.low, &bars.close, &bars.volume})
            add(c->data(), c->size() * 8);
    }
    const auto h = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    return h;
}

std::vector<std::string> ingest_argv(const fs::path& db, const std::vector<InputFile>& files) {
    std::vector<std::string> argv = {stress::barstore_exe(), "ingest", "--db", db.string(), "--symbol",
                                     files.front().symbol, "--timeframe", "1m"};
    for (const auto& f : files) argv.push_back(f.path.string());
    return argv;
}

/// The remaining files as one CLI run per stretch of one symbol (several files per process).
std::vector<std::vector<InputFile>> groups(const std::vector<InputFile>& files, std::size_t from) {
    std::vector<std::vector<InputFile>> out;
    for (std::size_t i = from; i < files.size(); ++i) {
        if (out.empty() || out.back().front().symbol != files[i].symbol) out.emplace_back();
        out.back().push_back(files[i]);
    }
    return out;
}

std::string query_csv(const fs::path& db, const std::string& symbol, const fs::path& out) {
    fs::remove(out);
    stress::run({stress::barstore_exe(), "query", "--db", db.string(), symbol, "--format", "csv"}, out.string());
    return test::read_text(out);
}

}  // namespace

TEST_CASE("SIGKILL during ingest: no committed file lost, no partial file visible, verify passes, same store") {
    const auto kills_wanted = stress::env_u64("BARSTORE_CRASH_KILLS", 200);
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    test::TempDir tmp;
    fs::create_directory(tmp / "in");
    // Interleaved stretches: BTC 0-9, SPY 0-4, BTC 10-19, SPY 5-9, BTC 20-29 (1502 and 1418 rows).
    const auto btc = split(test::btc_csv(), "BTC", 1502, tmp / "in");
    const auto spy = split(test::spy_csv(), "SPY", 1418, tmp / "in");
    REQUIRE(btc.size() == 30);
    REQUIRE(spy.size() == 10);
    std::vector<InputFile> files;
    for (int part = 0; part < 5; ++part) {
        const auto& from = part % 2 == 0 ? btc : spy;
        const std::size_t lo = part % 2 == 0 ? part / 2 * 10 : part / 2 * 5;
        const std::size_t n = part % 2 == 0 ? 10 : 5;
        files.insert(files.end(), from.begin() + static_cast<std::ptrdiff_t>(lo),
                     from.begin() + static_cast<std::ptrdiff_t>(lo + n));
    }
    const std::size_t total = files.size();

    // The clean run, file by file: the state after each prefix of the files.
    std::map<std::uint64_t, std::size_t> prefix_of_state;
    const fs::path clean = tmp / "clean";
    const auto t_clean = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < total; ++i) {
        REQUIRE(stress::run(ingest_argv(clean, {files[i]})).describe() == "exit 0");
        prefix_of_state[*state_hash(clean)] = i + 1;
    }
    const double per_process_s = stress::seconds_since(t_clean) / static_cast<double>(total);  // hashing included
    REQUIRE(prefix_of_state.size() == total);
    const std::string clean_btc = query_csv(clean, "BTC", tmp / "q.csv"), clean_spy = query_csv(clean, "SPY", tmp / "q.csv");
    // Its duration as the crash runs do it (a few files per process) sets the kill times: a
    // process costs its start plus its files, so the remaining time is start * groups + file * files.
    const auto t0 = std::chrono::steady_clock::now();
    for (const auto& g : groups(files, 0)) REQUIRE(stress::run(ingest_argv(tmp / "timing", g)).describe() == "exit 0");
    const double clean_s = stress::seconds_since(t0);
    const double n_groups = static_cast<double>(groups(files, 0).size());
    const double start_s = std::max(0.0, (per_process_s * static_cast<double>(total) - clean_s) /
                                             (static_cast<double>(total) - n_groups));
    const double file_s = std::max(1e-4, (clean_s - start_s * n_groups) / static_cast<double>(total));

    std::uint64_t kills = 0, lost = 0, partial = 0, verify_failed = 0, unreported = 0, before_first_commit = 0;
    std::uint64_t completed = 0, completed_equal = 0, iterations = 0;
    const fs::path db = tmp / "db", log = tmp / "ingest.log";
    std::size_t pos = 0;
    const auto start = std::chrono::steady_clock::now();
    while (kills < kills_wanted) {
        ++iterations;
        const double remaining_s = start_s * static_cast<double>(groups(files, pos).size()) +
                                   file_s * static_cast<double>(total - pos);
        const double delay_s = rng() % 10 == 0 ? std::uniform_real_distribution<double>(0, 0.005)(rng)
                                               : std::uniform_real_distribution<double>(0, remaining_s * 1.15)(rng);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(delay_s);
        fs::remove(log);
        bool killed = false;
        for (const auto& g : groups(files, pos)) {
            const pid_t pid = stress::spawn(ingest_argv(db, g), log.string());
            int status = 0;
            pid_t done = 0;
            while ((done = ::waitpid(pid, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline)
                std::this_thread::sleep_for(std::chrono::microseconds(200));
            if (done == 0) {
                ::kill(pid, SIGKILL);
                const auto o = stress::wait_child(pid);
                killed = o.signal == SIGKILL;
                if (!killed) REQUIRE(o.describe() == "exit 0");  // it finished just before the kill
                else break;
            } else {
                REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
            }
        }
        kills += killed;

        // What the CLI said it committed before it died.
        std::set<std::string> reported;
        {
            std::istringstream in(test::read_text(log));
            std::string line;
            while (std::getline(in, line))
                if (const auto colon = line.find(": "); colon != std::string::npos && colon + 2 < line.size() &&
                    std::isdigit(static_cast<unsigned char>(line[colon + 2])) && line.find(" bars") != std::string::npos)
                    reported.insert(line.substr(0, colon));
        }
        const auto h = state_hash(db);
        std::size_t now = 0;
        if (!h) {
            ++before_first_commit;
            if (!reported.empty() || pos != 0) ++lost;
        } else {
            const auto v = stress::run({stress::barstore_exe(), "verify", "--db", db.string()}, (tmp / "verify.log").string());
            if (v.describe() != "exit 0") {
                ++verify_failed;
                MESSAGE("verify failed: " << test::read_text(tmp / "verify.log"));
            }
            const auto it = prefix_of_state.find(*h);
            if (it == prefix_of_state.end() && pos == 0 && reported.empty()) {
                // A store created but with no file committed: no series at all.
                auto s = Store::open(db, StoreOptions{.read_only = true});
                if (!s.list().empty()) ++partial;
                ++before_first_commit;
            } else if (it == prefix_of_state.end()) {
                ++partial;
                MESSAGE("store matches no prefix of the files after iteration " << iterations);
            } else {
                now = it->second;
            }
        }
        if (now < pos) ++lost;
        for (std::size_t i = 0; i < total; ++i)
            if (reported.count(files[i].path.string()) && i >= now) ++lost;
        if (now > pos + reported.size()) unreported += now - pos - reported.size();
        pos = std::max(pos, now);

        if (pos == total) {  // a whole run done, through however many kills: compare, start over
            ++completed;
            completed_equal += query_csv(db, "BTC", tmp / "q.csv") == clean_btc && query_csv(db, "SPY", tmp / "q.csv") == clean_spy;
            fs::remove_all(db);
            pos = 0;
        }
        if (lost + partial + verify_failed > 0) break;  // the figure is already wrong: stop and show it
    }
    const double wall = stress::seconds_since(start);
    std::printf("FIGURE crash: %llu SIGKILLs during ingest of %zu files (%llu runs, %llu completed, clean run %.2f s), "
                "%llu committed files lost, %llu partial files visible, %llu verify failures, %llu completed stores "
                "differing from the clean run; %llu kills before the first commit, %llu commits not yet reported "
                "when killed; %.1f s\n",
                static_cast<unsigned long long>(kills), total, static_cast<unsigned long long>(iterations),
                static_cast<unsigned long long>(completed), clean_s, static_cast<unsigned long long>(lost),
                static_cast<unsigned long long>(partial), static_cast<unsigned long long>(verify_failed),
                static_cast<unsigned long long>(completed - completed_equal),
                static_cast<unsigned long long>(before_first_commit), static_cast<unsigned long long>(unreported), wall);
    CHECK(kills == kills_wanted);
    CHECK(lost == 0);
    CHECK(partial == 0);
    CHECK(verify_failed == 0);
    CHECK(completed_equal == completed);

    // The interrupted store, finished: equal to the clean run.
    for (const auto& g : groups(files, pos)) REQUIRE(stress::run(ingest_argv(db, g)).describe() == "exit 0");
    CHECK(state_hash(db) == state_hash(clean));
    CHECK(query_csv(db, "BTC", tmp / "q.csv") == clean_btc);
    CHECK(query_csv(db, "SPY", tmp / "q.csv") == clean_spy);
}
