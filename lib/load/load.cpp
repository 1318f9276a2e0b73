// load/load.cpp: file -> store. Owns the rule that an update joins the series already stored
// for its symbol, never one inferred from the file alone (docs/cli.md, "ingest"); composes
// ingest and store, which know nothing of each other.
#include "barstore/load.hpp"

#include "barstore/error.hpp"
#include "barstore/time.hpp"

namespace barstore {

std::optional<Duration> stored_base(const Store& store, const std::string& symbol) {
    const auto all = store.find(symbol);
    if (all.empty()) return std::nullopt;
    if (all.size() == 1) return all.front().key.base;
    std::string bases;
    for (const auto& s : all) bases += (bases.empty() ? "" : ", ") + format_timeframe(s.key.base);
    throw InvalidInput(symbol + " has series at several bases (" + bases + "); pass --timeframe to pick one");
}

std::vector<LoadedSeries> load_file(Store& store, const std::filesystem::path& path, const LoadOptions& opts) {
    ParseOptions parse = opts.parse;
    // Looked up in its own read transaction: another writer may add a series of the same
    // symbol before ours commits, and the second base then stands beside the first (as it
    // would had the two ingests run the other way round with --timeframe).
    parse.stored_base = [&store](const std::string& symbol) { return stored_base(store, symbol); };
    auto batches = parse_file(path, opts.format, parse);
    for (auto& b : batches) b.session = opts.session;
    try {
        store.write(batches, opts.mode);
    } catch (const InvalidInput& e) {
        throw InvalidInput(input_name(path) + ": error: " + e.what());
    }
    std::vector<LoadedSeries> out;
    out.reserve(batches.size());
    for (auto& b : batches) out.push_back({b.key, b.bars.size(), b.rounded_values, std::move(b.notes)});
    return out;
}

}  // namespace barstore
