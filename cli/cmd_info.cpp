// cli/cmd_info.cpp: `barstore info`: rows, span, scale, chunks and size of every series of a
// symbol, and of its prewarmed aggregates, read-only; disk bytes are measured (Store::info), not
// the catalog's estimate. --json: one JSON object per series and line (series_json).
#include <cstdio>

#include "cli.hpp"

namespace barstore::cli {

namespace {

struct InfoArgs {
    std::string db, symbol;
    bool json = false;
};

/// A line per prewarmed aggregate; none when the series has none (its output is then as it was).
void print_prewarmed(const Store& store, const SeriesKey& key) {
    std::vector<PrewarmedInfo> all;
    try {
        all = store.prewarmed(key);
    } catch (const CorruptData& e) {
        std::printf("prewarmed:    damaged: %s (barstore verify)\n", e.what());
        return;
    }
    for (const auto& p : all)
        std::printf("%s%s, %llu bins, %llu chunk%s, %llu bytes, %s\n", &p == &all.front() ? "prewarmed:    " : "              ",
                    format_aggregate(p.spec).c_str(), static_cast<unsigned long long>(p.rows),
                    static_cast<unsigned long long>(p.chunks), p.chunks == 1 ? "" : "s",
                    static_cast<unsigned long long>(p.stored_bytes),
                    p.current ? "current"
                              : ("stale (built from generation " + std::to_string(p.built_generation) +
                                 "; the next write or prewarm rebuilds it)")
                                    .c_str());
}

void run_info(const InfoArgs& a) {
    auto store = Store::open(a.db, StoreOptions{.read_only = true});
    const auto all = find_series(store, a.symbol);
    for (const auto& found : all) {
        const auto s = *store.info(found.key);
        if (a.json) {
            std::printf("%s\n", series_json(store, s, true).c_str());
            continue;
        }
        const double per_bar = s.rows ? static_cast<double>(s.disk_bytes) / static_cast<double>(s.rows) : 0.0;
        std::printf("symbol:       %s\n", s.key.symbol.c_str());
        std::printf("timeframe:    %s\n", format_timeframe(s.key.base).c_str());
        std::printf("session:      %s\n", format_session(s.session).c_str());
        std::printf("rows:         %llu\n", static_cast<unsigned long long>(s.rows));
        std::printf("span:         %s\n", format_span(s).c_str());
        std::printf("decimals:     price %d, volume %d\n", s.scale.price_decimals, s.scale.volume_decimals);
        std::printf("chunks:       %llu\n", static_cast<unsigned long long>(s.chunks));
        std::printf("chunk bytes:  %llu\n", static_cast<unsigned long long>(s.stored_bytes));
        std::printf("disk bytes:   %llu\n", static_cast<unsigned long long>(s.disk_bytes));
        std::printf("bytes/bar:    %.2f\n", per_bar);
        std::printf("generation:   %llu\n", static_cast<unsigned long long>(s.generation));
        print_prewarmed(store, s.key);
        if (&found != &all.back()) std::printf("\n");
    }
}

}  // namespace

void setup_info(CLI::App& app) {
    auto a = std::make_shared<InfoArgs>();
    auto* sub = app.add_subcommand("info", "Rows, span, chunks and size of a symbol's series");
    add_db(sub, a->db, "Store directory");
    sub->add_option("SYMBOL", a->symbol, "Symbol")->required();
    sub->add_flag("--json", a->json, "One JSON object per series and line (JSONL), disk bytes measured");
    examples(sub, {"barstore info --db store BTC", "barstore info --db store BTC --json"});
    sub->callback([a] { run_info(*a); });
}

}  // namespace barstore::cli
