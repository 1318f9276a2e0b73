// load/load.cpp: file -> store. Owns the rule that an update joins the series already stored
// for its symbol, never one inferred from the file alone (docs/cli.md, "ingest"); composes
// ingest and store, which know nothing of each other.
#include "barstore/load.hpp"

#include <map>

#include "barstore/error.hpp"
#include "barstore/time.hpp"

namespace barstore {

namespace {

// The base of the only series in `all`; InvalidInput naming the bases when there are several.
std::optional<Duration> only_base(const std::vector<SeriesInfo>& all, const std::string& symbol) {
    if (all.empty()) return std::nullopt;
    if (all.size() == 1) return all.front().key.base;
    std::string bases;
    for (const auto& s : all) bases += (bases.empty() ? "" : ", ") + format_timeframe(s.key.base);
    throw InvalidInput(symbol + " has series at several bases (" + bases + "); pass --timeframe to pick one");
}

}  // namespace

std::optional<Duration> stored_base(const Store& store, const std::string& symbol) {
    return only_base(store.find(symbol), symbol);
}

std::vector<LoadedSeries> load_file(Store& store, const std::filesystem::path& path, const LoadOptions& opts) {
    // One write transaction from the first byte read: the file goes in whole or not at all,
    // however big, and the stored bases asked for below are the ones it commits beside.
    auto writer = store.begin_write(opts.mode);
    ParseOptions parse = opts.parse;
    parse.stored_base = [&writer](const std::string& symbol) { return only_base(writer.find(symbol), symbol); };
    std::vector<LoadedSeries> out;
    std::map<std::string, std::size_t, std::less<>> index;  // symbol -> out
    // The parser's messages name the file; the store's name the series, and get the file here.
    const auto naming_file = [&](const auto& write) {
        try {
            write();
        } catch (const InvalidInput& e) {
            throw InvalidInput(input_name(path) + ": error: " + e.what());
        }
    };
    stream_file(path, opts.format, parse, [&](SeriesBatch&& piece) {
        piece.session = opts.session;
        const auto [it, fresh] = index.try_emplace(piece.key.symbol, out.size());
        if (fresh) out.push_back({piece.key, 0, 0, {}});
        LoadedSeries& loaded = out[it->second];
        // A smaller inferred base, which every earlier bar is on (stream_file): the series moves.
        if (loaded.key != piece.key) naming_file([&] { writer.rename(loaded.key, piece.key); });
        loaded.key = piece.key;
        loaded.bars += piece.bars.size();
        loaded.rounded_values += piece.rounded_values;
        for (auto& n : piece.notes) loaded.notes.push_back(std::move(n));
        naming_file([&] { writer.stage(std::move(piece)); });
    });
    naming_file([&] { writer.commit(); });
    return out;
}

}  // namespace barstore
