// tests/test_snapshot.cpp: many processes, one store (docs/reliability.md, "Read-only stores and
// snapshots"; docs/deploy.md): stores the user may read but not write open read-only, a store a
// writer may still change is never read without LMDB's lock file, snapshots and compacted copies
// hold exactly the store at one commit, and what is refused is refused. Expected bars are the
// synthetic ones (tests/stress/harness.hpp), each computable from its index alone.
#include <doctest/doctest.h>
#include <grp.h>
#include <lmdb.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "barstore/error.hpp"
#include "barstore/store.hpp"
#include "stress/harness.hpp"
#include "support/raw_lmdb.hpp"
#include "support/time.hpp"
#include "support/util.hpp"

using barstore::BarColumns;
using barstore::InvalidInput;
using barstore::SeriesKey;
using barstore::Store;
using test::kBegin, test::kEnd;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kSeedA = 11, kSeedB = 12;
const SeriesKey kA{"A", std::chrono::minutes(1)}, kB{"B", std::chrono::minutes(1)};

void write_range(Store& s, const std::string& symbol, std::uint64_t seed, std::size_t first, std::size_t last) {
    const auto b = stress::synth_batch(symbol, seed, first, last);
    s.write(std::span(&b, 1));
}

/// A store with series A (bars 0..a_bars of seed kSeedA) and B (0..b_bars of kSeedB).
void make_store(const fs::path& dir, std::size_t a_bars, std::size_t b_bars) {
    auto s = Store::open(dir);
    write_range(s, "A", kSeedA, 0, a_bars);
    write_range(s, "B", kSeedB, 0, b_bars);
}

/// "" if `s` holds exactly A 0..a_bars and B 0..b_bars, else what differs.
std::string holds(const Store& s, std::size_t a_bars, std::size_t b_bars) {
    if (s.read(kA, kBegin, kEnd) != stress::synth_bars(kSeedA, 0, a_bars)) return "A differs";
    if (s.read(kB, kBegin, kEnd) != stress::synth_bars(kSeedB, 0, b_bars)) return "B differs";
    if (!s.verify().empty()) return "verify: " + s.verify().front().reason;
    return "";
}

std::string message_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}
bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

void chmod(const fs::path& p, mode_t mode) { REQUIRE(::chmod(p.c_str(), mode) == 0); }
mode_t mode_of(const fs::path& p) {
    struct stat st {};
    ::stat(p.c_str(), &st);
    return st.st_mode & 07777;
}

/// Runs fn in a child as user and group nobody when the tests run as root (root may write
/// anything, so "the user may read but not write" needs another user); fn's value is the exit code.
stress::Outcome as_nobody(const std::function<int()>& fn) {
    return stress::run_in_child([&] {
        if (::geteuid() == 0 && (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0)) return 90;
        return fn();
    });
}

/// The directories from `dir` up to / must be searchable by nobody (TempDir makes 0755, but a
/// umask of 077 would not).
void let_others_in(const fs::path& dir) {
    for (fs::path p = dir; !p.empty() && p != p.root_path(); p = p.parent_path())
        fs::permissions(p, fs::perms::others_exec, fs::perm_options::add);
}

/// Every named table of the LMDB data file at `path` and its entries, read with plain LMDB (no
/// barstore code): `subdir` for a store directory, else a snapshot file (docs/format.md).
std::map<std::string, std::map<std::string, std::string>> plain_lmdb_tables(const fs::path& path, bool subdir) {
    std::map<std::string, std::map<std::string, std::string>> out;
    const test::RawEnv env(path, MDB_RDONLY | MDB_NOLOCK | (subdir ? 0 : MDB_NOSUBDIR));
    MDB_txn* txn = nullptr;
    REQUIRE(mdb_txn_begin(env.get(), nullptr, MDB_RDONLY, &txn) == 0);
    auto entries = [&](MDB_dbi dbi) {
        std::map<std::string, std::string> m;
        MDB_cursor* cur = nullptr;
        REQUIRE(mdb_cursor_open(txn, dbi, &cur) == 0);
        MDB_val k, v;
        for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
            m.emplace(std::string(static_cast<const char*>(k.mv_data), k.mv_size),
                      std::string(static_cast<const char*>(v.mv_data), v.mv_size));
        mdb_cursor_close(cur);
        return m;
    };
    MDB_dbi main = 0;
    REQUIRE(mdb_dbi_open(txn, nullptr, 0, &main) == 0);
    for (const auto& [name, record] : entries(main)) {  // the main table's keys are the tables' names
        MDB_dbi dbi = 0;
        REQUIRE(mdb_dbi_open(txn, name.c_str(), 0, &dbi) == 0);
        out[name] = entries(dbi);
    }
    mdb_txn_abort(txn);
    return out;
}

}  // namespace

// ---- stores the user may read but not write -------------------------------------------------------

TEST_CASE("a store the user may read but not write (dir 0555, files 0444) opens read-only, without a lock file") {
    test::TempDir t;
    const auto db = t / "db";
    make_store(db, 3000, 500);
    let_others_in(db);
    SUBCASE("lock.mdb there, unwritable") {}
    SUBCASE("no lock.mdb") { fs::remove(db / "lock.mdb"); }
    for (const auto& f : fs::directory_iterator(db)) chmod(f.path(), 0444);
    chmod(db, 0555);
    const auto before = test::read_text(db / "data.mdb");
    const auto outcome = as_nobody([&] {
        auto s = Store::open(db, {.read_only = true});
        if (holds(s, 3000, 500) != "") return 3;
        // A second Store in the process shares the environment; writes are refused.
        auto s2 = Store::open(db, {.read_only = true});
        if (s2.read(kB, kBegin, kEnd).size() != 500) return 4;
        try {
            write_range(s2, "B", kSeedB, 500, 600);
            return 5;
        } catch (const InvalidInput&) {
        }
        return 0;
    });
    CHECK(outcome.describe() == "exit 0");
    CHECK(test::read_text(db / "data.mdb") == before);
    // Root could write it, but a store whose data.mdb nobody may write is frozen: lock-free
    // readers rely on that (docs/reliability.md), so even root's read-write open is refused.
    const auto msg = message_of([&] { (void)Store::open(db); });
    CHECK(has(msg, "read-only"));
    CHECK_THROWS_AS((void)Store::open(db), InvalidInput);
    CHECK(holds(Store::open(db, {.read_only = true}), 3000, 500) == "");
    chmod(db, 0755);
}

TEST_CASE("a store a writer may still change is never read without its lock file: refused, naming lock.mdb") {
    test::TempDir t;
    const auto db = t / "db";
    make_store(db, 1000, 10);
    let_others_in(db);
    // Another user's live store: data.mdb writable by its owner, lock.mdb not writable by us.
    chmod(db / "data.mdb", 0644);
    chmod(db / "lock.mdb", 0644);
    chmod(db, 0755);
    SUBCASE("data.mdb theirs") {}
    SUBCASE("data.mdb ours, lock.mdb theirs (a read-only open must not become a read-write one)") {
        if (::geteuid() == 0) REQUIRE(::chown((db / "data.mdb").c_str(), 65534, 65534) == 0);
    }
    const auto outcome = as_nobody([&] {
        const auto msg = message_of([&] { (void)Store::open(db, {.read_only = true}); });
        std::fprintf(stderr, "refusal: %s\n", msg.c_str());
        return has(msg, "lock.mdb") && has(msg, "snapshot") ? 0 : 3;
    });
    CHECK(outcome.describe() == "exit 0");
    // Given write access to lock.mdb (as LMDB requires of every reader), the same user reads it.
    chmod(db / "lock.mdb", 0666);
    CHECK(as_nobody([&] { return holds(Store::open(db, {.read_only = true}), 1000, 10) == "" ? 0 : 3; }).describe() ==
          "exit 0");
}

TEST_CASE("on a read-only mount, a frozen store opens and a live one is refused (LMDB alone would read it unlocked)") {
    test::TempDir t;
    const auto db = t / "db";
    make_store(db, 2000, 10);
    const auto mnt = t / "mnt";
    fs::create_directory(mnt);
    // In a child with its own mount namespace: db bind-mounted read-only at mnt. As root, so
    // lock.mdb is refused only by the mount (EROFS), where LMDB silently drops its locks.
    auto on_ro_mount = [&](const std::function<int()>& fn) {
        return stress::run_in_child([&] {
            if (::unshare(CLONE_NEWNS) != 0 || ::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
                ::mount(db.c_str(), mnt.c_str(), nullptr, MS_BIND, nullptr) != 0 ||
                ::mount(nullptr, mnt.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0)
                return 80;
            return fn();
        });
    };
    const auto live = on_ro_mount([&] {
        const auto msg = message_of([&] { (void)Store::open(mnt, {.read_only = true}); });
        std::fprintf(stderr, "refusal: %s\n", msg.c_str());
        return has(msg, "lock.mdb") && has(msg, "Read-only file system") ? 0 : 3;
    });
    if (live.describe() == "exit 80") {
        MESSAGE("no mount namespace here (not root?): the read-only mount cases are skipped");
        return;
    }
    CHECK(live.describe() == "exit 0");
    chmod(db / "data.mdb", 0444);
    CHECK(on_ro_mount([&] { return holds(Store::open(mnt, {.read_only = true}), 2000, 10) == "" ? 0 : 3; }).describe() ==
          "exit 0");
}

// ---- snapshots ------------------------------------------------------------------------------------

TEST_CASE("a snapshot holds the whole store, opens read-only as a file, and refuses writes") {
    test::TempDir t;
    const auto db = t / "db";
    make_store(db, 5000, 300);
    auto s = Store::open(db);
    const auto snap = t / "bars.snapshot";
    const auto info = s.snapshot_to(snap);
    CHECK(info.copy_bytes == fs::file_size(snap));
    CHECK(info.source_bytes == fs::file_size(db / "data.mdb"));
    CHECK(mode_of(snap) == 0444);
    // Written after the snapshot: not in it.
    write_range(s, "B", kSeedB, 300, 400);
    auto r = Store::open(snap, {.read_only = true});
    CHECK(r.is_snapshot());
    CHECK_FALSE(s.is_snapshot());
    CHECK(holds(r, 5000, 300) == "");
    // The catalog as the store had it (generations included), sessions too.
    const auto listed = r.list();
    REQUIRE(listed.size() == 2);
    CHECK(listed[0].generation == Store::open(db, {.read_only = true}).info(kA)->generation);
    // Refusals: a read-write open, any write, writing over an existing file.
    CHECK_THROWS_AS((void)Store::open(snap), InvalidInput);
    CHECK(has(message_of([&] { (void)Store::open(snap); }), "snapshot"));
    CHECK_THROWS_AS(write_range(r, "B", kSeedB, 300, 301), InvalidInput);
    CHECK_THROWS_AS(r.remove(kA), InvalidInput);
    CHECK_THROWS_AS(r.set_session(kA, barstore::parse_session("us-equity")), InvalidInput);
    const auto bytes = test::read_text(snap);
    CHECK_THROWS_AS(s.snapshot_to(snap), InvalidInput);
    CHECK(test::read_text(snap) == bytes);
    CHECK_THROWS_AS(s.snapshot_to(t / "missing" / "x.snapshot"), InvalidInput);
    // Only the file: no lock file beside it, no temporary left.
    std::set<std::string> names;
    for (const auto& f : fs::directory_iterator(t.path())) names.insert(f.path().filename().string());
    CHECK(names == std::set<std::string>{"bars.snapshot", "db"});
    // A snapshot of a snapshot is the same store; a file that is no snapshot is named as such.
    r.snapshot_to(t / "again.snapshot");
    CHECK(holds(Store::open(t / "again.snapshot", {.read_only = true}), 5000, 300) == "");
    std::ofstream(t / "notes.csv") << "ts,open,high,low,close,volume\n";
    CHECK_THROWS_AS((void)Store::open(t / "notes.csv", {.read_only = true}), InvalidInput);
    std::ofstream(t / "empty.snapshot").flush();
    CHECK_THROWS_AS((void)Store::open(t / "empty.snapshot", {.read_only = true}), InvalidInput);
}

TEST_CASE("a snapshot is a plain LMDB data file holding every table of the store, entry for entry") {
    test::TempDir t;
    const auto db = t / "db";
    make_store(db, 20'000, 700);
    {
        auto s = Store::open(db);
        s.set_session(kB, barstore::parse_session("us-equity"));
        s.remove(kA, stress::synth_bar(kSeedA, 5'000).ts, stress::synth_bar(kSeedA, 9'000).ts);
        s.snapshot_to(t / "s.snapshot");
    }
    const auto store = plain_lmdb_tables(db, true);
    const auto snap = plain_lmdb_tables(t / "s.snapshot", false);
    CHECK(store.size() >= 4);  // meta, catalog, chunks, sessions, and whatever tables come later
    CHECK(snap.size() == store.size());
    for (const auto& [name, entries] : store) {
        CAPTURE(name);
        REQUIRE(snap.count(name) == 1);
        CHECK(snap.at(name).size() == entries.size());
        CHECK(snap.at(name) == entries);
    }
}

TEST_CASE("a snapshot opens from a read-only place without a lock file: another user's 0555 directory, a read-only mount") {
    test::TempDir t;
    const auto db = t / "db";
    make_store(db, 4000, 100);
    const auto dir = t / "published";
    fs::create_directory(dir);
    Store::open(db, {.read_only = true}).snapshot_to(dir / "bars.snapshot");
    chmod(dir, 0555);
    let_others_in(dir);
    CHECK(as_nobody([&] {
              auto s = Store::open(dir / "bars.snapshot", {.read_only = true});
              auto again = Store::open(dir / "bars.snapshot", {.read_only = true});  // one environment
              return holds(s, 4000, 100) == "" && again.read(kB, kBegin, kEnd).size() == 100 ? 0 : 3;
          }).describe() == "exit 0");
    // The same directory bind-mounted read-only, in a child with its own mount namespace (root).
    fs::create_directory(t / "mnt");
    const auto outcome = stress::run_in_child([&] {
        const auto mnt = t / "mnt";
        if (::unshare(CLONE_NEWNS) != 0 || ::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
            ::mount(dir.c_str(), mnt.c_str(), nullptr, MS_BIND, nullptr) != 0 ||
            ::mount(nullptr, mnt.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0)
            return 80;
        return holds(Store::open(mnt / "bars.snapshot", {.read_only = true}), 4000, 100) == "" ? 0 : 3;
    });
    if (outcome.describe() == "exit 80")
        MESSAGE("no mount namespace here (not root?): the read-only mount case is skipped");
    else
        CHECK(outcome.describe() == "exit 0");
    std::set<std::string> names;
    for (const auto& f : fs::directory_iterator(dir)) names.insert(f.path().filename().string());
    CHECK(names == std::set<std::string>{"bars.snapshot"});
    chmod(dir, 0755);
}

TEST_CASE("a snapshot taken while a writer appends is the store at one commit, whole, and verifies clean") {
    const auto seed = test::seed();
    CAPTURE(seed);
    test::TempDir t;
    const auto db = t / "db";
    make_store(db, 3000, 10);
    // The writer appends to B in writes of random sizes drawn from `seed`, so the committed
    // lengths of B are known here: after write k, ends[k] bars.
    std::mt19937_64 sizes(seed);
    std::vector<std::size_t> ends{10};
    for (int k = 0; k < 100000; ++k) ends.push_back(ends.back() + 1 + sizes() % 3000);
    const auto stop = t / "stop";
    const pid_t writer = stress::fork_child([&] {
        auto s = Store::open(db);
        for (std::size_t k = 1; k < ends.size() && !fs::exists(stop); ++k) {
            write_range(s, "B", kSeedB, ends[k - 1], ends[k]);
            if (k % 7 == 0) {  // now and then a replace of a stretch with the same bars: new pages
                const auto b = stress::synth_batch("B", kSeedB, ends[k] / 2, ends[k] / 2 + 500);
                s.write(std::span(&b, 1), barstore::WriteMode::replace);
            }
        }
        return 0;
    });
    std::set<std::size_t> seen;
    {
        auto s = Store::open(db, {.read_only = true});
        std::uint64_t last = 10;
        for (int i = 0; i < 8; ++i) {
            // Each snapshot at a later commit than the one before (the writer has moved on).
            for (int waited_ms = 0; s.info_fast(kB)->rows == last && waited_ms < 10'000; ++waited_ms)
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            const auto file = t / ("s" + std::to_string(i) + ".snapshot");
            s.snapshot_to(file);
            auto r = Store::open(file, {.read_only = true});
            CHECK(r.verify().empty());
            CHECK(r.read(kA, kBegin, kEnd) == stress::synth_bars(kSeedA, 0, 3000));
            const auto b = r.read(kB, kBegin, kEnd);
            CAPTURE(b.size());
            CHECK(std::binary_search(ends.begin(), ends.end(), b.size()));  // a committed length
            CHECK(b == stress::synth_bars(kSeedB, 0, b.size()));
            CHECK(r.info_fast(kB)->rows == b.size());
            seen.insert(b.size());
            last = b.size();
        }
    }
    std::ofstream(stop).flush();
    CHECK(stress::wait_child(writer).describe() == "exit 0");
    CHECK(seen.size() == 8);  // eight different commits: the writer really was writing meanwhile
}

TEST_CASE("a snapshot killed at any moment leaves no file under its name") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    test::TempDir t;
    const auto db = t / "db";
    make_store(db, 300'000, 300'000);
    // How long the copy itself takes here (in a child, as below), so the kills land in it.
    const auto timing = t / "copy_us";
    CHECK(stress::run_in_child([&] {
              const auto s = Store::open(db, {.read_only = true});
              long long best_us = std::numeric_limits<long long>::max();
              for (int i = 0; i < 2; ++i) {  // the second with the store in the page cache, as below
                  const auto t0 = std::chrono::steady_clock::now();
                  s.snapshot_to(t / ("timing" + std::to_string(i) + ".snapshot"));
                  best_us = std::min<long long>(best_us, std::chrono::duration_cast<std::chrono::microseconds>(
                                                             std::chrono::steady_clock::now() - t0).count());
              }
              std::ofstream(timing) << best_us;
              return 0;
          }).describe() == "exit 0");
    const auto took_us = std::stoll(test::read_text(timing));
    fs::remove(t / "timing0.snapshot");
    fs::remove(t / "timing1.snapshot");
    int none = 0, whole = 0;
    for (int round = 0; round < 12; ++round) {
        const auto file = t / ("k" + std::to_string(round) + ".snapshot");
        int ready[2];
        REQUIRE(::pipe(ready) == 0);
        const pid_t child = stress::fork_child([&] {
            const auto s = Store::open(db, {.read_only = true});
            (void)!::write(ready[1], "x", 1);  // the copy starts now
            s.snapshot_to(file);
            return 0;
        });
        char c = 0;
        (void)!::read(ready[0], &c, 1);
        ::close(ready[0]);
        ::close(ready[1]);
        // Anywhere in the copy, the last two rounds after it (a whole snapshot there).
        const auto delay_us = round < 10 ? rng() % (took_us + 1) : 3 * took_us + 100'000;
        std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
        ::kill(child, SIGKILL);
        (void)stress::wait_child(child);
        if (!fs::exists(file)) {
            ++none;
            continue;
        }
        ++whole;
        CHECK(holds(Store::open(file, {.read_only = true}), 300'000, 300'000) == "");
    }
    MESSAGE("the copy took " << took_us << " us; kills left no file " << none << " times, a whole one " << whole);
    CHECK(none > 0);
}

// ---- compaction -----------------------------------------------------------------------------------

TEST_CASE("compact_to writes the same store bar for bar, smaller after removals, and a normal writable store") {
    test::TempDir t;
    const auto db = t / "db";
    make_store(db, 200'000, 100'000);
    {
        auto s = Store::open(db);
        write_range(s, "C", 13, 0, 150'000);
        s.remove({"C", std::chrono::minutes(1)});
        s.remove(kA, stress::synth_bar(kSeedA, 50'000).ts, std::nullopt);
        s.set_session(kB, barstore::parse_session("us-equity"));
    }
    const auto before = Store::open(db, {.read_only = true});
    const auto info = before.compact_to(t / "compact");
    CHECK(info.source_bytes == fs::file_size(db / "data.mdb"));
    CHECK(info.copy_bytes == fs::file_size(t / "compact" / "data.mdb"));
    CHECK(info.copy_bytes < info.source_bytes * 3 / 4);
    auto c = Store::open(t / "compact");
    CHECK_FALSE(c.is_snapshot());
    CHECK(holds(c, 50'000, 100'000) == "");
    const auto a = before.list(), b = c.list();
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        CAPTURE(a[i].key.symbol);
        CHECK(b[i].key == a[i].key);
        CHECK(b[i].rows == a[i].rows);
        CHECK(b[i].chunks == a[i].chunks);
        CHECK(b[i].stored_bytes == a[i].stored_bytes);
        CHECK(b[i].generation == a[i].generation);
        CHECK(b[i].first == a[i].first);
        CHECK(b[i].last == a[i].last);
        CHECK(format_session(b[i].session) == format_session(a[i].session));
    }
    // A normal store: it takes writes, and later generations go on from the source's.
    write_range(c, "A", kSeedA, 50'000, 50'100);
    CHECK(c.info(kA)->generation > a[0].generation);
    CHECK(holds(c, 50'100, 100'000) == "");
    // A snapshot compacts into a writable store too (how a snapshot is made a store again).
    before.snapshot_to(t / "s.snapshot");
    Store::open(t / "s.snapshot", {.read_only = true}).compact_to(t / "from-snapshot");
    auto w = Store::open(t / "from-snapshot");
    write_range(w, "B", kSeedB, 100'000, 100'010);
    CHECK(holds(w, 50'000, 100'010) == "");
}

TEST_CASE("compact_to refuses an existing file or non-empty directory, and fills an empty one") {
    test::TempDir t;
    const auto db = t / "db";
    make_store(db, 1000, 10);
    const auto s = Store::open(db, {.read_only = true});
    std::ofstream(t / "file") << "x";
    CHECK_THROWS_AS(s.compact_to(t / "file"), InvalidInput);
    CHECK(test::read_text(t / "file") == "x");
    fs::create_directory(t / "full");
    std::ofstream(t / "full" / "mine.txt") << "keep";
    CHECK_THROWS_AS(s.compact_to(t / "full"), InvalidInput);
    CHECK(test::read_text(t / "full" / "mine.txt") == "keep");
    CHECK_THROWS_AS(s.compact_to(db), InvalidInput);
    CHECK_THROWS_AS(s.compact_to(t / "no" / "such"), InvalidInput);
    fs::create_directory(t / "empty");
    s.compact_to(t / "empty");
    CHECK(holds(Store::open(t / "empty", {.read_only = true}), 1000, 10) == "");
    std::set<std::string> names;
    for (const auto& f : fs::directory_iterator(t.path())) names.insert(f.path().filename().string());
    CHECK(names == std::set<std::string>{"db", "empty", "file", "full"});
}
