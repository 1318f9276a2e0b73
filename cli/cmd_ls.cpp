// cli/cmd_ls.cpp: `barstore ls`: one line per series in a store (symbol, base, bars, span,
// session, and its prewarmed aggregates if it has any), read-only, in the catalog's order; with
// --json one JSON object per line (series_json).
#include <cstdio>

#include "cli.hpp"

namespace barstore::cli {

namespace {

struct LsArgs {
    std::string db;
    bool json = false;
};

/// "\tprewarmed: 5m 1h 1d utc; 1d session (1.2 MiB)" and how many are stale, or "" when the series
/// has none (so that a store without prewarmed aggregates lists as it always did).
std::string prewarmed_column(const Store& store, const SeriesKey& key) {
    std::vector<PrewarmedInfo> all;
    try {
        all = store.prewarmed(key);
    } catch (const CorruptData&) {
        return "\tprewarmed: a damaged record (barstore verify)";
    }
    if (all.empty()) return "";
    std::string out = "\tprewarmed:";
    std::uint64_t bytes = 0;
    std::size_t stale = 0;
    for (const auto align : {Alignment::utc, Alignment::session}) {
        std::string tfs;
        for (const auto& p : all)
            if (p.spec.align == align) tfs += " " + format_timeframe(p.spec.timeframe);
        if (tfs.empty()) continue;
        if (out.back() != ':') out += ";";
        out += tfs + (align == Alignment::utc ? " utc" : " session");
    }
    for (const auto& p : all) bytes += p.stored_bytes, stale += !p.current;
    out += " (" + format_bytes(bytes) + ")";
    if (stale > 0) out += ", " + std::to_string(stale) + " stale";
    return out;
}

void run_ls(const LsArgs& a) {
    auto store = Store::open(a.db, StoreOptions{.read_only = true});
    if (a.json) {
        for (const auto& s : store.list()) std::printf("%s\n", series_json(store, s, false).c_str());
        return;
    }
    for (const auto& s : store.list())
        std::printf("%s\t%s\t%llu bars\t%s\t%s%s\n", s.key.symbol.c_str(), format_timeframe(s.key.base).c_str(),
                    static_cast<unsigned long long>(s.rows), format_span(s).c_str(), format_session(s.session).c_str(),
                    prewarmed_column(store, s.key).c_str());
}

}  // namespace

void setup_ls(CLI::App& app) {
    auto a = std::make_shared<LsArgs>();
    auto* sub = app.add_subcommand("ls", "List the series in a store");
    add_db(sub, a->db, "Store directory");
    sub->add_flag("--json", a->json, "One JSON object per series and line (JSONL)");
    examples(sub, {"barstore ls --db store", "barstore ls --db store --json"});
    sub->callback([a] { run_ls(*a); });
}

}  // namespace barstore::cli
