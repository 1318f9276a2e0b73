// tests/test_storage.cpp: LMDB done safely (docs/reliability.md): one environment per store
// per process, truncated and empty data.mdb refused without SIGBUS, a full map failing cleanly
// and leaving the store usable, another process's larger map adopted, stale readers cleared,
// network file systems named, modes 0750/0640, readers in threads beside a writer, writers
// that stay serialised when lock.mdb is deleted or replaced under them, and the prefix-bounded
// chunk cursor, against a std::map.
#include <doctest/doctest.h>
#include <lmdb.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "barstore/error.hpp"
#include "barstore/store.hpp"
#include "storage/chunk_cursor.hpp"
#include "storage/keys.hpp"
#include "storage/lmdb.hpp"
#include "stress/harness.hpp"
#include "support/time.hpp"
#include "support/util.hpp"

using barstore::BarColumns;
using barstore::CorruptData;
using barstore::InvalidInput;
using barstore::SeriesKey;
using barstore::StorageFull;
using barstore::Store;
using barstore::StoreOptions;
using barstore::WriteMode;
using test::kBegin, test::kEnd;
namespace fs = std::filesystem;

namespace {

const SeriesKey kKey{"S", std::chrono::minutes(1)};
constexpr std::uint64_t kSeed = 7;

void write_range(Store& s, std::size_t first, std::size_t last, const std::string& symbol = "S") {
    const auto b = stress::synth_batch(symbol, kSeed, first, last);
    s.write(std::span(&b, 1));
}

/// A one-way signal between processes (a pipe made before fork). wait() gives up after
/// `timeout_ms`, so a child that never signals fails the test instead of hanging it.
class Signal {
public:
    Signal() { REQUIRE(::pipe(fd_) == 0); }
    ~Signal() {
        ::close(fd_[0]);
        ::close(fd_[1]);
    }
    void post() { (void)!::write(fd_[1], "x", 1); }
    bool wait(int timeout_ms = 30'000) {
        pollfd p{fd_[0], POLLIN, 0};
        char c = 0;
        return ::poll(&p, 1, timeout_ms) == 1 && ::read(fd_[0], &c, 1) == 1;
    }

private:
    int fd_[2] = {-1, -1};
};

/// What a user does to lock.mdb: deletes it, or puts a copy in its place (a restore, a sync
/// tool). Either way the next process to open the store gets a lock file of its own.
void swap_lock_file(const fs::path& dir, bool by_copy) {
    if (by_copy) {
        fs::copy_file(dir / "lock.mdb", dir / "lock.mdb.copy");
        fs::rename(dir / "lock.mdb.copy", dir / "lock.mdb");
    } else {
        fs::remove(dir / "lock.mdb");
    }
}

std::span<const std::byte> bytes(std::string_view s) { return {reinterpret_cast<const std::byte*>(s.data()), s.size()}; }

std::string message_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("two opens of one store in a process share one environment, by device and inode") {
    test::TempDir dir;
    {
        auto s = Store::open(dir.path());
        write_range(s, 0, 100);
    }
    const barstore::storage::EnvOptions rw{}, ro{.read_only = true};
    auto a = barstore::storage::open_env(dir.path(), rw);
    auto b = barstore::storage::open_env(dir.path() / "." / "", rw);  // another spelling, same inode
    CHECK(a.get() == b.get());
    fs::create_directory_symlink(dir.path(), dir / "link");
    CHECK(barstore::storage::open_env(dir / "link", ro).get() == a.get());  // read-only shares read-write
    a.reset();
    b.reset();
    // Once every user is gone the environment closes; the next open is a new one that works.
    auto s1 = Store::open(dir.path());
    auto s2 = Store::open(dir.path(), {.read_only = true});
    write_range(s1, 100, 200);
    CHECK(s2.read(kKey, kBegin, kEnd) == stress::synth_bars(kSeed, 0, 200));
    // A read-only Store sharing a read-write environment still refuses writes.
    CHECK_THROWS_AS(write_range(s2, 200, 300), InvalidInput);
}

TEST_CASE("a read-write open after a read-only one in the same process shares its environment") {
    test::TempDir dir;
    { auto s = Store::open(dir.path()); write_range(s, 0, 10); }
    auto ro = Store::open(dir.path(), {.read_only = true});
    auto rw = Store::open(dir.path());
    write_range(rw, 10, 20);
    CHECK(ro.read(kKey, kBegin, kEnd).size() == 20);
    CHECK_THROWS_AS(write_range(ro, 20, 30), InvalidInput);
    const auto env = barstore::storage::open_env(dir.path(), {.read_only = true});
    CHECK_FALSE(env->read_only());  // data.mdb is writable: the shared environment is read-write
}

TEST_CASE("many stores and threads: readers in threads see whole writes while another Store writes") {
    test::TempDir dir;
    { auto s = Store::open(dir.path()); write_range(s, 0, 1); }
    std::atomic<bool> done{false};
    std::atomic<int> bad{0}, reads{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 4; ++t)
        readers.emplace_back([&] {
            auto s = Store::open(dir.path(), {.read_only = true});  // shares the writer's environment
            while (!done.load()) {
                const auto got = s.read(kKey, kBegin, kEnd);
                // Writes add 37 bars at a time: a whole number of writes, and the right bars.
                if (got.size() % 37 != 1 || !(got == stress::synth_bars(kSeed, 0, got.size()))) ++bad;
                ++reads;
            }
        });
    {
        auto w = Store::open(dir.path());
        for (std::size_t n = 1; n + 37 <= 4000; n += 37) write_range(w, n, n + 37);
    }
    done = true;
    for (auto& t : readers) t.join();
    CHECK(bad.load() == 0);
    CHECK(reads.load() > 0);
}

TEST_CASE("a truncated data.mdb is refused with CorruptData, never SIGBUS; an empty one is no store yet") {
    test::TempDir dir;
    {
        auto s = Store::open(dir.path());
        for (std::size_t i = 0; i < 5; ++i) write_range(s, i * 5000, (i + 1) * 5000);
    }
    const auto data = dir.path() / "data.mdb";
    const auto full = fs::file_size(data);
    const auto pristine = test::read_text(data);
    for (const std::uintmax_t size : {full - 1, full - 4096, full / 2, std::uintmax_t{3 * 4096}, std::uintmax_t{8192 + 100},
                                      std::uintmax_t{4096 + 10}, std::uintmax_t{100}, std::uintmax_t{0}}) {
        CAPTURE(size);
        fs::resize_file(data, size);
        for (const bool read_only : {true, false}) {
            CAPTURE(read_only);
            if (size == 0 && !read_only) continue;  // a read-write open of an empty file starts a new store
            // In a child: were the check missing, the read would die of SIGBUS.
            const auto outcome = stress::run_in_child([&] {
                try {
                    auto s = Store::open(dir.path(), {.read_only = read_only});
                    (void)s.read(kKey, kBegin, kEnd);
                    return 0;
                } catch (const CorruptData& e) {
                    const std::string m = e.what();
                    return m.find(dir.path().string()) != std::string::npos &&
                                   (m.find("truncated") != std::string::npos || m.find("MDB_INVALID") != std::string::npos)
                               ? 3
                               : 4;
                } catch (const barstore::NotFound& e) {  // 0 bytes: as if its creation was interrupted
                    return size == 0 && std::string(e.what()).find("empty") != std::string::npos ? 3 : 6;
                } catch (const std::exception& e) {
                    std::fprintf(stderr, "%s\n", e.what());
                    return 5;
                }
            });
            CHECK(outcome.describe() == "exit 3");
        }
        std::ofstream(data, std::ios::binary | std::ios::trunc) << pristine;
    }
    auto s = Store::open(dir.path(), {.read_only = true});
    CHECK(s.read(kKey, kBegin, kEnd).size() == 25000);
    CHECK(s.verify().empty());
}

TEST_CASE("an empty data.mdb (creation interrupted) opens read-write as a new store") {
    test::TempDir dir;
    { std::ofstream(dir / "data.mdb"); }
    auto s = Store::open(dir.path());
    CHECK(s.list().empty());
    write_range(s, 0, 10);
    CHECK(s.read(kKey, kBegin, kEnd).size() == 10);
}

TEST_CASE("a full map throws StorageFull naming the store, changes nothing, and the store goes on") {
    test::TempDir dir;
    const StoreOptions small{.map_size_bytes = 1 << 20};
    {
        auto s = Store::open(dir.path(), small);
        write_range(s, 0, 1000);
        // Random-ish synthetic bars take a few bytes each: 500,000 of them cannot fit in 1 MiB.
        const auto msg = message_of([&] { write_range(s, 1000, 500'000); });
        CHECK(msg.find(dir.path().string()) != std::string::npos);
        CHECK(msg.find("MDB_MAP_FULL") != std::string::npos);
        CHECK_THROWS_AS(write_range(s, 1000, 500'000), StorageFull);
        CHECK(s.read(kKey, kBegin, kEnd) == stress::synth_bars(kSeed, 0, 1000));
        write_range(s, 1000, 1100);  // a new transaction: the failed one is gone, not reused
        CHECK(s.read(kKey, kBegin, kEnd) == stress::synth_bars(kSeed, 0, 1100));
        CHECK(s.verify().empty());
    }
    auto big = Store::open(dir.path(), {.map_size_bytes = 64 << 20});
    write_range(big, 1100, 500'000);
    CHECK(big.read(kKey, kBegin, kEnd).size() == 500'000);
    CHECK(big.verify().empty());
}

TEST_CASE("where address space is short (ulimit -v), the 1 TiB map shrinks instead of failing") {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return;  // the sanitizers reserve terabytes of shadow memory themselves: no RLIMIT_AS for them
#endif
    test::TempDir dir;
    const auto child = stress::run_in_child([&] {
        const rlimit as{std::uint64_t{8} << 30, std::uint64_t{8} << 30};  // 8 GiB
        if (::setrlimit(RLIMIT_AS, &as) != 0) return 2;
        auto s = Store::open(dir.path());
        write_range(s, 0, 10000);
        auto ro = Store::open(dir.path(), {.read_only = true});
        return ro.read(kKey, kBegin, kEnd) == stress::synth_bars(kSeed, 0, 10000) ? 0 : 1;
    });
    CHECK(child.describe() == "exit 0");
    // And a reader with little address space opens a store whose writer recorded 1 TiB.
    const auto reader = stress::run_in_child([&] {
        const rlimit as{std::uint64_t{8} << 30, std::uint64_t{8} << 30};
        if (::setrlimit(RLIMIT_AS, &as) != 0) return 2;
        auto ro = Store::open(dir.path(), {.read_only = true});
        return ro.read(kKey, kBegin, kEnd).size() == 10000 ? 0 : 1;
    });
    CHECK(reader.describe() == "exit 0");
}

TEST_CASE("a map grown by another process is adopted by this one (MDB_MAP_RESIZED)") {
    test::TempDir dir;
    auto s = Store::open(dir.path(), {.map_size_bytes = 1 << 20});
    write_range(s, 0, 1000);
    // Another process opens it with a larger map and writes more than 1 MiB.
    const auto child = stress::run_in_child([&] {
        auto other = Store::open(dir.path(), {.map_size_bytes = 64 << 20});
        write_range(other, 1000, 300'000);
        return 0;
    });
    REQUIRE(child.describe() == "exit 0");
    CHECK(s.read(kKey, kBegin, kEnd) == stress::synth_bars(kSeed, 0, 300'000));
    write_range(s, 300'000, 300'100);
    CHECK(s.read_last(kKey, 1, kEnd).ts.back() == stress::synth_bars(kSeed, 300'099, 300'100).ts.back());
}

TEST_CASE("a reader killed inside a read transaction leaves no slot behind after the next open") {
    test::TempDir dir;
    { auto s = Store::open(dir.path()); write_range(s, 0, 10); }
    const auto child = stress::run_in_child([&] {
        MDB_env* env = nullptr;
        mdb_env_create(&env);
        mdb_env_set_maxdbs(env, 8);
        mdb_env_set_maxreaders(env, 1024);
        mdb_env_set_mapsize(env, 64 << 20);  // not the recorded 1 TiB: sanitizers lack the address space
        if (mdb_env_open(env, dir.path().c_str(), MDB_RDONLY | MDB_NOTLS, 0640) != 0) return 1;
        MDB_txn* txn = nullptr;
        if (mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn) != 0) return 2;
        ::raise(SIGKILL);  // dies holding the reader slot
        return 3;
    });
    REQUIRE(child.signal == SIGKILL);
    auto env = barstore::storage::open_env(dir.path(), {});  // runs mdb_reader_check
    int stale = -1;
    REQUIRE(mdb_reader_check(env->get(), &stale) == 0);
    CHECK(stale == 0);  // already cleared by the open
}

TEST_CASE("network file systems are named and refused; local ones are not") {
    using barstore::storage::network_fs_name;
    CHECK(network_fs_name(0x6969) == "NFS");
    CHECK(network_fs_name(0x517B) == "SMB");
    CHECK(network_fs_name(0xFF534D42) == "CIFS");
    CHECK(network_fs_name(0xFE534D42) == "SMB2");
    CHECK_FALSE(network_fs_name(0xEF53).has_value());     // ext4
    CHECK_FALSE(network_fs_name(0x01021994).has_value()); // tmpfs
    CHECK_FALSE(network_fs_name(0x58465342).has_value()); // xfs
}

TEST_CASE("a new store's directory is 0750 and its files 0640, whatever the umask") {
    test::TempDir dir;
    const mode_t old = ::umask(0);
    {
        auto s = Store::open(dir / "new");
        write_range(s, 0, 10);
    }
    ::umask(old);
    auto mode = [](const fs::path& p) {
        struct stat st {};
        ::stat(p.c_str(), &st);
        return st.st_mode & 07777;
    };
    CHECK(mode(dir / "new") == 0750);
    CHECK(mode(dir / "new" / "data.mdb") == 0640);
    CHECK(mode(dir / "new" / "lock.mdb") == 0640);
}

TEST_CASE("storage errors are typed by what the caller does next and name the store") {
    using barstore::storage::throw_mdb;
    const fs::path p = "/some/store";
    CHECK_THROWS_AS(throw_mdb(MDB_MAP_FULL, p, "mdb_put"), StorageFull);
    CHECK_THROWS_AS(throw_mdb(ENOSPC, p, "mdb_txn_commit"), StorageFull);
    CHECK_THROWS_AS(throw_mdb(EFBIG, p, "mdb_txn_commit"), StorageFull);
    CHECK_THROWS_AS(throw_mdb(MDB_CORRUPTED, p, "mdb_get"), CorruptData);
    CHECK_THROWS_AS(throw_mdb(MDB_PAGE_NOTFOUND, p, "mdb_get"), CorruptData);
    CHECK_THROWS_AS(throw_mdb(EACCES, p, "mdb_env_open"), barstore::IoError);
    const auto msg = message_of([&] { throw_mdb(ENOSPC, p, "mdb_txn_commit"); });
    CHECK(msg.find("/some/store: mdb_txn_commit: No space left on device") == 0);
}

// ---- writers serialise on data.mdb, not on lock.mdb ------------------------------------------------

TEST_CASE("lock.mdb deleted or replaced while a write is open: the write and the next one both survive") {
    // A holds a write transaction; lock.mdb goes; B opens the store (LMDB makes it a fresh lock
    // file with its own writer mutex) and writes. Before the fix B did not wait for A, both
    // wrote on the same base and the later commit overwrote the earlier one. With an flock on
    // data.mdb alone, B waits, but starts from its lock file's idea of the last commit, which
    // predates A's: A's commit was overwritten.
    for (const bool by_copy : {false, true}) {
        CAPTURE(by_copy);
        test::TempDir dir;
        { auto s = Store::open(dir.path()); write_range(s, 0, 100); }
        Signal a_ready, a_go;
        const pid_t a = stress::fork_child([&] {
            auto env = barstore::storage::open_env(dir.path(), {});
            barstore::storage::Txn txn(*env, false);
            const MDB_dbi meta = txn.open_db("meta", false);
            txn.put(meta, bytes("test:a"), bytes("committed"));
            a_ready.post();
            if (!a_go.wait()) return 2;
            txn.commit();
            return 0;
        });
        REQUIRE(a_ready.wait());
        swap_lock_file(dir.path(), by_copy);
        const pid_t b = stress::fork_child([&] {
            auto s = Store::open(dir.path());
            write_range(s, 0, 50, "B");
            return 0;
        });
        // Time for B to reach its write (before the fix it commits here, without waiting for A).
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        a_go.post();
        CHECK(stress::wait_child(a).describe() == "exit 0");
        CHECK(stress::wait_child(b).describe() == "exit 0");

        auto s = Store::open(dir.path(), {.read_only = true});
        CHECK(s.read(kKey, kBegin, kEnd) == stress::synth_bars(kSeed, 0, 100));
        CHECK(s.read(SeriesKey{"B", std::chrono::minutes(1)}, kBegin, kEnd) == stress::synth_bars(kSeed, 0, 50));
        const auto env = barstore::storage::open_env(dir.path(), {.read_only = true});
        barstore::storage::Txn txn(*env, true);
        const auto got = txn.get(txn.open_db("meta", false), bytes("test:a"));
        CHECK(got.has_value());
        CHECK(s.verify().empty());
    }
}

TEST_CASE("a process whose lock.mdb was replaced under it writes on top of other processes' commits") {
    // A opens the store and writes; lock.mdb goes; B commits through its new lock file; A
    // writes again. Before the fix A's lock file still named the commit before B's as the
    // last, and A's write silently replaced B's.
    for (const bool by_copy : {false, true}) {
        CAPTURE(by_copy);
        test::TempDir dir;
        Signal a_ready, a_go;
        const SeriesKey key_a{"A", std::chrono::minutes(1)}, key_b{"B", std::chrono::minutes(1)};
        const pid_t a = stress::fork_child([&] {
            auto s = Store::open(dir.path());
            write_range(s, 0, 100, "A");
            a_ready.post();
            if (!a_go.wait()) return 2;
            write_range(s, 100, 200, "A");
            // The same Store goes on reading and writing after the swap.
            if (!(s.read(key_b, kBegin, kEnd) == stress::synth_bars(kSeed, 0, 50))) return 3;
            write_range(s, 200, 300, "A");
            if (!(s.read(key_a, kBegin, kEnd) == stress::synth_bars(kSeed, 0, 300))) return 4;
            return 0;
        });
        REQUIRE(a_ready.wait());
        swap_lock_file(dir.path(), by_copy);
        CHECK(stress::run_in_child([&] {
                  auto s = Store::open(dir.path());
                  write_range(s, 0, 50, "B");
                  return 0;
              }).describe() == "exit 0");
        a_go.post();
        CHECK(stress::wait_child(a).describe() == "exit 0");
        auto s = Store::open(dir.path(), {.read_only = true});
        CHECK(s.read(key_a, kBegin, kEnd) == stress::synth_bars(kSeed, 0, 300));
        CHECK(s.read(key_b, kBegin, kEnd) == stress::synth_bars(kSeed, 0, 50));
        CHECK(s.verify().empty());
    }
}

TEST_CASE("writer threads of one process and a writer process serialise without deadlock") {
    test::TempDir dir;
    { auto s = Store::open(dir.path()); write_range(s, 0, 1); }
    const pid_t other = stress::fork_child([&] {
        auto s = Store::open(dir.path());
        for (std::size_t i = 0; i < 40; ++i) write_range(s, i * 10, (i + 1) * 10, "P");
        return 0;
    });
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t)
        writers.emplace_back([&, t] {
            auto s = Store::open(dir.path());
            for (std::size_t i = 0; i < 40; ++i) write_range(s, i * 10, (i + 1) * 10, "T" + std::to_string(t));
        });
    for (auto& w : writers) w.join();
    CHECK(stress::wait_child(other).describe() == "exit 0");
    auto s = Store::open(dir.path(), {.read_only = true});
    for (const std::string sym : {"P", "T0", "T1", "T2", "T3"}) {
        CAPTURE(sym);
        CHECK(s.read(SeriesKey{sym, std::chrono::minutes(1)}, kBegin, kEnd) == stress::synth_bars(kSeed, 0, 400));
    }
    CHECK(s.verify().empty());
}

// ---- the chunk cursor: one prefix's entries, in time order, never another's ------------------

namespace {

using i64 = std::int64_t;

/// A table key as docs/format.md lays chunk keys out, written here from the spec: the prefix,
/// then the time as big-endian with the sign bit flipped.
std::vector<std::byte> spec_key(const std::vector<std::byte>& prefix, i64 t) {
    std::vector<std::byte> k = prefix;
    const auto u = static_cast<std::uint64_t>(t) ^ (std::uint64_t{1} << 63);
    for (int b = 7; b >= 0; --b) k.push_back(static_cast<std::byte>((u >> (8 * b)) & 0xFF));
    return k;
}

std::vector<std::byte> prefix_of(std::initializer_list<int> bytes) {
    std::vector<std::byte> p;
    for (int b : bytes) p.push_back(static_cast<std::byte>(b));
    return p;
}

/// What the cursor should report: the entry's time and value, or nothing.
using Pos = std::optional<std::pair<i64, std::string>>;
Pos at(const barstore::storage::ChunkCursor& c) {
    if (!c.positioned()) return std::nullopt;
    const auto v = c.value();
    return std::pair{c.first_ts(), std::string(reinterpret_cast<const char*>(v.data()), v.size())};
}
Pos at(const std::map<i64, std::string>& m, std::map<i64, std::string>::const_iterator it) {
    if (it == m.end()) return std::nullopt;
    return *it;
}

}  // namespace

TEST_CASE("the chunk cursor walks one prefix's (prefix, time) keys like a sorted map, and no others") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    test::TempDir dir;
    auto env = barstore::storage::open_env(dir.path(), {.map_size_bytes = std::size_t{64} << 20});
    namespace storage = barstore::storage;
    constexpr i64 kMin = std::numeric_limits<i64>::min(), kMax = std::numeric_limits<i64>::max();
    for (i64 t : {kMin, i64{-1}, i64{0}, i64{12345}, kMax}) {
        const auto spec = spec_key(prefix_of({0, 0, 0, 7}), t);
        const auto k = storage::chunk_key(7, t);
        CHECK(std::vector<std::byte>(k.begin(), k.end()) == spec);
    }
    // A series id as chunks use it, and a longer (series, timeframe) prefix as aggregates will.
    for (const auto& prefix : {prefix_of({0, 0, 0, 7}), prefix_of({0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 60})}) {
        CAPTURE(prefix.size());
        std::map<i64, std::string> want;
        MDB_dbi db = 0;
        {
            storage::Txn txn(*env, false);
            db = txn.open_db(prefix.size() == 4 ? "short" : "long", true);
            // Neighbours that a bounded cursor must never report: the prefixes just below and
            // above, the prefix alone (sorting before its entries) and a longer key right after
            // its last entry.
            auto below = prefix, above = prefix;
            below.back() = static_cast<std::byte>(6);
            above.back() = static_cast<std::byte>(8);
            for (i64 t : {kMin, i64{-5}, i64{0}, i64{5}, kMax}) {
                txn.put(db, spec_key(below, t), bytes("below"));
                txn.put(db, spec_key(above, t), bytes("above"));
            }
            auto longer = spec_key(prefix, kMax);
            longer.push_back(std::byte{1});
            txn.put(db, longer, bytes("longer"));
            txn.put(db, prefix, bytes("bare"));
            std::vector<i64> times = {kMin, kMax, -1, 0, 1};
            for (int i = 0; i < 200; ++i) times.push_back(static_cast<i64>(rng() % 2001) - 1000);
            for (i64 t : times) {
                const std::string v = std::to_string(t) + " v";
                txn.put(db, spec_key(prefix, t), bytes(v));
                want[t] = v;
            }
            txn.commit();
        }
        storage::Txn txn(*env, true);
        storage::ChunkCursor cur(txn, db, prefix);
        // Forwards and backwards: every entry, in order, then nothing.
        std::vector<std::pair<i64, std::string>> fwd, back;
        for (bool ok = cur.first(); ok; ok = cur.next()) fwd.push_back(*at(cur));
        for (bool ok = cur.last(); ok; ok = cur.prev()) back.push_back(*at(cur));
        CHECK(fwd == std::vector<std::pair<i64, std::string>>(want.begin(), want.end()));
        CHECK(back == std::vector<std::pair<i64, std::string>>(want.rbegin(), want.rend()));
        // seek: the first at or after t; seek_floor: the last at or before t.
        std::vector<i64> probes = {kMin, kMin + 1, kMax - 1, kMax, -1001, 1001, 0};
        for (int i = 0; i < 300; ++i) probes.push_back(static_cast<i64>(rng() % 2201) - 1100);
        for (i64 t : probes) {
            CAPTURE(t);
            CHECK(cur.seek(t) == (want.lower_bound(t) != want.end()));
            CHECK(at(cur) == at(want, want.lower_bound(t)));
            auto floor = want.upper_bound(t);
            const Pos want_floor = floor == want.begin() ? Pos{} : at(want, std::prev(floor));
            CHECK(cur.seek_floor(t) == want_floor.has_value());
            CHECK(at(cur) == want_floor);
            // A step from there agrees with the map too.
            if (cur.positioned()) {
                auto it = want.find(cur.first_ts());
                CHECK(cur.next() == (std::next(it) != want.end()));
                CHECK(at(cur) == at(want, std::next(it)));
            }
        }
    }
}

TEST_CASE("the chunk cursor deletes a run of entries with del() then next(), and only those") {
    test::TempDir dir;
    auto env = barstore::storage::open_env(dir.path(), {.map_size_bytes = std::size_t{64} << 20});
    namespace storage = barstore::storage;
    MDB_dbi db = 0;
    {
        storage::Txn txn(*env, false);
        db = txn.open_db("chunks", true);
        for (std::uint32_t id : {1, 2, 3})
            for (i64 t = -50; t < 50; t += 5)  // values of 1000..3000 bytes: overflow pages too
                txn.put(db, storage::chunk_key(id, t), bytes(std::string(id * 1000, 'x')));
        txn.commit();
    }
    auto times_of = [&](std::uint32_t id) {
        storage::Txn txn(*env, true);
        storage::ChunkCursor cur(txn, db, storage::series_prefix(id));
        std::vector<i64> got;
        for (bool ok = cur.first(); ok; ok = cur.next()) got.push_back(cur.first_ts());
        return got;
    };
    auto all_but = [](i64 from, i64 to) {
        std::vector<i64> out;
        for (i64 t = -50; t < 50; t += 5)
            if (t < from || t >= to) out.push_back(t);
        return out;
    };
    auto remove = [&](std::uint32_t id, std::optional<i64> from, i64 to) {
        storage::Txn txn(*env, false);
        {
            storage::ChunkCursor cur(txn, db, storage::series_prefix(id));
            for (bool ok = from ? cur.seek(*from) : cur.first(); ok && cur.first_ts() < to; ok = cur.next()) cur.del();
        }
        txn.commit();
    };
    remove(2, -20, 20);  // a run inside the prefix
    CHECK(times_of(1) == all_but(0, 0));
    CHECK(times_of(2) == all_but(-20, 20));
    CHECK(times_of(3) == all_but(0, 0));
    remove(2, std::nullopt, std::numeric_limits<i64>::max());  // the whole prefix: stops at its end
    CHECK(times_of(1) == all_but(0, 0));
    CHECK(times_of(2).empty());
    CHECK(times_of(3) == all_but(0, 0));
    remove(3, std::nullopt, std::numeric_limits<i64>::max());  // the table's last entries
    CHECK(times_of(1) == all_but(0, 0));
    CHECK(times_of(3).empty());
}
