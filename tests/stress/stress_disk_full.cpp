// tests/stress/stress_disk_full.cpp: ingest until the disk is full (docs/reliability.md,
// "Disk full"). The store lives on an 8 MiB tmpfs mounted in a private mount namespace (as root,
// or as an unprivileged user through a user namespace); where neither is allowed, a file size
// limit (RLIMIT_FSIZE, SIGXFSZ ignored) stands in for the full disk. The CLI ingests file after
// file until one fails: the error must name the store and the cause, every earlier bar must
// read back, verify must pass, a new store on the full disk must fail cleanly (no SIGBUS), and
// once space is freed the failed file must ingest.
#include <doctest/doctest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/statvfs.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "barstore/error.hpp"
#include "barstore/store.hpp"
#include "harness.hpp"
#include "support/util.hpp"

namespace fs = std::filesystem;
using barstore::Store;
using barstore::StoreOptions;
using barstore::Timestamp;

namespace {

constexpr std::size_t kBarsPerFile = 20000;

bool write_file(const fs::path& p, const std::string& s) {
    std::ofstream f(p);
    f << s;
    return static_cast<bool>(f);
}

/// Mounts a tmpfs of `bytes` at `dir`, visible to this process and its children only.
std::string mount_small_fs(const fs::path& dir, std::size_t bytes) {
    const std::string opts = "size=" + std::to_string(bytes) + ",mode=0755";
    if (::geteuid() == 0 && ::unshare(CLONE_NEWNS) == 0 &&
        ::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
        ::mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()) == 0)
        return "tmpfs";
    const uid_t uid = ::geteuid();
    const gid_t gid = ::getegid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0) {
        write_file("/proc/self/setgroups", "deny");
        if (write_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1\n") &&
            write_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1\n") &&
            ::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
            ::mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()) == 0)
            return "tmpfs (user namespace)";
    }
    return "";
}

/// Runs argv with RLIMIT_FSIZE = limit (0: none) and SIGXFSZ ignored, output to `out`.
stress::Outcome run_limited(const std::vector<std::string>& argv, const fs::path& out, rlim_t limit) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (limit) {
            const rlimit r{limit, limit};
            ::setrlimit(RLIMIT_FSIZE, &r);
            ::signal(SIGXFSZ, SIG_IGN);
        }
        const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    return stress::wait_child(pid);
}

std::string csv_of(std::size_t first, std::size_t last) {
    std::string s = "ts,open,high,low,close,volume\n";
    char line[160];
    for (std::size_t i = first; i < last; ++i) {
        const auto b = stress::synth_bar(1, i);
        auto px = [](std::int64_t m) { return std::to_string(m / 100) + "." + std::to_string(100 + m % 100).substr(1); };
        std::snprintf(line, sizeof line, "%lld,%s,%s,%s,%s,%lld\n",
                      static_cast<long long>(b.ts.time_since_epoch().count() / 1'000'000'000), px(b.open).c_str(),
                      px(b.high).c_str(), px(b.low).c_str(), px(b.close).c_str(), static_cast<long long>(b.volume));
        s += line;
    }
    return s;
}

std::uint64_t free_bytes(const fs::path& p) {
    struct statvfs s {};
    ::statvfs(p.c_str(), &s);
    return static_cast<std::uint64_t>(s.f_bavail) * s.f_frsize;
}

/// Fills the file system at `dir` with `name`, leaving `keep` bytes free.
void fill(const fs::path& dir, const std::string& name, std::uint64_t keep) {
    const std::uint64_t f = free_bytes(dir);
    if (f <= keep) return;
    std::ofstream out(dir / name, std::ios::binary | std::ios::app);
    const std::string block(4096, 'x');
    for (std::uint64_t left = f - keep; left >= block.size() && out; left -= block.size()) out << block;
}

}  // namespace

TEST_CASE("disk full during ingest: a clean error naming the cause, earlier bars intact, ingest works after freeing") {
    test::TempDir tmp;
    const fs::path mnt = tmp / "small";
    fs::create_directory(mnt);
    const std::string how = mount_small_fs(mnt, 8u << 20);
    const bool fs_limited = !how.empty();
    const fs::path db = mnt / "db";

    std::vector<fs::path> files;
    for (std::size_t k = 0; k < 400; ++k) {
        files.push_back(tmp / ("in" + std::to_string(k) + ".csv"));
        write_file(files.back(), csv_of(k * kBarsPerFile, (k + 1) * kBarsPerFile));
        if (k == 60) break;  // enough to fill 8 MiB past the filler; more are made on demand below
    }
    auto ingest = [&](std::size_t k, rlim_t limit, const fs::path& out, const fs::path& store) {
        while (files.size() <= k) {
            files.push_back(tmp / ("in" + std::to_string(files.size()) + ".csv"));
            write_file(files.back(), csv_of((files.size() - 1) * kBarsPerFile, files.size() * kBarsPerFile));
        }
        return run_limited({stress::barstore_exe(), "ingest", "--db", store.string(), "--symbol", "SYN", "--timeframe",
                            "1m", files[k].string()},
                           out, limit);
    };
    const fs::path out = tmp / "out.txt";
    REQUIRE(ingest(0, 0, out, db).describe() == "exit 0");
    rlim_t limit = 0;
    if (fs_limited) fill(mnt, "filler", 1u << 20);  // leave 1 MiB: a few files' worth
    else limit = static_cast<rlim_t>(fs::file_size(db / "data.mdb") + (1u << 20));

    std::size_t k = 1;
    stress::Outcome failed;
    for (; k < 200; ++k) {
        failed = ingest(k, limit, out, db);
        if (failed.describe() != "exit 0") break;
    }
    const std::string error = test::read_text(out);
    CAPTURE(error);
    REQUIRE(k < 200);
    CHECK(failed.describe() == "exit 1");  // a store error, not a crash
    CHECK(error.find(db.string()) != std::string::npos);
    const bool names_cause = error.find("No space left on device") != std::string::npos ||
                             error.find("no space left on device") != std::string::npos ||
                             (!fs_limited && error.find("file size limit") != std::string::npos);
    CHECK(names_cause);

    // Every bar committed before the failure reads back; verify passes; the library says StorageFull.
    const bool verify_ok = stress::run({stress::barstore_exe(), "verify", "--db", db.string()}).describe() == "exit 0";
    CHECK(verify_ok);
    bool readable = false;
    {
        auto s = Store::open(db, StoreOptions{.read_only = true});
        readable = s.read({"SYN", std::chrono::minutes(1)}, Timestamp::min(), Timestamp::max()) ==
                   stress::synth_bars(1, 0, k * kBarsPerFile);
    }
    CHECK(readable);
    const auto typed = stress::run_in_child([&] {
        if (limit) {
            const rlimit r{limit, limit};
            ::setrlimit(RLIMIT_FSIZE, &r);
            ::signal(SIGXFSZ, SIG_IGN);
        }
        auto s = Store::open(db);
        const auto b = stress::synth_batch("SYN", 1, k * kBarsPerFile, (k + 40) * kBarsPerFile);
        try {
            s.write(std::span(&b, 1));
        } catch (const barstore::StorageFull&) {
            return 0;
        }
        return 1;
    });
    CHECK(typed.describe() == "exit 0");

    // A new store on the completely full disk fails cleanly too (LMDB's lock file is reserved
    // before LMDB writes to it through its map, which would otherwise be a SIGBUS).
    stress::Outcome fresh{true, 0, 0};
    if (fs_limited) {
        fill(mnt, "filler2", 0);
        fresh = ingest(0, 0, out, mnt / "fresh");
        CHECK(fresh.exited);
        CHECK(fresh.code == 1);
        CAPTURE(test::read_text(out));
        fs::remove(mnt / "filler2");
    }

    // Free space: the failed file goes in, and two more.
    if (fs_limited) fs::remove(mnt / "filler");
    const auto retry = ingest(k, 0, out, db);
    CHECK(retry.describe() == "exit 0");
    CHECK(ingest(k + 1, 0, out, db).describe() == "exit 0");
    CHECK(ingest(k + 2, 0, out, db).describe() == "exit 0");
    CHECK(stress::run({stress::barstore_exe(), "verify", "--db", db.string()}).describe() == "exit 0");
    auto s = Store::open(db, StoreOptions{.read_only = true});
    const bool all = s.read({"SYN", std::chrono::minutes(1)}, Timestamp::min(), Timestamp::max()) ==
                     stress::synth_bars(1, 0, (k + 3) * kBarsPerFile);
    CHECK(all);
    std::string first_line = error.substr(0, error.find('\n'));
    std::printf("FIGURE disk full: %s, %zu files (%zu bars) committed, file %zu failed with exit %d: \"%s\"; "
                "earlier bars readable: %s, verify: %s, library: %s, new store on the full disk: %s, "
                "ingest after freeing space: %s\n",
                fs_limited ? (how + " of 8 MiB").c_str() : "RLIMIT_FSIZE (no mount allowed)", k, k * kBarsPerFile, k,
                failed.code, first_line.c_str(), readable ? "yes" : "NO", verify_ok ? "ok" : "FAILED",
                typed.describe() == "exit 0" ? "StorageFull" : "WRONG TYPE",
                fs_limited ? fresh.describe().c_str() : "not tried", retry.describe() == "exit 0" && all ? "ok" : "FAILED");
}
