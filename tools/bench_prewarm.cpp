// tools/bench_prewarm.cpp: the figures of prewarmed aggregates (issue 12; docs/reliability.md,
// "Prewarm figures"): prewarm throughput, a fresh process's first request, the memory of parallel
// replays and the cost of an append. Each is one `FIGURE prewarm` line beside a baseline measured
// in the same run; progress goes to stderr. Fresh processes are this binary re-executed in a
// child mode, so what they time and sample is theirs alone.
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "barstore/barstore.hpp"
#include "gen_bars.hpp"
#include "workspace.hpp"

extern char** environ;

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace barstore::tools {

namespace {

using Clock = std::chrono::steady_clock;
using i64 = std::int64_t;
using u64 = std::uint64_t;
constexpr i64 kMin = 60'000'000'000, kDay = 1440 * kMin;

struct Options {
    double years = 10;
    u64 seed = kDefaultSeed;
    std::string dir;
    bool keep = false;
    std::vector<std::string> only;
    int reps = 5;
    unsigned threads = 0;
    // memory: the 100-symbol store and its replays
    int symbols = 100;
    double months = 2;
    int processes = 8;
    std::string replay_step = "1h", replay_timeframes = "15m,1h,4h";
    // child modes (hidden): re-executions of this binary
    std::string first_request_child, replay_child;
    i64 as_of_ns = 0, from_ns = 0, to_ns = 0;
};

const std::vector<std::string> kFigures = {"throughput", "first_request", "memory", "append"};

const std::vector<Duration> kTimeframes = {5min, 15min, 30min, 1h, 2h, 4h, 24h};

std::vector<AggregateSpec> seven_specs() {
    std::vector<AggregateSpec> s;
    for (const auto tf : kTimeframes) s.push_back({tf, Alignment::utc});
    return s;
}

void progress(const std::string& what) { std::cerr << "bench_prewarm: " << what << std::endl; }

i64 now_ns() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

std::string fmt(const char* f, double v) {
    char b[64];
    std::snprintf(b, sizeof b, f, v);
    return b;
}

/// Milliseconds with three significant figures or so, for the FIGURE lines.
std::string ms(double ns) { return fmt(ns < 1e6 ? "%.3f ms" : ns < 1e8 ? "%.2f ms" : "%.0f ms", ns / 1e6); }
std::string mib(double bytes) { return fmt("%.1f MiB", bytes / 1048576.0); }

BarColumns to_columns(const std::vector<RawBar>& raw, std::size_t first, std::size_t last) {
    BarColumns c;
    c.reserve(last - first);
    for (std::size_t i = first; i < last; ++i) {
        const auto& b = raw[i];
        c.push_back({Timestamp{std::chrono::seconds{b.ts_s}}, b.open, b.high, b.low, b.close, b.volume});
    }
    return c;
}

SeriesBatch batch_of(const SeriesKey& key, BarColumns bars) {
    SeriesBatch b;
    b.key = key;
    b.scale = {2, 0};
    b.bars = std::move(bars);
    return b;
}

/// Order-sensitive checksum of answers, so that a child's answers can be compared with another's.
struct Checksum {
    u64 h = 0x243F6A8885A308D3ull;
    void add(u64 v) {
        v ^= v >> 33;
        v *= 0xFF51AFD7ED558CCDull;
        v ^= v >> 33;
        h = (h ^ v) * 0x100000001B3ull + 0x9E3779B97F4A7C15ull;
    }
    template <class Cols>
    void add_bars(const Cols& b) {
        add(b.size());
        for (std::size_t i = 0; i < b.size(); ++i)
            for (const i64 v : {b.ts[i], b.open[i], b.high[i], b.low[i], b.close[i], b.volume[i]}) add(static_cast<u64>(v));
    }
};

/// One field ("Pss:", "Pss_Anon:", ...) of /proc/self/smaps_rollup, in bytes.
u64 smaps_rollup_bytes(const std::string& text, const std::string& field) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1)) * 1024;
    return 0;
}

/// A `key=value` field of a child's line.
std::string field(const std::string& line, const std::string& key) {
    const auto at = line.find(key + "=");
    if (at == std::string::npos) throw std::runtime_error("child output lacks " + key + ": " + line);
    const auto end = line.find(' ', at);
    return line.substr(at + key.size() + 1, end == std::string::npos ? std::string::npos : end - at - key.size() - 1);
}

/// This binary re-executed with `args`, its stdin and stdout on pipes (fresh process: its own
/// page tables, heap and LMDB environment; only the page cache is shared).
struct Child {
    pid_t pid = 0;
    FILE* out = nullptr;  // the child's stdout
    int in_fd = -1;       // the child's stdin
    static Child start(const std::vector<std::string>& args) {
        const std::string self = fs::read_symlink("/proc/self/exe").string();
        std::vector<std::string> all = {self};
        all.insert(all.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : all) argv.push_back(a.data());
        argv.push_back(nullptr);
        int to_child[2], from_child[2];
        // Close-on-exec, so that a child holds no end of its siblings' pipes (dup2 onto 0 and 1
        // clears the flag on its own): else a child waiting for its stdin's EOF never sees it.
        if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
        posix_spawn_file_actions_t fa;
        ::posix_spawn_file_actions_init(&fa);
        ::posix_spawn_file_actions_adddup2(&fa, to_child[0], 0);
        ::posix_spawn_file_actions_adddup2(&fa, from_child[1], 1);
        for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1]}) ::posix_spawn_file_actions_addclose(&fa, fd);
        Child c;
        std::fflush(nullptr);
        const int rc = ::posix_spawn(&c.pid, self.c_str(), &fa, nullptr, argv.data(), environ);
        ::posix_spawn_file_actions_destroy(&fa);
        ::close(to_child[0]);
        ::close(from_child[1]);
        if (rc != 0) throw std::runtime_error("cannot start a child process");
        c.in_fd = to_child[1];
        c.out = ::fdopen(from_child[0], "r");
        return c;
    }
    std::string line() {
        char buf[4096];
        if (!std::fgets(buf, sizeof buf, out)) throw std::runtime_error("a child ended without its line");
        std::string s(buf);
        if (!s.empty() && s.back() == '\n') s.pop_back();
        return s;
    }
    void go() {
        if (::write(in_fd, "g", 1) != 1) throw std::runtime_error("cannot signal a child");
    }
    void finish() {
        ::close(in_fd);
        std::fclose(out);
        int status = 0;
        ::waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("a child process failed");
    }
};

// ---- the long series: two stores of the same bars, one prewarmed --------------------------------

struct LongSeries {
    SeriesKey key{"SIM", std::chrono::minutes{1}};
    std::vector<RawBar> raw;  // `years` of minutes, then the days the append figure adds
    std::size_t base_rows = 0;
    fs::path pre_dir, plain_dir;
    i64 first_ns = 0;
};

LongSeries make_long_series(const Workspace& ws, const Options& opt) {
    LongSeries ls;
    const int extra_days = opt.reps * 2 + 2;  // the append figure's days, warm-up included
    progress("generating " + fmt("%.2f", opt.years) + " years of 24x7 minutes");
    ls.raw = gen_24x7(opt.years + extra_days / 365.25, opt.seed);
    ls.base_rows = static_cast<std::size_t>(std::llround(opt.years * 365.25 * 1440));
    ls.first_ns = ls.raw.front().ts_s * 1'000'000'000;
    ls.pre_dir = ws.dir() / "prewarmed";
    ls.plain_dir = ws.dir() / "plain";
    const BarColumns bars = to_columns(ls.raw, 0, ls.base_rows);
    for (const auto& d : {ls.pre_dir, ls.plain_dir}) {
        progress("ingesting " + std::to_string(ls.base_rows) + " bars into " + d.filename().string());
        Store s = Store::open(d);
        const SeriesBatch b = batch_of(ls.key, bars);
        s.write(std::span(&b, 1));
    }
    return ls;
}

// ---- 1. throughput -------------------------------------------------------------------------------

/// The baseline: the seven aggregations of bars already in RAM, one pass, seven current bins.
/// A bar inside a bin's [label, end) is folded in; only a bar past the end opens the next bin
/// (and pays the division), as a plain hand-written loop would. The bars' ts are >= 0.
std::vector<BarColumns> aggregate_in_ram(const BarColumns& bars) {
    constexpr std::size_t kTfs = 7;
    struct Current {
        i64 tf_ns = 0, end_ns = std::numeric_limits<i64>::min();  // the first bar opens a bin
        Bar bin;
    };
    std::array<Current, kTfs> cur;
    for (std::size_t k = 0; k < kTfs; ++k) cur[k].tf_ns = kTimeframes[k].count();
    std::vector<BarColumns> out(kTfs);
    for (std::size_t i = 0; i < bars.size(); ++i) {
        const i64 ts = bars.ts[i], open = bars.open[i], high = bars.high[i], low = bars.low[i];
        const i64 close = bars.close[i], volume = bars.volume[i];
        for (std::size_t k = 0; k < kTfs; ++k) {
            Current& c = cur[k];
            if (ts < c.end_ns) {
                c.bin.high = std::max(c.bin.high, high);
                c.bin.low = std::min(c.bin.low, low);
                c.bin.close = close;
                c.bin.volume += volume;
            } else {
                if (i > 0) out[k].push_back(c.bin);
                const i64 label = ts - ts % c.tf_ns;
                c.end_ns = label + c.tf_ns;
                c.bin = {Timestamp{Duration{label}}, open, high, low, close, volume};
            }
        }
    }
    if (bars.size() > 0)
        for (std::size_t k = 0; k < kTfs; ++k) out[k].push_back(cur[k].bin);
    return out;
}

void figure_throughput(LongSeries& ls, const Options& opt) {
    progress("throughput: prewarm vs in-RAM aggregation, " + std::to_string(opt.reps) + " rounds");
    const auto specs = seven_specs();
    const BarColumns bars = to_columns(ls.raw, 0, ls.base_rows);
    std::vector<double> one_thread, many_threads, baseline;
    std::vector<BarColumns> in_ram;
    Store store = Store::open(ls.pre_dir);
    for (int r = 0; r < opt.reps; ++r) {
        for (const unsigned threads : {1u, opt.threads}) {
            store.drop_prewarmed(ls.key);
            const i64 t0 = now_ns();
            const PrewarmOutcome o = store.prewarm(ls.key, specs, PrewarmOptions{.threads = threads});
            const i64 t1 = now_ns();
            if (o.base_bars != ls.base_rows) throw std::runtime_error("prewarm folded an unexpected number of bars");
            (threads == 1 ? one_thread : many_threads).push_back(static_cast<double>(t1 - t0));
        }
        const i64 t0 = now_ns();
        in_ram = aggregate_in_ram(bars);
        baseline.push_back(static_cast<double>(now_ns() - t0));
    }
    // Never a figure of a bug: what the store holds equals the baseline's bins.
    const auto gen = store.info_fast(ls.key)->generation;
    for (std::size_t k = 0; k < specs.size(); ++k) {
        BarColumns stored;
        const bool served = store.scan_prewarmed(ls.key, specs[k], gen, Timestamp::min(), Timestamp::max(),
                                                 [&](const BarColumns& p) { stored.append(p, 0, p.size()); });
        if (!served || !(stored == in_ram[k]))
            throw std::runtime_error("throughput: prewarmed " + format_timeframe(kTimeframes[k]) + " differs from the baseline");
    }
    const double p1 = median(one_thread), pn = median(many_threads), b = median(baseline);
    const double n = static_cast<double>(ls.base_rows);
    std::printf("FIGURE prewarm throughput: %zu 1m bars (%.2f years 24x7) to 5m,15m,30m,1h,2h,4h,1d, committed: "
                "prewarm %s = %.2f M base bars/s on 1 thread, %s = %.2f M/s with threads=%u; baseline (the same seven "
                "aggregations of the bars in RAM, one pass) %s = %.2f M/s; ratio prewarm/baseline %.2f (1 thread), "
                "%.2f (threads=%u); target <= 1.5: %s; medians of %d rounds, bins checked equal\n",
                ls.base_rows, opt.years, ms(p1).c_str(), n / p1 * 1e3, ms(pn).c_str(), n / pn * 1e3, opt.threads,
                ms(b).c_str(), n / b * 1e3, p1 / b, pn / b, opt.threads, std::min(p1, pn) / b <= 1.5 ? "met" : "NOT met",
                opt.reps);
    std::fflush(stdout);
}

// ---- 2. first request of a fresh process ---------------------------------------------------------

/// The child: opens the store and asks the two questions, timing both; prints what it found.
int first_request_child(const Options& opt) {
    const Timestamp as_of{Duration{opt.as_of_ns}};
    const SeriesKey key{"SIM", std::chrono::minutes{1}};
    const i64 t0 = now_ns();
    const Store store = Store::open(opt.first_request_child, StoreOptions{.read_only = true});
    const i64 t1 = now_ns();
    QueryOptions q;
    q.last = 200;
    q.as_of = as_of;
    q.timeframe = 1h;
    const BarColumns h = query(store, key, q);
    q.timeframe = 24h;
    const BarColumns d = query(store, key, q);
    const i64 t2 = now_ns();
    Checksum sum;
    sum.add_bars(h);
    sum.add_bars(d);
    std::printf("ns=%lld open_ns=%lld rows=%zu checksum=%016llx\n", static_cast<long long>(t2 - t0),
                static_cast<long long>(t1 - t0), h.size() + d.size(), static_cast<unsigned long long>(sum.h));
    return 0;
}

void figure_first_request(const LongSeries& ls, const Options& opt) {
    progress("first_request: fresh processes, with and without prewarm");
    {
        Store s = Store::open(ls.pre_dir);
        s.prewarm(ls.key, seven_specs());  // current already unless --only skipped throughput
    }
    const i64 as_of = ls.first_ns + static_cast<i64>(opt.years * 0.9 * 365.25 * static_cast<double>(kDay));
    struct Side {
        fs::path dir;
        std::vector<double> ns, open_ns, wall_ns;
        std::string checksum, rows;
    };
    Side pre, plain;
    pre.dir = ls.pre_dir;
    plain.dir = ls.plain_dir;
    // Round 0 warms the page cache for both sides alike and is not counted: every counted run
    // reads pages already in memory, so the figure is the work done, not the disk.
    for (int r = 0; r <= opt.reps; ++r)
        for (Side* s : r % 2 ? std::vector<Side*>{&plain, &pre} : std::vector<Side*>{&pre, &plain}) {
            const i64 w0 = now_ns();
            Child c = Child::start({"--first-request-child", s->dir.string(), "--as-of-ns", std::to_string(as_of)});
            const std::string line = c.line();
            c.finish();
            const i64 w1 = now_ns();
            if (r == 0) continue;
            s->ns.push_back(std::stod(field(line, "ns")));
            s->open_ns.push_back(std::stod(field(line, "open_ns")));
            s->wall_ns.push_back(static_cast<double>(w1 - w0));
            s->checksum = field(line, "checksum");
            s->rows = field(line, "rows");
        }
    if (pre.checksum != plain.checksum) throw std::runtime_error("first_request: the two stores answered differently");
    const double a = median(pre.ns), b = median(plain.ns);
    std::printf("FIGURE prewarm first_request: fresh process, open store + last 200 1h + last 200 1d bars as of "
                "%.1f years in (%s bars, same checksum both sides): with prewarm %s (open %s, process wall %s), "
                "without %s (open %s, process wall %s); speedup %.1fx; target >= 20x: %s; medians of %d processes "
                "per side, page cache warm for both (one uncounted run each first)\n",
                opt.years * 0.9, pre.rows.c_str(), ms(a).c_str(), ms(median(pre.open_ns)).c_str(),
                ms(median(pre.wall_ns)).c_str(), ms(b).c_str(), ms(median(plain.open_ns)).c_str(),
                ms(median(plain.wall_ns)).c_str(), b / a, b >= 20 * a ? "met" : "NOT met", opt.reps);
    std::fflush(stdout);
}

// ---- 3. memory of parallel replays ----------------------------------------------------------------

std::string sym_name(int i) {
    char b[16];
    std::snprintf(b, sizeof b, "S%03d", i);
    return b;
}

std::vector<Duration> parse_timeframes(const std::string& text) {
    std::vector<Duration> out;
    std::stringstream in(text);
    std::string t;
    while (std::getline(in, t, ','))
        if (!t.empty()) out.push_back(parse_timeframe(t));
    return out;
}

/// The child: a replay loop through a Reader (as `barstore replay` does), then "done", then,
/// once told to, its own smaps_rollup with the Reader and the store still open.
int replay_child(const Options& opt) {
    const Store store = Store::open(opt.replay_child, StoreOptions{.read_only = true});
    Reader r(store);
    const auto tfs = parse_timeframes(opt.replay_timeframes);
    const i64 step = parse_timeframe(opt.replay_step).count();
    std::vector<SeriesKey> keys;
    for (int i = 0; i < opt.symbols; ++i) keys.push_back({sym_name(i), std::chrono::minutes{1}});
    Checksum sum;
    u64 calls = 0;
    const i64 t0 = now_ns();
    for (i64 t = opt.from_ns; t <= opt.to_ns; t += step)
        for (const auto& k : keys)
            for (const auto tf : tfs) {
                sum.add_bars(r.last_bars(k, tf, 200, Timestamp{Duration{t}}));
                ++calls;
            }
    const i64 t1 = now_ns();
    const ReaderStats rs = r.stats();
    std::printf("done calls=%llu ns=%lld checksum=%016llx store_reads=%llu raw_entries=%llu resident_bytes=%llu\n",
                static_cast<unsigned long long>(calls), static_cast<long long>(t1 - t0),
                static_cast<unsigned long long>(sum.h), static_cast<unsigned long long>(rs.store_reads),
                static_cast<unsigned long long>(rs.raw_entries), static_cast<unsigned long long>(rs.resident_bytes));
    std::fflush(stdout);
    char go = 0;
    if (::read(0, &go, 1) != 1) return 1;
    std::ifstream in("/proc/self/smaps_rollup");
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    std::printf("pss=%llu pss_anon=%llu pss_file=%llu rss=%llu\n",
                static_cast<unsigned long long>(smaps_rollup_bytes(s, "Pss")),
                static_cast<unsigned long long>(smaps_rollup_bytes(s, "Pss_Anon")),
                static_cast<unsigned long long>(smaps_rollup_bytes(s, "Pss_File")),
                static_cast<unsigned long long>(smaps_rollup_bytes(s, "Rss")));
    std::fflush(stdout);
    // Stay mapped until every replay has sampled: one that exits early leaves the others a
    // larger share of the pages they all map, which would inflate the sum.
    while (::read(0, &go, 1) > 0) {
    }
    return 0;
}

struct ReplayRun {
    double pss = 0, pss_anon = 0, pss_file = 0, rss = 0, seconds = 0;
    std::string checksum;
    bool same_checksums = true;
};

/// `n` replay children at once; each samples its smaps_rollup only when all have finished, so
/// the PSS split of shared pages is over all n of them.
ReplayRun run_replays(int n, const std::vector<std::string>& args) {
    std::vector<Child> cs;
    const i64 t0 = now_ns();
    for (int i = 0; i < n; ++i) cs.push_back(Child::start(args));
    ReplayRun out;
    for (auto& c : cs) {
        const std::string done = c.line();
        const std::string sum = field(done, "checksum");
        if (out.checksum.empty()) out.checksum = sum;
        out.same_checksums = out.same_checksums && sum == out.checksum;
    }
    out.seconds = static_cast<double>(now_ns() - t0) / 1e9;
    for (auto& c : cs) c.go();
    for (auto& c : cs) {
        const std::string m = c.line();
        out.pss += std::stod(field(m, "pss"));
        out.pss_anon += std::stod(field(m, "pss_anon"));
        out.pss_file += std::stod(field(m, "pss_file"));
        out.rss += std::stod(field(m, "rss"));
    }
    for (auto& c : cs) c.finish();  // only once all have sampled (replay_child)
    return out;
}

void figure_memory(const Workspace& ws, const Options& opt) {
    const fs::path dir = ws.dir() / "many";
    const auto rows = static_cast<std::size_t>(std::llround(opt.months / 12 * 365.25 * 1440));
    progress("memory: " + std::to_string(opt.symbols) + " symbols x " + std::to_string(rows) + " bars, prewarmed");
    i64 first = 0, last = 0;
    {
        Store store = Store::open(dir);
        const auto specs = seven_specs();
        for (int i = 0; i < opt.symbols; ++i) {
            const auto raw = gen_24x7(opt.months / 12, opt.seed + static_cast<u64>(i));
            const SeriesBatch b = batch_of({sym_name(i), std::chrono::minutes{1}}, to_columns(raw, 0, raw.size()));
            first = b.bars.ts.front();
            last = b.bars.ts.back();
            store.write(std::span(&b, 1));
            store.prewarm(b.key, specs, PrewarmOptions{.threads = opt.threads});
        }
    }
    const std::vector<std::string> args = {"--replay-child", dir.string(), "--symbols", std::to_string(opt.symbols),
                                           "--replay-timeframes", opt.replay_timeframes, "--replay-step", opt.replay_step,
                                           "--from-ns", std::to_string(first + 7 * kDay), "--to-ns", std::to_string(last + kMin)};
    progress("memory: one replay");
    run_replays(1, args);  // warms the page cache, uncounted
    const ReplayRun one = run_replays(1, args);
    progress("memory: " + std::to_string(opt.processes) + " replays in parallel");
    const ReplayRun many = run_replays(opt.processes, args);
    if (!many.same_checksums || many.checksum != one.checksum)
        throw std::runtime_error("memory: parallel replays answered differently from the single one");
    const double ratio = many.pss / one.pss;
    std::printf("FIGURE prewarm memory: %d parallel replays of %d symbols (%zu 1m bars each, 7 prewarmed timeframes), "
                "last 200 bars of %s every %s: sum of PSS %s (anon %s, file %s; sum of RSS %s) vs one replay alone %s "
                "(anon %s, file %s); ratio %.2f; target <= 2: %s; checksums equal; %.1f s for the %d, %.1f s for one\n",
                opt.processes, opt.symbols, rows, opt.replay_timeframes.c_str(), opt.replay_step.c_str(), mib(many.pss).c_str(),
                mib(many.pss_anon).c_str(), mib(many.pss_file).c_str(), mib(many.rss).c_str(), mib(one.pss).c_str(),
                mib(one.pss_anon).c_str(), mib(one.pss_file).c_str(), ratio, ratio <= 2 ? "met" : "NOT met",
                many.seconds, opt.processes, one.seconds);
    std::fflush(stdout);
}

// ---- 4. append ------------------------------------------------------------------------------------

void figure_append(LongSeries& ls, const Options& opt) {
    progress("append: one day to both stores, " + std::to_string(opt.reps) + " rounds");
    Store pre = Store::open(ls.pre_dir), plain = Store::open(ls.plain_dir);
    pre.prewarm(ls.key, seven_specs());  // current already unless --only skipped throughput
    std::vector<double> with, without;
    std::size_t at = ls.base_rows;
    for (int r = 0; r <= opt.reps; ++r) {  // round 0 warms up, uncounted
        const SeriesBatch day = batch_of(ls.key, to_columns(ls.raw, at, at + 1440));
        at += 1440;
        for (Store* s : r % 2 ? std::vector<Store*>{&plain, &pre} : std::vector<Store*>{&pre, &plain}) {
            const i64 t0 = now_ns();
            s->write(std::span(&day, 1));
            const double t = static_cast<double>(now_ns() - t0);
            if (r > 0) (s == &pre ? with : without).push_back(t);
        }
    }
    // Never a figure of a bug: the prewarmed aggregates stayed current and equal the cold path.
    const auto gen = pre.info_fast(ls.key)->generation;
    for (const auto& p : pre.prewarmed(ls.key))
        if (!p.current || p.built_generation != gen) throw std::runtime_error("append: a prewarmed aggregate is stale");
    const Timestamp end{Duration{ls.raw[at - 1].ts_s * 1'000'000'000 + kMin}};
    for (const auto tf : {1h, 24h}) {
        QueryOptions q;
        q.timeframe = tf;
        q.last = 48;
        q.to = end;  // labels before `end`, the last (maybe incomplete) bin included, as stored
        const auto stored = pre.read_last_prewarmed(ls.key, {tf, Alignment::utc}, gen, 48, end);
        if (!stored || !(*stored == query(plain, ls.key, q)))
            throw std::runtime_error("append: prewarmed " + format_timeframe(tf) + " bins differ from the cold path");
    }
    const double a = median(with), b = median(without);
    std::printf("FIGURE prewarm append: one day (1440 1m bars) appended to a %.2f-year series, committed: with 7 "
                "prewarmed timeframes %s, without %s; ratio %.2f; target <= 3: %s; medians of %d appends each, "
                "prewarmed bins checked current and equal to the cold path\n",
                opt.years, ms(a).c_str(), ms(b).c_str(), a / b, a <= 3 * b ? "met" : "NOT met", opt.reps);
    std::fflush(stdout);
}

}  // namespace

}  // namespace barstore::tools

int main(int argc, char** argv) {
    using namespace barstore::tools;
    Options opt;
    CLI::App app{"bench_prewarm: figures of prewarmed aggregates, each beside a baseline (docs/reliability.md)"};
    app.add_option("--years", opt.years, "Length of the long series (default 10; e.g. 0.25 for a smoke run)");
    app.add_option("--seed", opt.seed, "Generator seed");
    app.add_option("--dir", opt.dir, "Work directory (default: a fresh temporary one)");
    app.add_flag("--keep", opt.keep, "Keep the work directory");
    app.add_option("--only", opt.only, "Figures to run (prefixes of: throughput, first_request, memory, append)");
    app.add_option("--reps", opt.reps, "Counted rounds per figure (medians; default 5)");
    app.add_option("--threads", opt.threads, "Prewarm threads beside the 1-thread figure (default 0: one per core)");
    app.add_option("--symbols", opt.symbols, "memory: symbols (default 100)");
    app.add_option("--months", opt.months, "memory: months of bars per symbol (default 2)");
    app.add_option("--processes", opt.processes, "memory: parallel replays (default 8)");
    app.add_option("--replay-step", opt.replay_step, "memory: replay step (default 1h)");
    app.add_option("--replay-timeframes", opt.replay_timeframes, "memory: replay timeframes (default 15m,1h,4h)");
    app.add_option("--first-request-child", opt.first_request_child)->group("");
    app.add_option("--replay-child", opt.replay_child)->group("");
    app.add_option("--as-of-ns", opt.as_of_ns)->group("");
    app.add_option("--from-ns", opt.from_ns)->group("");
    app.add_option("--to-ns", opt.to_ns)->group("");
    CLI11_PARSE(app, argc, argv);
    try {
        if (!opt.first_request_child.empty()) return first_request_child(opt);
        if (!opt.replay_child.empty()) return replay_child(opt);
        if (opt.years <= 0 || opt.reps < 1 || opt.symbols < 1 || opt.months <= 0 || opt.processes < 1)
            throw barstore::InvalidInput("--years, --reps, --symbols, --months and --processes must be positive");
        auto wanted = [&](const std::string& f) {
            if (opt.only.empty()) return true;
            return std::any_of(opt.only.begin(), opt.only.end(), [&](const std::string& p) { return f.rfind(p, 0) == 0; });
        };
        Workspace ws("bench_prewarm", opt.dir, opt.keep);
        if (wanted("throughput") || wanted("first_request") || wanted("append")) {
            LongSeries ls = make_long_series(ws, opt);
            if (wanted("throughput")) figure_throughput(ls, opt);
            if (wanted("first_request")) figure_first_request(ls, opt);
            if (wanted("append")) figure_append(ls, opt);
        }
        if (wanted("memory")) figure_memory(ws, opt);
    } catch (const std::exception& e) {
        std::cerr << "bench_prewarm: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
