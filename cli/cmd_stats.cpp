// cli/cmd_stats.cpp: `barstore stats`: what a Reader's spill tier holds (default DB/spill): each
// spilled entry with its series, timeframe, generation and size, and whether the store still
// has that generation (a copy of an older one can never be served and only waits for deletion).
#include <cstdio>
#include <map>

#include "cli.hpp"

namespace barstore::cli {

namespace {

struct StatsArgs {
    std::string db, spill_dir;
    bool json = false;
};

void run_stats(const StatsArgs& a) {
    const auto store = Store::open(a.db, StoreOptions{.read_only = true});
    const std::filesystem::path dir = a.spill_dir.empty() ? std::filesystem::path(a.db) / "spill" : std::filesystem::path(a.spill_dir);
    const SpillSummary sum = inspect_spill(dir);
    std::map<std::pair<std::string, std::int64_t>, std::uint64_t> generation;
    for (const auto& s : store.list()) generation[{s.key.symbol, s.key.base.count()}] = s.generation;
    auto state = [&](const SpillEntryInfo& e) -> std::string {
        if (!e.intact) return "corrupt";
        const auto it = generation.find({e.key.symbol, e.key.base.count()});
        return it != generation.end() && it->second == e.generation ? "current" : "stale";
    };
    std::string out;
    if (a.json) {
        out = "{\"spill_dir\":" + json_string(dir.string()) + ",\"exists\":" + (sum.exists ? "true" : "false") +
              ",\"entries\":" + std::to_string(sum.entries.size()) + ",\"value_bytes\":" + std::to_string(sum.value_bytes) +
              ",\"file_bytes\":" + std::to_string(sum.file_bytes) + ",\"items\":[";
        for (std::size_t i = 0; i < sum.entries.size(); ++i) {
            const auto& e = sum.entries[i];
            out += std::string(i ? "," : "") + "{\"kind\":\"" + (e.aggregate ? "aggregate" : "raw") + "\",\"symbol\":" +
                   json_string(e.key.symbol) + ",\"base\":\"" + format_timeframe(e.key.base) + "\",\"timeframe\":\"" +
                   format_timeframe(e.timeframe) + "\",\"align\":\"" + (e.align == Alignment::utc ? "utc" : "session") +
                   "\",\"generation\":" + std::to_string(e.generation) + ",\"rows\":" + std::to_string(e.rows) +
                   ",\"bytes\":" + std::to_string(e.value_bytes) + ",\"state\":\"" + state(e) + "\"}";
        }
        out += "]}\n";
        std::fwrite(out.data(), 1, out.size(), stdout);
        return;
    }
    if (!sum.exists) {
        out = "spill " + dir.string() + ": none (barstore replay --spill-dir, or a Reader with ReaderOptions::spill_dir, makes one)\n";
        std::fwrite(out.data(), 1, out.size(), stdout);
        return;
    }
    out = "spill " + dir.string() + ": " + std::to_string(sum.entries.size()) + " entries, " + format_bytes(sum.value_bytes) +
          " in values, data.mdb " + format_bytes(sum.file_bytes) + "\n";
    if (!sum.entries.empty()) {
        static const char* names[] = {"kind", "symbol", "base", "timeframe", "align", "generation", "rows", "first", "last", "bytes", "state"};
        std::vector<std::vector<std::string>> rows;
        rows.emplace_back(std::begin(names), std::end(names));
        for (const auto& e : sum.entries) {
            const bool dated = e.intact && e.rows > 0;
            rows.push_back({e.aggregate ? "aggregate" : "raw", e.key.symbol, format_timeframe(e.key.base),
                            format_timeframe(e.timeframe), e.align == Alignment::utc ? "utc" : "session",
                            std::to_string(e.generation), std::to_string(e.rows), dated ? format_time(e.first) : "-",
                            dated ? format_time(e.last) : "-", format_bytes(e.value_bytes), state(e)});
        }
        std::vector<std::size_t> width(rows.front().size(), 0);
        for (const auto& r : rows)
            for (std::size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
        // Counts and sizes are right-aligned, so their digits line up; words stay left-aligned.
        const auto numeric = [](std::size_t c) { return c == 5 || c == 6 || c == 9; };
        for (const auto& r : rows) {
            for (std::size_t c = 0; c < r.size(); ++c) {
                const std::string pad(width[c] - r[c].size(), ' ');
                out += numeric(c) ? pad + r[c] : r[c] + (c + 1 < r.size() ? pad : "");
                if (c + 1 < r.size()) out += "  ";
            }
            out += '\n';
        }
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace

void setup_stats(CLI::App& app) {
    auto a = std::make_shared<StatsArgs>();
    auto* sub = app.add_subcommand("stats", "Show what the cache's spill tier holds");
    add_db(sub, a->db, "Store directory");
    sub->add_option("--spill-dir", a->spill_dir, "Spill directory (default DB/spill, where replay spills)");
    sub->add_flag("--json", a->json, "One JSON object instead of a table");
    examples(sub, {"barstore stats --db store"});
    sub->callback([a] { run_stats(*a); });
}

}  // namespace barstore::cli
