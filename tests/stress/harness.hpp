// tests/stress/harness.hpp: what the storage and stress tests share: deterministic synthetic
// bars (any bar computable from its index alone, so a reader can check what a writer wrote),
// child processes (fork, spawn, wait with a timeout) and figures (percentiles, one-line output).
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "barstore/ingest.hpp"
#include "barstore/store.hpp"
#include "support/time.hpp"

namespace stress {

inline std::uint64_t mix(std::uint64_t x) {  // splitmix64's finaliser
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/// Bar i of the synthetic series `seed`: 1-minute bars from 2020-01-01, every invariant held.
inline barstore::Bar synth_bar(std::uint64_t seed, std::size_t i) {
    const std::uint64_t h = mix(seed * 0x100000001B3ull ^ i);
    const std::int64_t open = 1'000'000 + static_cast<std::int64_t>(h % 5000);
    const std::int64_t close = 1'000'000 + static_cast<std::int64_t>((h >> 13) % 5000);
    barstore::Bar b;
    b.ts = barstore::Timestamp{barstore::Duration{1'577'836'800'000'000'000LL + static_cast<std::int64_t>(i) * test::kMin}};
    b.open = open;
    b.close = close;
    b.high = std::max(open, close) + static_cast<std::int64_t>((h >> 26) % 64);
    b.low = std::min(open, close) - static_cast<std::int64_t>((h >> 32) % 64);
    b.volume = static_cast<std::int64_t>((h >> 40) % 100000);
    return b;
}

inline barstore::BarColumns synth_bars(std::uint64_t seed, std::size_t first, std::size_t last) {
    barstore::BarColumns c;
    c.reserve(last - first);
    for (std::size_t i = first; i < last; ++i) c.push_back(synth_bar(seed, i));
    return c;
}

inline barstore::SeriesBatch synth_batch(const std::string& symbol, std::uint64_t seed, std::size_t first,
                                         std::size_t last) {
    barstore::SeriesBatch b;
    b.key = barstore::SeriesKey{symbol, std::chrono::minutes(1)};
    b.scale = barstore::Scale{2, 0};
    b.bars = synth_bars(seed, first, last);
    return b;
}

/// Index of the synthetic bar at `ts`.
inline std::size_t synth_index(std::int64_t ts_ns) {
    return static_cast<std::size_t>((ts_ns - 1'577'836'800'000'000'000LL) / test::kMin);
}

/// Runs `fn` in a forked child; the child's exit status is fn's return value (an exception is
/// status 99). The child leaves with _exit: no atexit handlers, no doctest teardown.
inline pid_t fork_child(const std::function<int()>& fn) {
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
        std::perror("fork");
        std::abort();
    }
    if (pid == 0) {
        int rc = 99;
        try {
            rc = fn();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "child: %s\n", e.what());
        } catch (...) {
        }
        std::fflush(nullptr);
        ::_exit(rc);
    }
    return pid;
}

/// What became of a child process.
struct Outcome {
    bool exited = false;  ///< else killed by `signal`
    int code = -1;
    int signal = 0;
    std::string describe() const {
        return exited ? "exit " + std::to_string(code) : "signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
    }
};

inline Outcome wait_child(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    Outcome o;
    o.exited = WIFEXITED(status);
    o.code = o.exited ? WEXITSTATUS(status) : -1;
    o.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    return o;
}

inline Outcome run_in_child(const std::function<int()>& fn) { return wait_child(fork_child(fn)); }

/// Starts `argv` with stdout and stderr appended to `out_file` (or /dev/null if empty).
inline pid_t spawn(const std::vector<std::string>& argv, const std::string& out_file = {}) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int fd = ::open(out_file.empty() ? "/dev/null" : out_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
        }
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    return pid;
}

inline Outcome run(const std::vector<std::string>& argv, const std::string& out_file = {}) {
    return wait_child(spawn(argv, out_file));
}

inline std::uint64_t env_u64(const char* name, std::uint64_t fallback) {
    const char* s = std::getenv(name);
    return s && *s ? std::strtoull(s, nullptr, 10) : fallback;
}

/// The q-quantile (0..1) of the samples, by nearest rank.
inline double quantile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// The built CLI, passed by meson as BARSTORE_EXE.
inline std::string barstore_exe() {
    const char* s = std::getenv("BARSTORE_EXE");
    return s ? s : "build/cli/barstore";
}

}  // namespace stress
