// cli/cmd_prewarm.cpp: `barstore prewarm`: stores aggregates in the store (Store::prewarm), or
// drops them (--drop). Every series and spec is resolved and checked before the first write, so
// bad input changes nothing; each aggregate is then committed on its own (resumable, idempotent).
#include <algorithm>
#include <cstdio>

#include "cli.hpp"

namespace barstore::cli {

namespace {

struct PrewarmArgs {
    std::string db, symbols, timeframes, align;
    std::optional<std::string> jobs;  // parse_count: CLI11 would wrap "-1" into an unsigned
    bool all = false;
    bool drop = false;
};

/// More threads than this only cost memory: the fold is split into a share per thread.
constexpr std::size_t kMaxJobs = 1024;

std::string series_name(const SeriesKey& key) { return key.symbol + " " + format_timeframe(key.base); }

std::vector<Duration> parse_timeframes(const std::string& text) {
    std::vector<Duration> out;
    for (const auto& item : split_list(text, "timeframes")) {
        Duration tf;
        try {
            tf = parse_timeframe(item);
        } catch (const InvalidInput& e) {
            throw InvalidInput(std::string("--timeframes: ") + e.what());
        }
        if (std::find(out.begin(), out.end(), tf) == out.end()) out.push_back(tf);
    }
    return out;
}

/// The symbols the run is about: --symbols as given (each must exist), or every symbol of --all.
std::vector<std::string> chosen_symbols(const Store& store, const PrewarmArgs& a) {
    std::vector<std::string> out;
    if (a.all) {
        for (const auto& s : store.list())
            if (out.empty() || out.back() != s.key.symbol) out.push_back(s.key.symbol);  // list() is symbol-ordered
        return out;
    }
    for (const auto& s : split_list(a.symbols, "symbols")) {
        (void)find_series(store, s);  // an unknown symbol is exit 2 before anything is written
        if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    }
    return out;
}

/// One series and the aggregates asked of it, in request order.
struct Plan {
    SeriesInfo series;
    std::vector<AggregateSpec> specs;
};

/// Each (symbol, timeframe) goes to the series `query SYMBOL --timeframe TF` reads, so that
/// query finds it prewarmed; the alignment is --align, else query's default for that series.
/// Every spec is put to the Binner here (resample of no bars), so that one it refuses for any
/// series stops the run before the first write.
std::vector<Plan> plan_prewarm(const Store& store, const std::vector<std::string>& symbols,
                               const std::vector<Duration>& tfs, std::optional<Alignment> align) {
    std::vector<Plan> plans;
    for (const auto& symbol : symbols)
        for (const auto tf : tfs) {
            const auto series = resolve_series(store, symbol, tf);
            const AggregateSpec spec{tf, align.value_or(series.session.is_24x7() ? Alignment::utc : Alignment::session)};
            try {
                (void)resample(BarColumns{}, series.key.base, spec.timeframe, spec.align, series.session);
            } catch (const InvalidInput& e) {
                throw InvalidInput(series_name(series.key) + ": --timeframes " + format_timeframe(tf) + ": " + e.what() +
                                   " (nothing was written)");
            }
            auto it = std::find_if(plans.begin(), plans.end(), [&](const Plan& p) { return p.series.key == series.key; });
            if (it == plans.end()) it = plans.insert(plans.end(), Plan{series, {}});
            if (std::find(it->specs.begin(), it->specs.end(), spec) == it->specs.end()) it->specs.push_back(spec);
        }
    return plans;
}

std::string count(std::uint64_t n, const char* one, const char* many) { return std::to_string(n) + " " + (n == 1 ? one : many); }

std::string size_of(const PrewarmedInfo& p) { return count(p.rows, "bin", "bins") + ", " + format_bytes(p.stored_bytes); }

void run_build(const PrewarmArgs& a, const std::vector<std::string>& symbols, const std::vector<Duration>& tfs,
               std::optional<Alignment> align, unsigned threads) {
    std::vector<Plan> plans;
    {
        // Resolved read-only: a mistyped --db is an error, not a new empty store.
        const auto store = Store::open(a.db, StoreOptions{.read_only = true});
        plans = plan_prewarm(store, symbols, tfs, align);
    }
    auto store = Store::open(a.db);
    std::uint64_t total_bytes = 0, done_bytes = 0, built_bytes = 0;
    std::size_t built = 0, current = 0;
    for (const auto& p : plans) total_bytes += p.series.stored_bytes;
    Progress progress("prewarm");
    for (const auto& p : plans) {
        progress.update(done_bytes, total_bytes);
        const auto out = store.prewarm(p.series.key, p.specs, PrewarmOptions{.threads = threads});
        progress.finish();
        done_bytes += p.series.stored_bytes;
        for (const auto& item : out.items) {
            const auto name = series_name(p.series.key) + " " + format_aggregate(item.info.spec);
            if (item.built) {
                std::printf("%s: built, %s\n", name.c_str(), size_of(item.info).c_str());
                ++built;
                built_bytes += item.info.stored_bytes;
            } else {
                std::printf("%s: current, skipped\n", name.c_str());
                ++current;
            }
        }
        std::fflush(stdout);  // a line per series as it is done, also when piped
    }
    const std::string size = built > 0 ? " (" + format_bytes(built_bytes) + ")" : "";
    std::printf("prewarm: %s of %s: %zu built%s, %zu current\n", count(built + current, "aggregate", "aggregates").c_str(),
                count(plans.size(), "series", "series").c_str(), built, size.c_str(), current);
}

/// --drop: every base of each symbol (a drop never guesses which one was meant), the aggregates
/// of --timeframes (all without it) in --align (both without it).
void run_drop(const PrewarmArgs& a, const std::vector<std::string>& symbols, const std::vector<Duration>& tfs,
              std::optional<Alignment> align) {
    std::vector<SeriesInfo> series;
    {
        const auto store = Store::open(a.db, StoreOptions{.read_only = true});
        for (const auto& symbol : symbols)
            for (const auto& s : find_series(store, symbol)) series.push_back(s);
    }
    auto store = Store::open(a.db);
    std::size_t dropped = 0, series_dropped = 0;
    for (const auto& s : series) {
        const auto name = series_name(s.key);
        std::vector<PrewarmedInfo> known;
        bool listed = true;
        try {
            known = store.prewarmed(s.key);
        } catch (const CorruptData&) {
            listed = false;  // a damaged record: dropped by key all the same
        }
        std::size_t n = 0;
        if (tfs.empty() && !align) {
            n = store.drop_prewarmed(s.key);  // by key: a damaged one goes too
            if (listed)
                for (const auto& p : known)
                    std::printf("%s %s: dropped (%s)\n", name.c_str(), format_aggregate(p.spec).c_str(), size_of(p).c_str());
            else
                std::printf("%s: %s dropped (a record was damaged)\n", name.c_str(),
                            count(n, "prewarmed aggregate", "prewarmed aggregates").c_str());
        } else {
            std::vector<AggregateSpec> specs;
            for (const auto tf : tfs)
                for (const auto al : {Alignment::utc, Alignment::session})
                    if (!align || *align == al) specs.push_back({tf, al});
            if (tfs.empty())
                for (const auto& p : known)
                    if (p.spec.align == *align) specs.push_back(p.spec);
            for (const auto& spec : specs) {
                if (store.drop_prewarmed(s.key, spec) == 0) continue;
                ++n;
                const auto it = std::find_if(known.begin(), known.end(), [&](const PrewarmedInfo& p) { return p.spec == spec; });
                if (it != known.end())
                    std::printf("%s %s: dropped (%s)\n", name.c_str(), format_aggregate(spec).c_str(), size_of(*it).c_str());
                else
                    std::printf("%s %s: dropped\n", name.c_str(), format_aggregate(spec).c_str());
            }
        }
        dropped += n;
        series_dropped += n > 0;
    }
    std::printf("prewarm --drop: %s of %s dropped\n", count(dropped, "aggregate", "aggregates").c_str(),
                count(series_dropped, "series", "series").c_str());
}

void run_prewarm(const PrewarmArgs& a) {
    if (a.all == !a.symbols.empty()) throw InvalidInput("prewarm needs either --symbols A,B or --all");
    if (!a.drop && a.timeframes.empty()) throw InvalidInput("prewarm needs --timeframes, e.g. 5m,15m,1h,1d");
    std::optional<Alignment> align;
    if (a.align == "utc") align = Alignment::utc;
    if (a.align == "session") align = Alignment::session;
    unsigned threads = 0;  // the library's default: one per core
    if (a.jobs) {
        const auto bad = [&] {
            return InvalidInput("--jobs needs a thread count from 1 to " + std::to_string(kMaxJobs) + " (got '" + *a.jobs + "')");
        };
        std::size_t n = 0;
        try {
            n = parse_count(*a.jobs, "--jobs");
        } catch (const InvalidInput&) {
            throw bad();
        }
        if (n < 1 || n > kMaxJobs) throw bad();
        threads = static_cast<unsigned>(n);
    }
    const std::vector<Duration> tfs = a.timeframes.empty() ? std::vector<Duration>{} : parse_timeframes(a.timeframes);
    std::vector<std::string> symbols;
    {
        const auto store = Store::open(a.db, StoreOptions{.read_only = true});
        symbols = chosen_symbols(store, a);
    }
    if (a.drop)
        run_drop(a, symbols, tfs, align);
    else
        run_build(a, symbols, tfs, align, threads);
}

}  // namespace

void setup_prewarm(CLI::App& app) {
    auto a = std::make_shared<PrewarmArgs>();
    auto* sub = app.add_subcommand("prewarm", "Compute aggregates and store them in the store, for every reader (or --drop them)");
    add_db(sub, a->db, "Store directory");
    sub->add_option("--symbols", a->symbols, "Comma-separated symbols");
    sub->add_flag("--all", a->all, "Every symbol in the store");
    sub->add_option("--timeframes", a->timeframes, "Comma-separated timeframes, e.g. 5m,15m,30m,1h,2h,4h,1d");
    sub->add_option("--align", a->align, "Bin starts: session or utc (default: as query, session when the series has one)")
        ->check(CLI::IsMember({"session", "utc"}));
    sub->add_option("--jobs", a->jobs, "Threads that compute (default: one per core)");
    sub->add_flag("--drop", a->drop, "Remove the prewarmed aggregates instead (all of them without --timeframes)");
    examples(sub, {"barstore prewarm --db store --symbols SPY,BTC --timeframes 5m,1h,1d",
                   "barstore prewarm --db store --all --drop --timeframes 5m"});
    sub->callback([a] { run_prewarm(*a); });
}

}  // namespace barstore::cli
