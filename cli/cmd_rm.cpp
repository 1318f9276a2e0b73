// cli/cmd_rm.cpp: `barstore rm`: removes a series, or its bars in [--from, --to), in one write.
// The series is named exactly (a symbol with several bases needs --timeframe): a removal never
// guesses. Everything else, atomicity and cutting out corrupt chunks included, is Store::remove.
#include <algorithm>
#include <cstdio>

#include "cli.hpp"

namespace barstore::cli {

namespace {

struct RmArgs {
    std::string db, symbol, timeframe, from, to;
};

std::string bars(std::uint64_t n) { return std::to_string(n) + (n == 1 ? " bar" : " bars"); }

std::string bases_of(const std::vector<SeriesInfo>& all) {
    std::string out;
    for (const auto& s : all) out += (out.empty() ? "" : ", ") + format_timeframe(s.key.base);
    return out;
}

void run_rm(const RmArgs& a) {
    std::optional<Timestamp> from, to;
    if (!a.from.empty()) from = parse_time(a.from);
    if (!a.to.empty()) to = parse_time(a.to);
    if (from && to && *from >= *to)
        throw InvalidInput("--from " + format_time(*from) + " is not before --to " + format_time(*to) +
                           " (rm removes the bars in [from, to))");
    SeriesKey key;
    {
        // Resolved read-only: a mistyped --db is an error, not a new empty store.
        const auto store = Store::open(a.db, StoreOptions{.read_only = true});
        const auto all = find_series(store, a.symbol);
        if (!a.timeframe.empty()) {
            const auto base = parse_timeframe(a.timeframe);
            const auto it = std::find_if(all.begin(), all.end(), [&](const SeriesInfo& s) { return s.key.base == base; });
            if (it == all.end())
                throw NotFound("no series '" + a.symbol + "' at " + format_timeframe(base) + " (it has " + bases_of(all) +
                               ")");
            key = it->key;
        } else if (all.size() > 1) {
            throw InvalidInput("'" + a.symbol + "' has series at " + bases_of(all) + ": say which with --timeframe");
        } else {
            key = all.front().key;
        }
    }
    auto store = Store::open(a.db);
    const auto removed = store.remove(key, from, to);
    const auto name = key.symbol + " " + format_timeframe(key.base);
    if (!from && !to) {
        std::printf("%s: series removed (%s)\n", name.c_str(), bars(removed).c_str());
        return;
    }
    const auto left = store.info_fast(key);
    std::printf("%s: %s removed, %llu left\n", name.c_str(), bars(removed).c_str(),
                static_cast<unsigned long long>(left ? left->rows : 0));
}

}  // namespace

void setup_rm(CLI::App& app) {
    auto a = std::make_shared<RmArgs>();
    auto* sub = app.add_subcommand("rm", "Remove a series, or its bars in [--from, --to), in one transaction");
    add_db(sub, a->db, "Store directory");
    sub->add_option("SYMBOL", a->symbol, "Symbol")->required();
    sub->add_option("--timeframe", a->timeframe, "The series' base, when the symbol has several");
    sub->add_option("--from", a->from, "Remove bars at or after T (ISO 8601, UTC if no zone); the series stays");
    sub->add_option("--to", a->to, "Remove bars before T; the series stays");
    examples(sub, {"barstore rm --db store BTC --from 2022-02-01",
                   "barstore rm --db store SPY"});
    sub->callback([a] { run_rm(*a); });
}

}  // namespace barstore::cli
