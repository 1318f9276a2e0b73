// barstore/reader.hpp: the resident layer for backtests. A Reader answers "the last N closed bars
// of (series, timeframe) as of t" from memory: raw windows counted in bars, memoized aggregates
// extended incrementally, a byte budget enforced on every call, and least recently used entries
// spilled to a disposable LMDB environment instead of dropped. How it works: docs/cache.md.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "barstore/query.hpp"
#include "barstore/store.hpp"
#include "barstore/types.hpp"

namespace barstore {

struct ReaderOptions {
    /// Every resident window and aggregate, counted from the capacity of the vectors that hold
    /// them (plus a fixed overhead per entry). Enforced at the end of every call.
    std::uint64_t budget_bytes = std::uint64_t{1} << 30;
    /// Bars of history a window keeps behind the latest request, in bars of its own timeframe
    /// (at least the largest N asked of it). Under budget pressure history beyond what requests
    /// have asked for is given up before any entry is evicted. An aggregate the store holds
    /// prewarmed keeps only the largest N: its history is in the store, one read away.
    std::size_t history_bars = 5000;
    /// Base bars fetched ahead of a request, in one store read, when a request goes past the
    /// window's end; the rest of the stored chunk that read decodes anyway comes along, up to 4x
    /// this many. A forward-stepping backtest reads the store at most once per this many steps.
    std::size_t lookahead_bars = 1000;
    /// Where evicted entries go (created if missing, mode 0700). Empty: no spill, evicted entries
    /// are dropped. It must be a directory of its own: missing, empty, or one a spill made (its
    /// marker file, barstore-spill, records the files it made); never the store's directory or one
    /// holding it or anything else (docs/cache.md, "The spill directory"). It belongs to one
    /// Reader at a time (a lock file says so) and is emptied when a Reader opens it: the spill is
    /// disposable and never outlives its use. Only files the spill made are ever deleted.
    std::filesystem::path spill_dir;
    /// Bytes of spilled values kept; beyond it the least recently used spilled entries are deleted.
    std::uint64_t spill_budget_bytes = std::uint64_t{4} << 30;
    /// Whether evicted raw windows are spilled too, not only aggregates. The store already holds
    /// base bars compressed, so re-hydrating a raw window saves little over re-reading it, while
    /// writing it costs an encode (docs/cache.md, "Figures"); aggregates, whose rebuild means
    /// re-reading many more base bars and re-aggregating them, are always spilled.
    bool spill_raw_windows = true;
};

/// Bars as six column views of equal length, oldest first, into memory the Reader owns.
/// Valid until the next non-const call on the Reader that returned them (last_bars, last_price,
/// clear, destruction): a later call may extend, trim or evict what they point into.
struct BarView {
    std::span<const std::int64_t> ts, open, high, low, close, volume;

    std::size_t size() const noexcept { return ts.size(); }
    bool empty() const noexcept { return ts.empty(); }
    Bar row(std::size_t i) const;
    /// An owned copy, valid for as long as the caller likes.
    BarColumns to_columns() const;
};

/// A snapshot of the Reader's counters. Each last_bars / last_price call is one hit (answered
/// from a resident entry, possibly extended with lookahead bars already read or read now) or one
/// miss (the entry was absent or could not answer: built from the spill or the store).
struct ReaderStats {
    std::uint64_t hits = 0, misses = 0;
    std::uint64_t evictions = 0;        ///< entries evicted from memory to meet the budget
    std::uint64_t spills = 0;           ///< evicted entries written to the spill
    std::uint64_t spill_hits = 0;       ///< entries re-hydrated from the spill
    std::uint64_t spill_evictions = 0;  ///< spilled entries deleted to meet the spill budget
    std::uint64_t spill_errors = 0;     ///< spilled entries found corrupt (then read from the store)
    /// Store::read_last / scan calls, and read_last_prewarmed calls that served bins (catalog
    /// lookups excluded)
    std::uint64_t store_reads = 0;
    /// Aggregates built (on a miss) from the store's prewarmed bins of their timeframe and
    /// alignment, with base bars only for the few bins after the last whole one.
    std::uint64_t prewarmed_hits = 0;
    std::uint64_t transients = 0;       ///< answers built outside the cache (too big for the budget)
    std::uint64_t trims = 0;            ///< entries whose unrequested history was given up under pressure
    std::uint64_t budget_bytes = 0;
    std::uint64_t resident_bytes = 0, raw_bytes = 0, aggregate_bytes = 0;
    std::uint64_t peak_resident_bytes = 0;  ///< the most resident bytes at the end of any call
    std::uint64_t raw_entries = 0, aggregate_entries = 0;
    std::uint64_t spill_bytes = 0, spill_entries = 0;  ///< value bytes and entries in the spill
    /// spill_dir was set but the spill could not be used, or stopped working: the Reader runs
    /// without one (evicted entries are dropped; answers are unaffected). Set once, never cleared.
    bool spill_disabled = false;
    std::string spill_disabled_reason;  ///< why, naming the directory and the error; empty unless disabled
};

/// A read-only cache over a Store for one backtest thread.
///
/// Thread-safety: none inside one Reader: every lookup writes its LRU lists, counters and
/// windows, so use one Reader per thread (several Readers may share one Store, each with its own
/// spill directory). The Store must outlive the Reader.
///
/// Answers equal query(store, key, {timeframe, last = n, as_of = t, align}) exactly, and no
/// base bar that ends after as_of (ts + base > as_of) can influence them. Writes to the store
/// while a Reader is open (from any process) are seen at the next call: every entry is tied to
/// its series' generation, re-checked whenever the store's version moved, so replaced bars are
/// never served.
class Reader {
public:
    /// Throws InvalidInput, having created, opened and deleted nothing, if spill_dir is not a
    /// spill directory: the store's own directory however spelled (compared by identity), a
    /// directory holding the store, not a directory, or holding anything no spill made (a store,
    /// a user's files). A spill that cannot be used (the directory cannot be created or written,
    /// no space, another Reader holds it) is not an error: the Reader runs without one and
    /// stats().spill_disabled says so, with the reason.
    explicit Reader(const Store& store, ReaderOptions opts = {});
    Reader(Reader&&) noexcept;
    Reader& operator=(Reader&&) noexcept;
    ~Reader();

    /// The last n bars of `key` resampled to `timeframe` that closed at or before as_of; fewer
    /// when the series has fewer. The forming bar is never included. `align` defaults as in
    /// query(): session when the series has a session other than 24x7, else utc. Throws NotFound
    /// for an unknown series, InvalidInput for a timeframe that is not a whole multiple of the
    /// base (or not allowed for session alignment), an as_of outside the supported range, or an
    /// answer with a bin whose volume does not fit int64 (as query()), CorruptData / IoError
    /// from the store.
    BarView last_bars(const SeriesKey& key, Duration timeframe, std::size_t n, Timestamp as_of,
                      std::optional<Alignment> align = std::nullopt);

    /// The close of the last base bar that ended at or before as_of; nullopt if none did.
    /// Throws NotFound for an unknown series, CorruptData / IoError from the store.
    std::optional<std::int64_t> last_price(const SeriesKey& key, Timestamp as_of);

    /// As the two above, given the store's version (Store::version()) that the caller read for
    /// this very call, so that a caller who checks it anyway (the Python module, to reuse its
    /// series lookups) begins one read transaction per call, not two. The version must be read
    /// after the caller's previous call on this Reader returned, on this thread: an older one
    /// would hide the writes since. Answers are those of the overloads above.
    BarView last_bars(const SeriesKey& key, Duration timeframe, std::size_t n, Timestamp as_of,
                      std::optional<Alignment> align, std::uint64_t store_version);
    std::optional<std::int64_t> last_price(const SeriesKey& key, Timestamp as_of, std::uint64_t store_version);

    ReaderStats stats() const;
    const ReaderOptions& options() const noexcept;

    /// Evicts every resident entry (spilling it when a spill directory is set), as the budget
    /// would; counters are kept.
    void clear();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// One entry of a spill directory, as `barstore stats` lists it.
struct SpillEntryInfo {
    bool aggregate = false;  ///< false: a raw window of base bars
    SeriesKey key;
    Duration timeframe{};
    Alignment align = Alignment::utc;
    std::string session;  ///< format_session() of the series' session when spilled
    std::uint64_t generation = 0;
    std::uint64_t rows = 0;
    Timestamp first{}, last{};     ///< first and last bar's ts (meaningless when rows == 0)
    std::uint64_t value_bytes = 0;
    bool intact = false;           ///< header and checksum verified
};

struct SpillSummary {
    bool exists = false;           ///< false: no spill environment in the directory
    std::uint64_t file_bytes = 0;  ///< data.mdb as it sits on disk
    std::uint64_t value_bytes = 0;
    std::vector<SpillEntryInfo> entries;
};

/// Reads a spill directory (read-only, safe while a Reader in another process writes to it; not
/// from the process that holds a Reader on it, as LMDB forbids opening one environment twice in a
/// process). exists is false for a missing or empty directory. Throws InvalidInput, without
/// opening anything, for a directory that is not a spill directory (a store, one holding other
/// files: the Reader's rules), IoError / CorruptData when the environment cannot be read.
SpillSummary inspect_spill(const std::filesystem::path& spill_dir);

}  // namespace barstore
