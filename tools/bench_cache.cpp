// tools/bench_cache.cpp: the resident layer's benchmark (docs/cache.md, "Figures"). Prints one JSON
// line per figure on stdout, each beside a baseline measured in the same run; progress on stderr.
// Not a test, but it checks the Reader's answers against the baseline's now and then, so that no
// figure is of a bug. The 100-symbol replay runs in a child process so its peak RSS is its own.
#include <CLI/CLI.hpp>

#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>
#include <optional>
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
    bool quick = false;
    u64 seed = kDefaultSeed;
    std::string dir;
    bool keep = false;
    std::vector<std::string> only;
    int symbols = 100;
    std::string step = "15m";
    std::string budget = "64MiB,4MiB";
    // The child half of many_symbols.
    std::string replay_child;
    i64 child_from = 0, child_to = 0;
};

const std::vector<std::string> kFigures = {"backtest_step", "aggregate_hit", "spill_rehydrate", "many_symbols"};

/// One JSON object on one line; keys and text values are ours and need no escaping.
class JsonLine {
public:
    JsonLine& text(const std::string& k, const std::string& v) { return raw(k, "\"" + v + "\""); }
    JsonLine& num(const std::string& k, double v) {
        char b[40];
        std::snprintf(b, sizeof b, "%.4g", v);
        return raw(k, std::isfinite(v) ? b : "null");
    }
    JsonLine& count(const std::string& k, u64 v) { return raw(k, std::to_string(v)); }
    JsonLine& flag(const std::string& k, bool v) { return raw(k, v ? "true" : "false"); }
    void print() { std::cout << s_ << "}\n" << std::flush; }

private:
    JsonLine& raw(const std::string& k, const std::string& v) {
        s_ += (s_.size() > 1 ? ",\"" : "\"") + k + "\":" + v;
        return *this;
    }
    std::string s_ = "{";
};

template <class T>
void keep_alive(const T& value) {
    asm volatile("" : : "g"(&value) : "memory");
}

void progress(const std::string& what) { std::cerr << "bench_cache: " << what << std::endl; }

i64 now_ns() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }

/// The q-quantile of a sample (sorted in place).
double quantile(std::vector<i64>& v, double q) {
    if (v.empty()) return 0;
    const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return static_cast<double>(v[k]);
}
double mean(const std::vector<i64>& v) {
    return v.empty() ? 0 : static_cast<double>(std::accumulate(v.begin(), v.end(), i64{0})) / static_cast<double>(v.size());
}

StoreOptions read_only() {
    StoreOptions o;
    o.read_only = true;
    return o;
}

QueryOptions last_n(Duration tf, std::size_t n, Timestamp as_of) {
    QueryOptions q;
    q.timeframe = tf;
    q.last = n;
    q.as_of = as_of;
    return q;
}

BarColumns to_columns(const std::vector<RawBar>& raw) {
    BarColumns c;
    c.reserve(raw.size());
    for (const auto& b : raw) c.push_back({Timestamp{std::chrono::seconds{b.ts_s}}, b.open, b.high, b.low, b.close, b.volume});
    return c;
}

/// The "kB" fields of /proc/self/status, in bytes.
u64 status_bytes(const char* field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    const std::string want = std::string(field) + ":";
    while (std::getline(in, line))
        if (line.rfind(want, 0) == 0) return std::stoull(line.substr(want.size())) * 1024;
    return 0;
}

u64 parse_bytes(const std::string& text) {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    std::string unit = text.substr(used);
    unit.erase(std::remove(unit.begin(), unit.end(), ' '), unit.end());
    std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const double k = unit.empty() || unit == "b" ? 1 : unit == "kib" ? 1024.0 : unit == "mib" ? 1048576.0 : unit == "gib" ? 1073741824.0
                   : unit == "kb" ? 1e3 : unit == "mb" ? 1e6 : unit == "gb" ? 1e9 : -1;
    if (k < 0) throw InvalidInput("bad byte size '" + text + "'");
    return static_cast<u64>(v * k);
}

/// A year (or, with --quick, a month) of 24x7 minutes in a store, and the same bars in RAM.
struct YearStore {
    fs::path dir;
    SeriesKey key{"SIM", std::chrono::minutes{1}};
    BarColumns bars;  // the in-RAM copy the baselines search
    std::optional<Store> store;

    YearStore(const fs::path& d, const Options& opt) : dir(d) {
        progress("generating and ingesting the 24x7 series");
        bars = to_columns(gen_24x7(opt.quick ? 1.0 / 12 : 1.0, opt.seed));
        store.emplace(Store::open(dir));
        SeriesBatch b;
        b.key = key;
        b.scale = {2, 0};
        b.bars = bars;
        store->write(std::span(&b, 1));
    }
};

// ---- backtest_step -------------------------------------------------------------------------------

void figure_backtest_step(YearStore& ys) {
    progress("backtest_step");
    const Store& store = *ys.store;
    const BarColumns& all = ys.bars;
    const BarColumns five = resample(all, 1min, 5min);
    const std::size_t n = 200;
    const i64 first = all.ts.front() + 2 * kDay, last = all.ts.back() + kMin;
    const auto steps = static_cast<std::size_t>((last - first) / kMin + 1);

    Reader r(store);
    std::vector<i64> cache_ns(steps), base_ns(steps);
    u64 checked = 0;
    for (std::size_t i = 0; i < steps; ++i) {
        const Timestamp t{Duration{first + static_cast<i64>(i) * kMin}};
        const i64 t0 = now_ns();
        const BarView m1 = r.last_bars(ys.key, 1min, n, t);
        const BarView m5 = r.last_bars(ys.key, 5min, n, t);
        const i64 t1 = now_ns();
        keep_alive(m1.close.back() + m5.close.back());
        cache_ns[i] = t1 - t0;
        if (i % 50'000 == 7) {
            // Never a figure of a bug: the two answers equal the cold path.
            const auto q1 = query(store, ys.key, last_n(1min, n, t));
            const auto q5 = query(store, ys.key, last_n(5min, n, t));
            if (!(m1.to_columns() == q1) || !(m5.to_columns() == q5))
                throw std::runtime_error("backtest_step: reader answer differs from query() at step " + std::to_string(i));
            ++checked;
        }
    }
    const ReaderStats st = r.stats();

    // Baseline: everything already in RAM (1m bars and 5m bins), binary search, copy the bars.
    BarColumns out1, out5;
    for (auto* c : {&out1, &out5}) c->reserve(n);
    auto copy_last = [&](const BarColumns& src, std::size_t end, BarColumns& dst) {
        const std::size_t a = end - std::min(end, n);
        dst.clear();
        dst.append(src, a, end);
    };
    for (std::size_t i = 0; i < steps; ++i) {
        const i64 t = first + static_cast<i64>(i) * kMin;
        const i64 t0 = now_ns();
        const auto e1 = static_cast<std::size_t>(std::lower_bound(all.ts.begin(), all.ts.end(), t - kMin + 1) - all.ts.begin());
        copy_last(all, e1, out1);
        const auto e5 = static_cast<std::size_t>(std::upper_bound(five.ts.begin(), five.ts.end(), t - 5 * kMin) - five.ts.begin());
        copy_last(five, e5, out5);
        const i64 t1 = now_ns();
        keep_alive(out1.close.back() + out5.close.back());
        base_ns[i] = t1 - t0;
    }
    const double med = quantile(cache_ns, 0.5), p99 = quantile(cache_ns, 0.99), base_med = quantile(base_ns, 0.5);
    JsonLine j;
    j.text("figure", "backtest_step").count("steps", steps).count("bars_per_request", n)
        .num("step_ns_median", med).num("step_ns_p99", p99).num("step_ns_mean", mean(cache_ns))
        .num("step_ns_max", quantile(cache_ns, 1.0))
        .text("baseline", "in-RAM 1m bars and 5m bins: binary search + copy 200 of each")
        .num("baseline_ns_median", base_med).num("baseline_ns_p99", quantile(base_ns, 0.99))
        .num("ratio_median", med / base_med).num("target_median_ns", 2000).flag("meets_target", med <= 2000)
        .flag("within_2x_of_baseline", med <= 2 * base_med).count("hits", st.hits).count("misses", st.misses)
        .count("store_reads", st.store_reads).count("peak_resident_bytes", st.peak_resident_bytes)
        .count("checked_steps", checked);
    j.text("note", "each step: last 200 1m bars + last 200 5m bars as of consecutive minutes; timed with steady_clock per step").print();
}

// ---- aggregate_hit -------------------------------------------------------------------------------

void figure_aggregate_hit(YearStore& ys, const Options& opt) {
    progress("aggregate_hit");
    const Store& store = *ys.store;
    const std::size_t n = 200, reps = opt.quick ? 200'000 : 2'000'000, batch = 1000;
    const Timestamp t{Duration{ys.bars.ts[ys.bars.size() / 2]}};
    Reader r(store);
    r.last_bars(ys.key, 5min, n, t);  // built once; every call below is a hit
    std::vector<i64> per_call;
    for (std::size_t k = 0; k < reps / batch; ++k) {
        const i64 t0 = now_ns();
        for (std::size_t i = 0; i < batch; ++i) keep_alive(r.last_bars(ys.key, 5min, n, t).close.back());
        per_call.push_back((now_ns() - t0) / static_cast<i64>(batch));
    }
    // Stepping: one new base bar folded per call (the 1h entry extended a minute at a time).
    Reader rs(store);
    const i64 t_step = t.time_since_epoch().count();
    rs.last_bars(ys.key, 1h, n, t);
    std::vector<i64> step_call;
    for (std::size_t k = 0; k < reps / batch / 10; ++k) {
        const i64 t0 = now_ns();
        for (std::size_t i = 0; i < batch; ++i) {
            const Timestamp ti{Duration{t_step + static_cast<i64>(k * batch + i + 1) * kMin}};
            keep_alive(rs.last_bars(ys.key, 1h, n, ti).close.back());
        }
        step_call.push_back((now_ns() - t0) / static_cast<i64>(batch));
    }
    // Baseline: the same 200 bins copied out of an in-RAM vector after a binary search.
    const BarColumns five = resample(ys.bars, 1min, 5min);
    BarColumns out;
    out.reserve(n);
    std::vector<i64> base;
    for (std::size_t k = 0; k < reps / batch; ++k) {
        const i64 t0 = now_ns();
        for (std::size_t i = 0; i < batch; ++i) {
            const auto e = static_cast<std::size_t>(
                std::upper_bound(five.ts.begin(), five.ts.end(), t.time_since_epoch().count() - 5 * kMin) - five.ts.begin());
            out.clear();
            out.append(five, e - n, e);
            keep_alive(out.close.back());
        }
        base.push_back((now_ns() - t0) / static_cast<i64>(batch));
    }
    const auto st = r.stats();
    const double med = quantile(per_call, 0.5);
    JsonLine j;
    j.text("figure", "aggregate_hit").count("calls", reps).num("call_ns_median", med).num("target_ns", 1000)
        .flag("meets_target", med <= 1000).num("extend_one_bar_call_ns_median", quantile(step_call, 0.5))
        .text("baseline", "in-RAM 5m bins: binary search + copy 200").num("baseline_ns_median", quantile(base, 0.5))
        .count("hits", st.hits).count("misses", st.misses);
    j.text("note", "last 200 5m bars at one as-of, repeated; medians over batches of 1000 calls").print();
}

// ---- spill_rehydrate -----------------------------------------------------------------------------

void figure_spill_rehydrate(YearStore& ys, const Workspace& ws, const Options& opt) {
    progress("spill_rehydrate");
    const Store& store = *ys.store;
    const Timestamp t{Duration{ys.bars.ts[ys.bars.size() * 3 / 4]}};
    struct Case {
        const char* name;
        Duration tf;
        std::size_t n;
    };
    const Case cases[] = {{"5m x 200", 5min, 200}, {"1h x 200", 1h, 200}, {"1h x 2000", 1h, 2000},
                          {"1d x 200", 24h, 200}, {"1m x 5000 (raw window)", 1min, 5000}};
    const int reps = opt.quick ? 5 : 25;
    for (const auto& c : cases) {
        if (opt.quick && c.tf == 24h) continue;  // a month has no 200 days
        const fs::path dir = ws.dir() / ("spill-" + std::to_string(c.tf.count()) + "-" + std::to_string(c.n));
        ReaderOptions so;
        so.spill_dir = dir;
        Reader with_spill(store, so), without(store);
        const BarColumns want = with_spill.last_bars(ys.key, c.tf, c.n, t).to_columns();
        std::vector<i64> rehydrate, rebuild;
        for (int k = 0; k < reps; ++k) {
            with_spill.clear();  // the first clear writes it; later ones find the clean copy there
            i64 t0 = now_ns();
            const BarView a = with_spill.last_bars(ys.key, c.tf, c.n, t);
            rehydrate.push_back(now_ns() - t0);
            if (!(a.to_columns() == want)) throw std::runtime_error("spill_rehydrate: re-hydrated entry differs");
            without.clear();
            t0 = now_ns();
            const BarView b = without.last_bars(ys.key, c.tf, c.n, t);
            rebuild.push_back(now_ns() - t0);
            if (!(b.to_columns() == want)) throw std::runtime_error("spill_rehydrate: rebuilt entry differs");
        }
        const auto st = with_spill.stats();
        if (st.spill_hits != static_cast<u64>(reps)) throw std::runtime_error("spill_rehydrate: expected a spill hit per rep");
        const double re = quantile(rehydrate, 0.5), rb = quantile(rebuild, 0.5);
        JsonLine j;
        j.text("figure", "spill_rehydrate").text("entry", c.name).count("rows", want.size())
            .num("rehydrate_ns_median", re).text("baseline", "evicted without spill: re-read from the store and re-aggregate")
            .num("baseline_ns_median", rb).num("speedup", rb / re).flag("meets_10x", rb >= 10 * re)
            .count("spill_value_bytes", st.spill_bytes).count("resident_bytes", st.resident_bytes)
            .text("note", "median of " + std::to_string(reps) + " evict/re-request rounds").print();
    }
}

// ---- many_symbols ---------------------------------------------------------------------------------

std::string sym_name(int i) {
    char b[16];
    std::snprintf(b, sizeof b, "S%03d", i);
    return b;
}

/// The child: replays the store and prints the figure. Its own process, so VmHWM is the replay's.
int replay_child(const Options& opt) {
    const Store store = Store::open(opt.replay_child, read_only());
    ReaderOptions ro;
    ro.budget_bytes = parse_bytes(opt.budget);
    ro.spill_dir = fs::path(opt.replay_child) / "spill";
    Reader r(store, ro);
    const i64 step = parse_timeframe(opt.step).count();
    const std::vector<Duration> tfs = {1min, 5min, 1h};
    const std::size_t n = 200;
    std::vector<SeriesKey> keys;
    for (int i = 0; i < opt.symbols; ++i) keys.push_back({sym_name(i), 1min});
    std::vector<i64> step_ns;
    u64 over_budget = 0, max_resident = 0, requests = 0, bars = 0;
    for (i64 t = opt.child_from; t <= opt.child_to; t += step) {
        const i64 t0 = now_ns();
        for (const auto& k : keys)
            for (const auto tf : tfs) {
                const BarView v = r.last_bars(k, tf, n, Timestamp{Duration{t}});
                bars += v.size();
                ++requests;
                const u64 res = r.stats().resident_bytes;
                max_resident = std::max(max_resident, res);
                if (res > ro.budget_bytes) ++over_budget;
            }
        step_ns.push_back(now_ns() - t0);
    }
    // One answer of each timeframe checked against the cold path at the end.
    for (const auto tf : tfs) {
        const Timestamp t{Duration{opt.child_to}};
        if (!(r.last_bars(keys.back(), tf, n, t).to_columns() == query(store, keys.back(), last_n(tf, n, t))))
            throw std::runtime_error("many_symbols: reader answer differs from query()");
    }
    const auto st = r.stats();
    const double per_request = mean(step_ns) / static_cast<double>(keys.size() * tfs.size());
    JsonLine j;
    j.text("figure", "many_symbols").count("symbols", keys.size()).text("timeframes", "1m,5m,1h").count("bars_per_request", n)
        .text("step", opt.step).count("steps", step_ns.size()).count("requests", requests).count("bars_returned", bars)
        .count("budget_bytes", ro.budget_bytes).count("max_resident_bytes", max_resident)
        .count("peak_resident_bytes", st.peak_resident_bytes).count("calls_over_budget", over_budget)
        .flag("never_over_budget", over_budget == 0 && max_resident <= ro.budget_bytes)
        .count("peak_rss_bytes", status_bytes("VmHWM")).count("rss_anon_bytes_end", status_bytes("RssAnon"))
        .count("rss_file_bytes_end", status_bytes("RssFile"))
        .num("step_ns_median", quantile(step_ns, 0.5)).num("step_ns_p99", quantile(step_ns, 0.99))
        .num("request_ns_mean", per_request).count("hits", st.hits).count("misses", st.misses)
        .count("evictions", st.evictions).count("trims", st.trims).count("spills", st.spills)
        .count("spill_hits", st.spill_hits).count("spill_evictions", st.spill_evictions)
        .count("spill_errors", st.spill_errors).count("spill_bytes", st.spill_bytes).count("store_reads", st.store_reads)
        .num("spill_hit_rate", st.misses ? static_cast<double>(st.spill_hits) / static_cast<double>(st.misses) : 0.0)
        .text("note", "spill_hit_rate = misses served from the spill / all misses; peak_rss includes store pages "
                      "mapped by LMDB (rss_file), the heap is rss_anon")
        .print();
    return 0;
}

void figure_many_symbols(const Workspace& ws, const Options& opt) {
    const int symbols = opt.quick ? std::min(opt.symbols, 10) : opt.symbols;
    progress("many_symbols: generating and ingesting " + std::to_string(symbols) + " symbols");
    const fs::path dir = ws.dir() / "many";
    i64 first = 0, last = 0;
    {
        Store store = Store::open(dir);
        for (int i = 0; i < symbols; ++i) {
            SeriesBatch b;
            b.key = {sym_name(i), std::chrono::minutes{1}};
            b.scale = {2, 0};
            b.bars = to_columns(gen_24x7(opt.quick ? 1.0 / 12 : 1.0, opt.seed + static_cast<u64>(i)));
            first = b.bars.ts.front();
            last = b.bars.ts.back();
            store.write(std::span(&b, 1));
            if (i % 10 == 9) progress("  " + std::to_string(i + 1) + " symbols");
        }
    }
    // The budget the issue names, and a tight one under which entries are evicted and spilled.
    std::vector<std::string> budgets;
    for (std::size_t at = 0; at <= opt.budget.size();) {
        const std::size_t comma = std::min(opt.budget.find(',', at), opt.budget.size());
        if (comma > at) budgets.push_back(opt.budget.substr(at, comma - at));
        at = comma + 1;
    }
    const std::string self = fs::read_symlink("/proc/self/exe").string();
    for (const auto& budget : budgets) {
        progress("many_symbols: replay with budget " + budget + " in a child process");
        fs::remove_all(dir / "spill");
        std::vector<std::string> args = {self, "--replay-child", dir.string(), "--symbols", std::to_string(symbols),
                                         "--step", opt.step, "--budget", budget,
                                         "--child-from", std::to_string(first + 2 * kDay), "--child-to", std::to_string(last + kMin)};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_t pid = 0;
        if (::posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv.data(), environ) != 0)
            throw std::runtime_error("cannot start the replay child");
        int status = 0;
        ::waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            throw std::runtime_error("the replay child failed (" +
                                     (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                                          : "exit " + std::to_string(WEXITSTATUS(status))) + ")");
    }
}

}  // namespace

}  // namespace barstore::tools

int main(int argc, char** argv) {
    using namespace barstore::tools;
    Options opt;
    CLI::App app{"bench_cache: the resident layer's figures as JSON lines (docs/cache.md)"};
    app.add_flag("--quick", opt.quick, "A month instead of a year, 10 symbols: a smoke run");
    app.add_option("--seed", opt.seed, "Generator seed");
    app.add_option("--dir", opt.dir, "Work directory (default: a fresh temporary one)");
    app.add_flag("--keep", opt.keep, "Keep the work directory");
    app.add_option("--only", opt.only, "Figures to run (prefixes of: backtest_step, aggregate_hit, spill_rehydrate, many_symbols)");
    app.add_option("--symbols", opt.symbols, "many_symbols: how many symbols");
    app.add_option("--step", opt.step, "many_symbols: replay step");
    app.add_option("--budget", opt.budget, "many_symbols: the Reader's budgets, comma-separated (default 64MiB,4MiB)");
    app.add_option("--replay-child", opt.replay_child)->group("");
    app.add_option("--child-from", opt.child_from)->group("");
    app.add_option("--child-to", opt.child_to)->group("");
    CLI11_PARSE(app, argc, argv);
    try {
        if (!opt.replay_child.empty()) return replay_child(opt);
        auto wanted = [&](const std::string& f) {
            if (opt.only.empty()) return true;
            return std::any_of(opt.only.begin(), opt.only.end(), [&](const std::string& p) { return f.rfind(p, 0) == 0; });
        };
        Workspace ws("bench_cache", opt.dir, opt.keep);
        if (wanted("backtest_step") || wanted("aggregate_hit") || wanted("spill_rehydrate")) {
            YearStore ys(ws.dir() / "year", opt);
            if (wanted("backtest_step")) figure_backtest_step(ys);
            if (wanted("aggregate_hit")) figure_aggregate_hit(ys, opt);
            if (wanted("spill_rehydrate")) figure_spill_rehydrate(ys, ws, opt);
        }
        if (wanted("many_symbols")) figure_many_symbols(ws, opt);
    } catch (const std::exception& e) {
        std::cerr << "bench_cache: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
