// cli/cmd_replay.cpp: `barstore replay`: steps through time like a backtest, asking a Reader (or,
// with --no-cache, the cold path query()) for the last N bars of every (symbol, timeframe) at each
// step, and prints per-step latency, every counter and a checksum of every bar returned, so runs
// with different budgets, with and without the cache, can be compared for equality.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <utility>

#include "cli.hpp"

namespace barstore::cli {

namespace {

using u64 = std::uint64_t;
using i64 = std::int64_t;

struct ReplayArgs {
    std::string db, symbols, timeframes, from, to, step = "1m", budget = "1GiB", spill_dir, spill_budget = "4GiB", align;
    std::size_t bars = 0, history_bars = 5000, lookahead_bars = 1000;
    // Counts are read by parse_count: CLI11 would wrap "-1" into a size_t.
    std::string bars_text, history_text, lookahead_text;
    bool no_cache = false, no_spill = false, no_spill_raw = false, json = false;
};

/// `64MiB`, `1GB`, `256KiB`, `1.5GiB`, `1048576`: binary units (KiB, MiB, GiB, TiB) are powers
/// of 1024, decimal ones (KB, MB, GB, TB) of 1000; K, M, G, T alone are binary; case-insensitive.
u64 parse_byte_size(const std::string& text) {
    auto bad = [&] {
        return InvalidInput("bad byte size '" + text + "' (e.g. 1048576, 256KiB, 64MiB, 1GiB, 1GB)");
    };
    std::size_t i = 0;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (i == 0) throw bad();
    double value = 0;
    try {
        value = std::stod(text.substr(0, i));
    } catch (const std::exception&) {
        throw bad();
    }
    std::string unit;
    for (std::size_t k = i; k < text.size(); ++k)
        if (text[k] != ' ') unit += static_cast<char>(std::tolower(static_cast<unsigned char>(text[k])));
    static const std::pair<const char*, double> kUnits[] = {
        {"", 1},           {"b", 1},          {"k", 0x1p10},     {"ki", 0x1p10},    {"kib", 0x1p10},
        {"kb", 1e3},       {"m", 0x1p20},     {"mi", 0x1p20},    {"mib", 0x1p20},   {"mb", 1e6},
        {"g", 0x1p30},     {"gi", 0x1p30},    {"gib", 0x1p30},   {"gb", 1e9},       {"t", 0x1p40},
        {"ti", 0x1p40},    {"tib", 0x1p40},   {"tb", 1e12}};
    double scale = 0;
    for (const auto& [name, factor] : kUnits)
        if (unit == name) scale = factor;
    if (scale == 0) throw bad();
    const double bytes = value * scale;
    if (!std::isfinite(bytes) || bytes >= 9.2e18) throw bad();
    return static_cast<u64>(std::llround(bytes));
}

/// Order-sensitive 64-bit checksum of every value returned (and of each answer's length, so that
/// the same bars split differently across answers differ).
struct Checksum {
    u64 h = 0x243F6A8885A308D3ull;
    static u64 mix(u64 x) {
        x ^= x >> 33;
        x *= 0xFF51AFD7ED558CCDull;
        x ^= x >> 33;
        x *= 0xC4CEB9FE1A85EC53ull;
        return x ^ (x >> 33);
    }
    void add(u64 v) { h = (h ^ mix(v)) * 0x100000001B3ull + 0x9E3779B97F4A7C15ull; }
    template <class Cols>
    void add_bars(const Cols& b) {
        add(b.size());
        for (std::size_t i = 0; i < b.size(); ++i) {
            add(static_cast<u64>(b.ts[i]));
            add(static_cast<u64>(b.open[i]));
            add(static_cast<u64>(b.high[i]));
            add(static_cast<u64>(b.low[i]));
            add(static_cast<u64>(b.close[i]));
            add(static_cast<u64>(b.volume[i]));
        }
    }
};

i64 now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double quantile(std::vector<i64> v, double q) {
    if (v.empty()) return 0;
    const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return static_cast<double>(v[k]);
}

std::string micros(double ns) {
    char b[32];
    std::snprintf(b, sizeof b, ns < 10'000 ? "%.2f us" : ns < 10'000'000 ? "%.1f us" : "%.0f us", ns / 1000);
    return b;
}

/// The one line that says the replay runs without the spill it was given, and why.
void note_spill_disabled(const ReaderStats& st) {
    std::cerr << "note: spill disabled: " << st.spill_disabled_reason << " (evicted entries are dropped; answers are the same)\n";
}

std::string hex(u64 v) {
    char b[24];
    std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
    return b;
}

void run_replay(const ReplayArgs& a) {
    if (a.bars == 0) throw InvalidInput("--bars must be at least 1");
    const auto store = Store::open(a.db, StoreOptions{.read_only = true});
    const auto symbols = split_list(a.symbols, "symbols");
    std::vector<Duration> tfs;
    for (const auto& t : split_list(a.timeframes, "timeframes")) tfs.push_back(parse_timeframe(t));
    const i64 from = parse_time(a.from).time_since_epoch().count(), to = parse_time(a.to).time_since_epoch().count();
    const i64 step = parse_timeframe(a.step).count();
    if (to < from) throw InvalidInput("--to is before --from");
    std::optional<Alignment> align;
    if (a.align == "utc") align = Alignment::utc;
    if (a.align == "session") align = Alignment::session;

    // Each (symbol, timeframe) goes to the series query would use for it.
    struct Request {
        SeriesKey key;
        Duration tf;
    };
    std::vector<Request> requests;
    for (const auto& s : symbols)
        for (const auto tf : tfs) requests.push_back({resolve_series(store, s, tf).key, tf});

    ReaderOptions ro;
    ro.budget_bytes = parse_byte_size(a.budget);
    ro.history_bars = a.history_bars;
    ro.lookahead_bars = a.lookahead_bars;
    ro.spill_budget_bytes = parse_byte_size(a.spill_budget);
    ro.spill_raw_windows = !a.no_spill_raw;
    // A snapshot is a file, often on read-only media: no DB/spill beside it unless asked for.
    if (!a.no_spill && !(a.spill_dir.empty() && store.is_snapshot()))
        ro.spill_dir = a.spill_dir.empty() ? std::filesystem::path(a.db) / "spill" : std::filesystem::path(a.spill_dir);
    std::optional<Reader> reader;
    if (!a.no_cache) reader.emplace(store, ro);  // InvalidInput (exit 2) for a directory that is not a spill's
    // Said once: here if the spill could not be opened, else at the end if it stopped working.
    const bool disabled_at_open = reader && reader->stats().spill_disabled;
    if (disabled_at_open) note_spill_disabled(reader->stats());

    Checksum sum;
    std::vector<i64> step_ns;
    u64 bars_returned = 0, calls = 0;
    for (i64 t = from; t <= to; t += step) {
        const Timestamp as_of{Duration{t}};
        i64 spent = 0;
        for (const auto& r : requests) {
            if (reader) {
                const i64 t0 = now_ns();
                const BarView v = reader->last_bars(r.key, r.tf, a.bars, as_of, align);
                spent += now_ns() - t0;
                sum.add_bars(v);  // before the next call: views live until then
                bars_returned += v.size();
            } else {
                QueryOptions q;
                q.timeframe = r.tf;
                q.last = a.bars;
                q.as_of = as_of;
                q.align = align;
                const i64 t0 = now_ns();
                const BarColumns b = query(store, r.key, q);
                spent += now_ns() - t0;
                sum.add_bars(b);
                bars_returned += b.size();
            }
            ++calls;
        }
        step_ns.push_back(spent);
        if (to - t < step) break;  // no overflow past the end of time
    }
    const ReaderStats st = reader ? reader->stats() : ReaderStats{};
    if (st.spill_disabled && !disabled_at_open) note_spill_disabled(st);
    const double median = quantile(step_ns, 0.5), p99 = quantile(step_ns, 0.99);
    double mean = 0;
    for (const i64 s : step_ns) mean += static_cast<double>(s);
    mean = step_ns.empty() ? 0 : mean / static_cast<double>(step_ns.size());
    const std::string mode = reader ? "cache" : "no-cache";

    struct Field {
        const char* name;
        u64 value;
    };
    const Field counters[] = {{"hits", st.hits},
                              {"misses", st.misses},
                              {"evictions", st.evictions},
                              {"spills", st.spills},
                              {"spill_hits", st.spill_hits},
                              {"spill_evictions", st.spill_evictions},
                              {"spill_errors", st.spill_errors},
                              {"store_reads", st.store_reads},
                              {"transients", st.transients},
                              {"trims", st.trims},
                              {"prewarmed_hits", st.prewarmed_hits}};
    const Field sizes[] = {{"peak_resident_bytes", st.peak_resident_bytes},
                           {"resident_bytes", st.resident_bytes},
                           {"raw_bytes", st.raw_bytes},
                           {"aggregate_bytes", st.aggregate_bytes},
                           {"budget_bytes", reader ? ro.budget_bytes : 0},
                           {"spill_bytes", st.spill_bytes},
                           {"spill_entries", st.spill_entries}};
    std::string out;
    if (a.json) {
        out = "{\"mode\":\"" + mode + "\",\"checksum\":\"" + hex(sum.h) + "\",\"steps\":" + std::to_string(step_ns.size()) +
              ",\"requests\":" + std::to_string(calls) + ",\"bars\":" + std::to_string(bars_returned) +
              ",\"step_ns_median\":" + std::to_string(static_cast<u64>(median)) +
              ",\"step_ns_p99\":" + std::to_string(static_cast<u64>(p99)) +
              ",\"step_ns_mean\":" + std::to_string(static_cast<u64>(mean));
        for (const auto& f : counters) out += std::string(",\"") + f.name + "\":" + std::to_string(f.value);
        for (const auto& f : sizes) out += std::string(",\"") + f.name + "\":" + std::to_string(f.value);
        out += std::string(",\"spill_disabled\":") + (st.spill_disabled ? "true" : "false") +
               ",\"spill_disabled_reason\":" + json_string(st.spill_disabled_reason);
        out += "}\n";
    } else {
        out += "replay    " + std::to_string(symbols.size()) + " symbols x " + std::to_string(tfs.size()) +
               " timeframes, last " + std::to_string(a.bars) + " bars, " + std::to_string(step_ns.size()) + " steps of " +
               format_timeframe(Duration{step}) + " from " + format_time(Timestamp{Duration{from}}) + "\n";
        out += "mode      " + mode;
        if (reader)
            out += " (budget " + format_bytes(ro.budget_bytes) + ", spill " +
                   (ro.spill_dir.empty() ? std::string("off") : ro.spill_dir.string()) +
                   (st.spill_disabled ? ": disabled" : "") + ")";
        out += "\n";
        out += "checksum  " + hex(sum.h) + "  (" + std::to_string(calls) + " requests, " + std::to_string(bars_returned) +
               " bars)\n";
        out += "step      median " + micros(median) + ", p99 " + micros(p99) + ", mean " + micros(mean) + "\n";
        if (reader) {
            out += "counters ";
            for (const auto& f : counters) out += std::string(" ") + f.name + " " + std::to_string(f.value);
            out += "\nresident  peak " + format_bytes(st.peak_resident_bytes) + " of " + format_bytes(ro.budget_bytes) +
                   "; now raw " + format_bytes(st.raw_bytes) + ", aggregate " + format_bytes(st.aggregate_bytes) +
                   "; spill " + format_bytes(st.spill_bytes) + " in " + std::to_string(st.spill_entries) + " entries\n";
        }
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace

void setup_replay(CLI::App& app) {
    auto a = std::make_shared<ReplayArgs>();
    auto* sub = app.add_subcommand("replay", "Step through time like a backtest, asking for the last N bars of each series");
    add_db(sub, a->db, "Store directory");
    sub->add_option("--symbols", a->symbols, "Comma-separated symbols")->required();
    sub->add_option("--timeframes", a->timeframes, "Comma-separated timeframes, e.g. 1m,5m,1h")->required();
    sub->add_option("--bars", a->bars_text, "N: the last N closed bars of each (symbol, timeframe) per step")->required();
    sub->add_option("--from", a->from, "First step's as-of time (ISO 8601, UTC if no zone)")->required();
    sub->add_option("--to", a->to, "Last step's as-of time (included)")->required();
    sub->add_option("--step", a->step, "Time between steps (default 1m)");
    sub->add_option("--budget", a->budget, "Resident byte budget: 1048576, 256KiB, 64MiB, 1GiB, 1GB (default 1GiB)");
    sub->add_option("--spill-dir", a->spill_dir, "Spill directory (default DB/spill; none for a snapshot)");
    sub->add_option("--spill-budget", a->spill_budget, "Spill byte budget (default 4GiB)");
    sub->add_flag("--no-spill", a->no_spill, "Drop evicted entries instead of spilling them");
    sub->add_flag("--no-spill-raw", a->no_spill_raw, "Spill evicted aggregates only; raw windows are re-read from the store");
    sub->add_flag("--no-cache", a->no_cache, "No Reader: every request goes to the cold path (query)");
    sub->add_option("--history-bars", a->history_text, "Reader history_bars (default 5000)");
    sub->add_option("--lookahead-bars", a->lookahead_text, "Reader lookahead_bars (default 1000)");
    sub->add_option("--align", a->align, "session or utc (default: as query)")->check(CLI::IsMember({"session", "utc"}));
    sub->add_flag("--json", a->json, "One JSON object instead of text");
    examples(sub, {"barstore replay --db store --symbols BTC --timeframes 1m,5m,1h --bars 100 --from 2022-01-10 --to 2022-01-11"});
    sub->callback([a] {
        a->bars = parse_count(a->bars_text, "--bars");
        if (!a->history_text.empty()) a->history_bars = parse_count(a->history_text, "--history-bars");
        if (!a->lookahead_text.empty()) a->lookahead_bars = parse_count(a->lookahead_text, "--lookahead-bars");
        run_replay(*a);
    });
}

}  // namespace barstore::cli
