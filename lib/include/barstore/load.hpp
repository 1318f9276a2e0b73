// barstore/load.hpp: ingest a file into a store: parse it, fit it to the series already stored
// for its symbol, write it in one transaction. The CLI's `ingest` and the bindings call this.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "barstore/ingest.hpp"
#include "barstore/session.hpp"
#include "barstore/store.hpp"
#include "barstore/types.hpp"

namespace barstore {

struct LoadOptions {
    FileFormat format = FileFormat::auto_detect;
    /// parse.timeframe set: the base, even one the symbol does not have yet (a new series).
    /// Unset: a CSV of a symbol with one stored series takes that series' base; of a symbol
    /// with several, it is refused (the caller must pick); of a new symbol, the smallest step
    /// between its bars. parse.stored_base is filled in by load_file.
    ParseOptions parse;
    std::optional<Session> session;  ///< stored with the bars, in the same transaction
    WriteMode mode = WriteMode::append;
};

/// What one file added to one series.
struct LoadedSeries {
    SeriesKey key;
    std::uint64_t bars = 0;
    std::uint64_t rounded_values = 0;  ///< SeriesBatch::rounded_values
    std::vector<std::string> notes;    ///< SeriesBatch::notes
};

/// Parses `path` and writes every series in it in one transaction: all of it or nothing.
/// Throws InvalidInput whose message starts with the file name (`FILE:LINE: error: ...` for a
/// bad line, `FILE: error: ...` for a bad call or a write the store refuses), IoError,
/// StorageFull, CorruptData (as Store::write: a stored chunk the write must rewrite is damaged).
std::vector<LoadedSeries> load_file(Store& store, const std::filesystem::path& path, const LoadOptions& opts);

/// The base an update of `symbol` takes when no timeframe is given: that of its only stored
/// series; nullopt for a symbol with none. Throws InvalidInput naming the bases if it has
/// several.
std::optional<Duration> stored_base(const Store& store, const std::string& symbol);

}  // namespace barstore
