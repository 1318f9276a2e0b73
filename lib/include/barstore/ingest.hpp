// barstore/ingest.hpp: parse CSV and Databento DBN files into validated series batches.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "barstore/batch.hpp"  // SeriesBatch, check_bars: core, shared with the store
#include "barstore/session.hpp"
#include "barstore/types.hpp"

namespace barstore {

enum class FileFormat { auto_detect, csv, dbn };
enum class Stamp { start, end };

/// Receives a file's bars in pieces as they are read (stream_file).
using PieceFn = std::function<void(SeriesBatch&& piece)>;

/// Called now and then with bytes consumed so far; the CLI draws a progress bar from it.
using ProgressFn = std::function<void(std::uint64_t done_bytes, std::uint64_t total_bytes)>;

/// The base of the series already stored for a symbol (load_file asks the store), nullopt if
/// there is none; may throw InvalidInput (a symbol with several bases).
using StoredBaseFn = std::function<std::optional<Duration>(const std::string& symbol)>;

/// Column buffers given back by the consumer of stream_file's pieces once it is done with them,
/// for later blocks to be parsed into. Their pages are already mapped: fresh columns for every
/// block cost a page fault per 4 KiB, a third of a streamed ingest's CPU (load_file uses one).
/// Holds a few sets at most; thread-safe.
class ColumnPool {
public:
    /// Keeps `bars`' buffers, emptied, for a later take(); dropped if the pool is full.
    void give(BarColumns&& bars);
    /// Columns with room for `rows` rows: the smallest kept set that has it, else new ones.
    BarColumns take(std::size_t rows);

private:
    static constexpr std::size_t kMaxSets = 4;
    std::mutex mutex_;
    std::vector<BarColumns> kept_;
};

struct ParseOptions {
    std::string symbol;                 ///< CSV: default the symbol column, else the file name's stem; DBN: renames a single-symbol file
    /// CSV: default stored_base's answer, else the smallest step between bars; DBN: must match
    std::optional<Duration> timeframe;
    /// CSV without timeframe: asked once for the symbol. An update joins the stored series, so a
    /// file's own steps (a Friday and a Monday, an illiquid hour) never invent a second base;
    /// bars off that base are refused naming their line. DBN ignores it: its schema is the base.
    StoredBaseFn stored_base;
    std::string tz = "UTC";             ///< IANA zone of naive CSV text timestamps
    Stamp stamp = Stamp::start;         ///< Stamp::end: a CSV stamp T means the bar [T - tf, T)
    /// CSV: each field's role by position, instead of the header's names: ts, date, time, open,
    /// high, low, close, volume, symbol or skip (ts or date, and open..close, required; date
    /// alone is a whole stamp). A first line that does not parse as data is then a header and
    /// skipped whatever it says. Empty: roles from the header, or the 6/7-field layouts.
    /// With a symbol field (or a symbol/ticker header column) each symbol is its own batch (a
    /// long-format file), unless `symbol` is given, which keeps only that symbol's rows.
    std::vector<std::string> columns;
    ProgressFn progress;                ///< optional
    /// stream_file: where its blocks' columns come from (and its own scratch columns go back
    /// to); the caller gives each piece's columns back when done with them. Optional.
    ColumnPool* column_pool = nullptr;
};

/// Reads `path` (`-`: standard input, named `<stdin>` in messages) and decodes it. gzip and
/// zstd are told by their magic bytes, never by the name, and decoded whole first; a truncated
/// or corrupt stream throws InvalidInput `FILE: error: REASON at compressed byte N`. Format
/// when auto_detect: DBN magic (plain or inside zstd), a zstd skippable frame or `.dbn` in the
/// name mean DBN, anything else CSV. All or nothing: the first bad byte throws InvalidInput
/// `FILE:LINE: error: REASON (got 'TEXT')` (DBN: `FILE:byte N: ...`).
/// Throws IoError if the file cannot be read.
std::vector<SeriesBatch> parse_file(const std::filesystem::path& path, FileFormat format,
                                    const ParseOptions& opts);

/// Text stream_file parses at a time: its memory (with the bars parsed from it) is bounded by this.
inline constexpr std::size_t kStreamBlockBytes = 16u << 20;

/// parse_file without holding the file: a CSV (plain, gzip or zstd; `-` too) is read, decoded
/// and parsed kStreamBlockBytes of text at a time, and each series' bars go to `fn` in pieces,
/// in time order, each checked as parse_file checks a whole file. An inferred base (no timeframe,
/// no stored series) is the smallest step read so far: a later, smaller step lowers it to the
/// greatest common divisor of the two (every earlier bar is on that too), and that piece comes
/// with the new base, which the earlier pieces of its symbol then take as well. With Stamp::end
/// such a step is an error naming its line (the earlier bars were shifted by the old base: pass
/// a timeframe). DBN is decoded whole, one piece per series. Each series' first piece carries the
/// notes. Throws as parse_file, possibly after pieces were handed out: the caller must then
/// discard them (load_file writes them in one transaction that it then aborts).
void stream_file(const std::filesystem::path& path, FileFormat format, const ParseOptions& opts, const PieceFn& fn);

/// The name parse_file and load_file use for `path` in messages: `<stdin>` for `-`.
std::string input_name(const std::filesystem::path& path);

/// The same on bytes already in memory; `name` is used in messages and as the default symbol.
std::vector<SeriesBatch> parse_csv(std::string_view data, const std::string& name,
                                   const ParseOptions& opts);
std::vector<SeriesBatch> parse_dbn(std::span<const std::byte> data, const std::string& name,
                                   const ParseOptions& opts);

}  // namespace barstore
