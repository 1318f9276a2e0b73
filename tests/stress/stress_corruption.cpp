// tests/stress/stress_corruption.cpp: flipped bits and truncated files (docs/reliability.md,
// "Corruption"). BARSTORE_CORRUPTION_FLIPS (default 10,000) single-bit flips, each in a live
// chunk of a store of the real BTC and SPY files (found through LMDB, so never a stale copy), a
// fifth of them in chunk headers: every flip must make reads of the chunk throw CorruptData
// naming the series and the chunk's time, and make verify() report that series and time; no
// read may return a wrong bar, and bars away from the flip must read back exactly. Flips run
// in child processes, so a crash is counted rather than fatal. Then data.mdb truncated at 20
// sizes: the CLI and the library must exit with a clear error, never SIGBUS.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "barstore/error.hpp"
#include "barstore/store.hpp"
#include "barstore/time.hpp"
#include "codec/chunk.hpp"
#include "harness.hpp"
#include "storage/keys.hpp"
#include "storage/lmdb.hpp"
#include "support/time.hpp"
#include "support/util.hpp"

namespace fs = std::filesystem;
using barstore::BarColumns;
using barstore::CorruptData;
using barstore::SeriesKey;
using barstore::Store;
using barstore::StoreOptions;
using barstore::Timestamp;
using test::at;

namespace {

struct LiveChunk {
    SeriesKey key;
    std::uint64_t file_offset = 0, size = 0;
    std::int64_t first_ts = 0, last_ts = 0;
};

/// Builds the store: the real BTC and SPY files, one write each.
void build_store(const fs::path& db) {
    auto s = Store::open(db);
    for (const auto& [f, symbol] : {std::pair{test::btc_csv(), "BTC"}, {test::spy_csv(), "SPY"}}) {
        barstore::ParseOptions o;
        o.symbol = symbol;
        o.timeframe = std::chrono::minutes(1);
        const auto batches = barstore::parse_file(f, barstore::FileFormat::csv, o);
        s.write(batches);
    }
}

/// Every chunk value's place in data.mdb: its address in LMDB's map minus the map's base.
std::vector<LiveChunk> live_chunks(const fs::path& db) {
    using namespace barstore::storage;
    auto env = open_env(db, {.read_only = true});
    Txn txn(*env, true);
    const MDB_dbi catalog = txn.open_db("catalog", false), chunks = txn.open_db("chunks", false);
    std::map<std::uint32_t, SeriesKey> by_id;
    {
        Cursor c(txn, catalog);
        MDB_val k{}, v{};
        for (bool ok = c.move(MDB_FIRST, k, v); ok; ok = c.move(MDB_NEXT, k, v)) {
            std::uint32_t id;
            std::memcpy(&id, static_cast<const char*>(v.mv_data) + 4, 4);
            by_id[id] = parse_catalog_key(as_bytes(k));
        }
    }
    // The map starts at a page boundary and every LMDB page begins with its own page number
    // (8 bytes), so a value's page gives the map's base: page start - pgno * page size.
    MDB_stat st{};
    mdb_env_stat(env->get(), &st);
    const std::uintptr_t psize = st.ms_psize;
    std::vector<LiveChunk> out;
    Cursor c(txn, chunks);
    MDB_val k{}, v{};
    for (bool ok = c.move(MDB_FIRST, k, v); ok; ok = c.move(MDB_NEXT, k, v)) {
        const auto parts = parse_chunk_key(as_bytes(k));
        const auto h = barstore::codec::read_chunk_header(as_bytes(v), true);
        const auto addr = reinterpret_cast<std::uintptr_t>(v.mv_data);
        const std::uintptr_t page = addr & ~(psize - 1);
        std::uint64_t pgno;
        std::memcpy(&pgno, reinterpret_cast<const void*>(page), 8);
        out.push_back({by_id.at(parts.series_id), pgno * psize + (addr - page), v.mv_size, h.first_ts, h.last_ts});
    }
    return out;
}

struct FlipCounts {
    std::uint64_t flips = 0, read_detected = 0, read_named = 0, verify_detected = 0, wrong_bars = 0,
                  undetected = 0, clean_reads_failed = 0;
};

/// Flips [first, last) in this process; returns the counts. Each flip is undone before the next.
FlipCounts run_flips(const fs::path& db, const std::vector<LiveChunk>& chunks, std::uint64_t seed, std::uint64_t first,
                     std::uint64_t last) {
    auto s = Store::open(db, StoreOptions{.read_only = true});
    std::map<SeriesKey, BarColumns> pristine;
    for (const auto& c : chunks)
        if (!pristine.count(c.key)) pristine[c.key] = s.read(c.key, Timestamp::min(), Timestamp::max());
    std::uint64_t total_bytes = 0;
    for (const auto& c : chunks) total_bytes += c.size;
    const int fd = ::open((db / "data.mdb").c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    FlipCounts n;
    auto slice = [](const BarColumns& all, std::int64_t lo, std::int64_t hi) {  // bars in [lo, hi)
        BarColumns out;
        const auto a = std::lower_bound(all.ts.begin(), all.ts.end(), lo) - all.ts.begin();
        const auto b = std::lower_bound(all.ts.begin(), all.ts.end(), hi) - all.ts.begin();
        out.append(all, static_cast<std::size_t>(a), static_cast<std::size_t>(b));
        return out;
    };
    for (std::uint64_t i = first; i < last; ++i) {
        std::mt19937_64 rng(seed + i * 0x9E3779B97F4A7C15ull);
        // A fifth in headers (232 bytes of each chunk), the rest uniform over all chunk bytes.
        const LiveChunk* c = nullptr;
        std::uint64_t byte = 0;
        if (rng() % 5 == 0) {
            c = &chunks[rng() % chunks.size()];
            byte = rng() % barstore::codec::kHeaderBytes;
        } else {
            std::uint64_t pick = rng() % total_bytes;
            for (const auto& cc : chunks) {
                if (pick < cc.size) {
                    c = &cc;
                    byte = pick;
                    break;
                }
                pick -= cc.size;
            }
        }
        const int bit = static_cast<int>(rng() % 8);
        const auto off = static_cast<off_t>(c->file_offset + byte);
        unsigned char orig = 0;
        REQUIRE(::pread(fd, &orig, 1, off) == 1);
        const unsigned char bad = static_cast<unsigned char>(orig ^ (1u << bit));
        REQUIRE(::pwrite(fd, &bad, 1, off) == 1);
        ++n.flips;

        const auto want = slice(pristine[c->key], c->first_ts, c->last_ts + 1);
        try {
            const auto got = s.read(c->key, at(c->first_ts), at(c->last_ts + 1));
            if (got == want) ++n.undetected;
            else ++n.wrong_bars;
        } catch (const CorruptData& e) {
            ++n.read_detected;
            const std::string m = e.what();
            n.read_named += m.find(c->key.symbol + " ") != std::string::npos &&
                            m.find(barstore::format_time(at(c->first_ts))) != std::string::npos;
        }
        bool reported = false;
        for (const auto& p : s.verify())
            reported |= p.key == c->key && p.first.time_since_epoch().count() == c->first_ts;
        n.verify_detected += reported;
        // Bars that do not need the flipped chunk read back exactly.
        try {
            if (!(s.read(c->key, Timestamp::min(), at(c->first_ts)) == slice(pristine[c->key], INT64_MIN, c->first_ts)))
                ++n.wrong_bars;
            for (const auto& [key, bars] : pristine)
                if (!(key == c->key) && !(s.read(key, Timestamp::min(), Timestamp::max()) == bars)) ++n.wrong_bars;
        } catch (const std::exception&) {
            ++n.clean_reads_failed;
        }
        REQUIRE(::pwrite(fd, &orig, 1, off) == 1);
    }
    ::close(fd);
    return n;
}

}  // namespace

TEST_CASE("single-bit flips in stored chunks: every one detected and named, 0 wrong bars, 0 crashes") {
    const auto flips = stress::env_u64("BARSTORE_CORRUPTION_FLIPS", 10000);
    const auto seed = test::seed();
    CAPTURE(seed);
    test::TempDir tmp;
    const fs::path db = tmp / "db";
    build_store(db);
    const auto chunks = live_chunks(db);
    REQUIRE(chunks.size() >= 10);
    const std::string pristine = test::read_text(db / "data.mdb");

    const std::uint64_t per_child = 500;
    FlipCounts sum;
    std::uint64_t crashes = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (std::uint64_t at = 0; at < flips; at += per_child) {
        const std::uint64_t end = std::min(flips, at + per_child);
        const fs::path out = tmp / "counts";
        const auto o = stress::run_in_child([&] {
            const auto n = run_flips(db, chunks, seed, at, end);
            std::ofstream(out, std::ios::binary).write(reinterpret_cast<const char*>(&n), sizeof n);
            return 0;
        });
        if (o.describe() != "exit 0") {
            ++crashes;
            MESSAGE("flips " << at << ".." << end << ": child " << o.describe());
            std::ofstream(db / "data.mdb", std::ios::binary | std::ios::trunc) << pristine;
            continue;
        }
        FlipCounts n;
        const auto raw = test::read_text(out);
        REQUIRE(raw.size() == sizeof n);
        std::memcpy(&n, raw.data(), sizeof n);
        for (auto [a, b] : {std::pair{&sum.flips, n.flips}, {&sum.read_detected, n.read_detected},
                            {&sum.read_named, n.read_named}, {&sum.verify_detected, n.verify_detected},
                            {&sum.wrong_bars, n.wrong_bars}, {&sum.undetected, n.undetected},
                            {&sum.clean_reads_failed, n.clean_reads_failed}})
            *a += b;
    }
    std::printf("FIGURE corruption: %llu single-bit flips in %zu live chunks (%.1f s): reads detected %llu (named series "
                "and chunk time: %llu), verify detected %llu; %llu undetected, %llu wrong bars returned, %llu clean "
                "reads failed, %llu crashes\n",
                static_cast<unsigned long long>(sum.flips), chunks.size(), stress::seconds_since(t0),
                static_cast<unsigned long long>(sum.read_detected), static_cast<unsigned long long>(sum.read_named),
                static_cast<unsigned long long>(sum.verify_detected), static_cast<unsigned long long>(sum.undetected),
                static_cast<unsigned long long>(sum.wrong_bars), static_cast<unsigned long long>(sum.clean_reads_failed),
                static_cast<unsigned long long>(crashes));
    CHECK(crashes == 0);
    CHECK(sum.flips == flips);
    CHECK(sum.read_detected == flips);
    CHECK(sum.read_named == flips);
    CHECK(sum.verify_detected == flips);
    CHECK(sum.undetected == 0);
    CHECK(sum.wrong_bars == 0);
    CHECK(sum.clean_reads_failed == 0);
    auto s = Store::open(db, StoreOptions{.read_only = true});
    CHECK(s.verify().empty());
}

TEST_CASE("data.mdb truncated at 20 sizes: a clear error from the CLI and the library, 0 SIGBUS") {
    test::TempDir tmp;
    const fs::path db = tmp / "db";
    build_store(db);
    const std::string pristine = test::read_text(db / "data.mdb");
    const std::uint64_t full = pristine.size(), page = 4096;
    std::vector<std::uint64_t> sizes = {0, 1, 100, page - 1, page, page + 151, 2 * page - 1, 2 * page, 2 * page + 1,
                                        full - 1};
    for (std::uint64_t k = 1; sizes.size() < 20; ++k) sizes.push_back(full * k / 11);
    std::uint64_t probes = 0, clean_errors = 0, signals = 0;
    for (const auto size : sizes) {
        CAPTURE(size);
        const fs::path copy = tmp / ("t" + std::to_string(size));
        fs::create_directory(copy);
        std::ofstream(copy / "data.mdb", std::ios::binary).write(pristine.data(), static_cast<std::streamsize>(size));
        const std::vector<std::vector<std::string>> commands = {
            {stress::barstore_exe(), "verify", "--db", copy.string()},
            {stress::barstore_exe(), "ls", "--db", copy.string()},
            {stress::barstore_exe(), "query", "--db", copy.string(), "BTC", "--last", "5"},
            {stress::barstore_exe(), "ingest", "--db", copy.string(), "--symbol", "X", test::spy_csv().string()}};
        for (const auto& argv : commands) {
            CAPTURE(argv[1]);
            const fs::path err = tmp / "err.txt";
            fs::remove(err);
            const auto o = stress::run(argv, err.string());
            ++probes;
            const std::string msg = test::read_text(err);
            CAPTURE(msg);
            signals += !o.exited;
            if (size == 0 && argv[1] == "ingest") {  // read-write on an empty file: a new store
                CHECK(o.describe() == "exit 0");
                fs::remove_all(copy);
                fs::create_directory(copy);
                std::ofstream(copy / "data.mdb", std::ios::binary);
                continue;
            }
            // 0 bytes is what a store killed while being created looks like: "no store yet" (exit 2).
            bool clear = size == 0 ? o.describe() == "exit 2" && msg.find("empty") != std::string::npos
                                         : o.describe() == "exit 1" && (msg.find("truncated") != std::string::npos ||
                                                                        msg.find("MDB_INVALID") != std::string::npos);
            clear &= msg.find(copy.string()) != std::string::npos;
            clean_errors += clear;
            CHECK(clear);
        }
        // The library, read-only and read-write, in a child: an error, not a signal.
        for (const bool read_only : {true, false}) {
            const auto o = stress::run_in_child([&] {
                try {
                    auto s = Store::open(copy, StoreOptions{.read_only = read_only});
                    for (const auto& i : s.list()) (void)s.read(i.key, Timestamp::min(), Timestamp::max());
                    return size == 0 ? 0 : 1;
                } catch (const CorruptData&) {
                    return 0;
                } catch (const barstore::NotFound&) {
                    return size == 0 ? 0 : 1;
                }
            });
            ++probes;
            signals += !o.exited;
            CHECK(o.describe() == "exit 0");
        }
    }
    std::printf("FIGURE truncation: data.mdb (%llu bytes) cut at %zu sizes, %llu probes (CLI verify/ls/query/ingest, "
                "library read-only and read-write): %llu SIGBUS or other signals, %llu clear CLI errors\n",
                static_cast<unsigned long long>(full), sizes.size(), static_cast<unsigned long long>(probes),
                static_cast<unsigned long long>(signals), static_cast<unsigned long long>(clean_errors));
    CHECK(sizes.size() == 20);
    CHECK(signals == 0);
}
