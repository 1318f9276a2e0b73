// barstore/store.hpp: open a store, write series batches, read bars back as columns.
#pragma once
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "barstore/batch.hpp"
#include "barstore/resample.hpp"
#include "barstore/session.hpp"
#include "barstore/types.hpp"

namespace barstore {

struct StoreOptions {
    bool read_only = false;
    /// LMDB map size: address space, not disk; sparse files make a large default free. The
    /// most the store may hold: a write beyond it throws StorageFull and changes nothing; reopen
    /// with a larger size to go on. Another process's larger size is adopted automatically.
    std::uint64_t map_size_bytes = std::uint64_t{1} << 40;
    /// Reader slots: processes and threads reading at the same moment.
    unsigned max_readers = 1024;
    /// LMDB's locks and shared map are unsafe on NFS/SMB/CIFS/AFS/Ceph, so open() refuses a
    /// store directory there with IoError; set this only if a single host ever opens the store.
    /// A snapshot file needs no lock and opens on any file system (docs/deploy.md says when a
    /// shared mount of one is safe).
    bool allow_network_fs = false;
};

/// What the catalog records about one series.
struct SeriesInfo {
    SeriesKey key;
    Scale scale;
    std::uint64_t rows = 0;
    std::uint64_t chunks = 0;
    std::uint64_t stored_bytes = 0;  ///< sum of chunk value sizes (keys and LMDB pages excluded)
    std::uint64_t disk_bytes = 0;    ///< LMDB pages the chunks occupy; filled by info() only
    std::uint64_t generation = 0;    ///< changes with every write to the series
    Timestamp first{}, last{};       ///< first and last bar's ts; meaningless when rows == 0
    Session session;                 ///< 24x7 unless set (ingest --session, set_session)
};

enum class WriteMode {
    append,   ///< bars must start after the series' last bar
    replace,  ///< bars replace the stored bars in [first new ts, last new ts]; stored chunks
              ///< wholly inside that range are dropped unread, so a corrupt one can be replaced
};

/// An aggregate a store can keep prewarmed for a series: its bins at `timeframe` with `align`,
/// exactly as resample() (and query()) bins the series' base bars with the series' session.
struct AggregateSpec {
    Duration timeframe{};
    Alignment align = Alignment::utc;
    friend bool operator==(const AggregateSpec&, const AggregateSpec&) = default;
    friend auto operator<=>(const AggregateSpec&, const AggregateSpec&) = default;
};

/// What the store records about one prewarmed aggregate of a series (docs/format.md, "`prewarm`").
struct PrewarmedInfo {
    AggregateSpec spec;
    std::string session;                ///< canonical text of the session it was built for
    std::uint64_t rows = 0;             ///< bins
    std::uint64_t chunks = 0;
    std::uint64_t stored_bytes = 0;     ///< sum of its chunk value sizes
    std::uint64_t built_generation = 0; ///< the series generation its bins were computed from
    Timestamp first{}, last{};          ///< first and last bin label; meaningless when rows == 0
    /// built_generation is the series' generation and `session` its session: readers use it.
    /// Only a write by a barstore that predates prewarming (which leaves aggregates as they
    /// were) makes one stale; the next write or prewarm of the series rebuilds it.
    bool current = false;
};

struct PrewarmOptions {
    /// Threads that decode, fold and encode; 0: one per core.
    unsigned threads = 0;
};

/// What Store::prewarm did, per requested spec (in request order, each spec once).
struct PrewarmOutcome {
    struct Item {
        PrewarmedInfo info;  ///< as stored after the call
        bool built = false;  ///< computed and stored now; false: it was current, left as it was
    };
    std::vector<Item> items;
    std::uint64_t base_bars = 0;  ///< base bars folded (0 when every spec was current)
};

/// One chunk that failed verification.
struct VerifyProblem {
    SeriesKey key;
    /// The chunk's time range as its key and header say. For a chunk that cannot be decoded,
    /// the range the keys allow: from its key to one base before the next chunk's key (or to
    /// the series' last bar), which remove() or a replace of that range cuts out whole.
    Timestamp first{}, last{};
    std::string reason;
    bool undecodable = false;  ///< failed its checksum or header: none of its bars can be read
    /// Set for a problem of a prewarmed aggregate of the series, not of its base bars: first and
    /// last are then bin labels. Aggregates are derived data: drop_prewarmed and prewarm again
    /// repair any of them, and readers fall back to the base bars meanwhile.
    std::optional<AggregateSpec> aggregate;
};

struct VerifyOptions {
    /// Also recompute every current prewarmed aggregate from its base bars and report each one
    /// that differs, at its first differing bin. Costs a full read of every prewarmed series.
    bool deep = false;
};

// ---- Many processes, one store: compaction and snapshots (docs/deploy.md) ----------------------

/// What Store::compact_to and Store::snapshot_to wrote, in bytes: the data file of the store
/// copied (its data.mdb, or the snapshot it was opened from) and the copy's.
struct CopyInfo {
    std::uint64_t source_bytes = 0;
    std::uint64_t copy_bytes = 0;
};

/// What Store::scan calls with each piece of bars: any callable taking `const BarColumns&` that
/// returns void (go on) or bool (false stops the scan, and no later chunk is read). Refers to
/// the caller's callable without copying it, so it must outlive the scan (a lambda written in
/// the call does).
class ScanFn {
public:
    template <class F>
        requires(!std::same_as<std::remove_cvref_t<F>, ScanFn> && std::invocable<F&, const BarColumns&>)
    ScanFn(F&& fn) noexcept  // implicit, so that a lambda converts
        : fn_(const_cast<void*>(static_cast<const void*>(std::addressof(fn)))), call_(&call<std::remove_reference_t<F>>) {}
    /// Whether to go on.
    bool operator()(const BarColumns& piece) const { return call_(fn_, piece); }

private:
    template <class F>
    static bool call(void* fn, const BarColumns& piece) {
        if constexpr (std::is_void_v<std::invoke_result_t<F&, const BarColumns&>>) {
            (*static_cast<F*>(fn))(piece);
            return true;
        } else {
            return static_cast<bool>((*static_cast<F*>(fn))(piece));
        }
    }
    void* fn_;
    bool (*call_)(void*, const BarColumns&);
};

/// A store: one directory, one LMDB environment (docs/format.md).
///
/// Thread-safety: every call is its own LMDB transaction, so one Store may be used from any
/// number of threads at once, as may several Stores on one directory, in this process or others
/// (the process shares one environment per store). A read sees one commit, whole; writes (write,
/// set_session, remove, prewarm, drop_prewarmed) serialise on the store's writer lock, across
/// threads and processes. Returned values are owned copies, except the columns scan(), scan_last()
/// and scan_prewarmed() lend their callback.
///
/// Prewarmed aggregates (docs/format.md, "`prewarm`"): bins of a series kept in the store beside
/// its chunks, so that every reader in every process gets them from the same mapped pages. Every
/// write to a series (write, remove, set_session) brings its prewarmed aggregates up to date in
/// the same transaction, recomputing only from the first bin the write touches; a reader checks
/// the series generation in the same read transaction as the bins, so it never sees bins of
/// other base bars than the ones stored beside them.
///
/// Errors (barstore/error.hpp): every call that reads or writes may also throw IoError (the OS or
/// LMDB refused, e.g. no reader slot left: raise max_readers), StorageFull (an I/O error on a full
/// file system) and CorruptData (LMDB found a damaged page, or a catalog record, key or stored
/// session is malformed); each call lists what else it throws. A throwing write leaves the store
/// exactly as it was.
class Store {
public:
    /// Opens (read-write: creates) the store in `dir`. When `dir` is a regular file it is a
    /// snapshot (snapshot_to): opened read-only, without a lock file; it must be opened with
    /// read_only set. Read-only, a store whose lock.mdb this user cannot write (permissions, a
    /// read-only mount) opens without a lock file if its data.mdb is frozen (nobody may write it,
    /// chmod a-w), and is refused otherwise (docs/reliability.md, "Read-only stores and
    /// snapshots"). Throws NotFound (read-only, and no store is there: no directory, no or an
    /// empty data.mdb, or an LMDB environment without barstore's tables), InvalidInput (`dir` is a
    /// Reader's spill directory; a read-write open of a snapshot, of a frozen store, or of a store
    /// this process has open read-only on files it cannot write; a file that is not a snapshot),
    /// IoError (the directory cannot be made or read, a network file system, LMDB; read-only, a
    /// lock.mdb this user cannot write on a store that is not frozen), StorageFull (no room for
    /// lock.mdb or the new store), CorruptData (data.mdb truncated or damaged, or a store format
    /// this build does not read).
    static Store open(const std::filesystem::path& dir, StoreOptions opts = {});
    Store(Store&&) noexcept;
    Store& operator=(Store&&) noexcept;
    ~Store();

    /// Writes every batch in one LMDB transaction: all of it or nothing. Throws InvalidInput (the
    /// store is read-only; a bad symbol, a base <= 0, decimals outside 0..18, bars that fail
    /// check_bars, bars at or before the last bar without replace, a value that does not fit int64
    /// at the reconciled decimals, a session no bar of the base can start in), StorageFull,
    /// IoError, and CorruptData when a stored chunk the write must rewrite (not one it replaces
    /// whole) cannot be decoded, or the catalog's counts disagree with the chunks.
    /// A batch with more decimals than the series has rescales the stored series; one with fewer
    /// is scaled up to the series' decimals (docs/format.md, "Scale").
    /// The series' prewarmed aggregates are recomputed in the same transaction from the bin that
    /// holds the first written bar (all of them after a rescale or a session change of a
    /// session-aligned one). One whose damaged chunk or record stands in the way is rebuilt from
    /// the base bars; one whose base bars cannot be decoded is dropped (readers then aggregate
    /// the base bars themselves, and verify reports the damaged chunk).
    void write(std::span<const SeriesBatch> batches, WriteMode mode = WriteMode::append);

    /// A write transaction fed batches as they come, so that a file far bigger than memory is
    /// still written all or nothing (load_file streams CSV through one). write() is begin_write,
    /// add() of each batch, commit(). Holds the store's writer lock until commit() or its
    /// destruction, which aborts: nothing it was given is written.
    class Writer;
    /// Throws InvalidInput when the store is read-only.
    Writer begin_write(WriteMode mode = WriteMode::append);

    /// Sets a series' session; a write like any other, so its generation changes and anything
    /// derived from it (cache entries keyed by generation) is invalidated. Its session-aligned
    /// prewarmed aggregates are recomputed for the new session; utc ones keep their bins (a
    /// session does not move them) and are recorded as built for the new session.
    /// Throws NotFound for an unknown series, InvalidInput (the store is read-only, an unknown
    /// zone, a session no bar of the series' base can start in).
    void set_session(const SeriesKey& key, const Session& session);

    /// Removes bars of one series in one write transaction, all or nothing; the generation
    /// changes when a bar goes. Without `from` and `to`, the whole series: its bars, catalog
    /// row and session (a later write starts a new series). With either, the bars with ts in
    /// [from, to) (an absent bound is open), as read() and query's --from/--to count them; the
    /// series stays, with its decimals and session, even when no bar is left. Prewarmed
    /// aggregates go with the whole series, or are recomputed from the bin holding `from` on
    /// (as write() says). Chunks wholly in
    /// the range are dropped unread, so a chunk that fails its checksum can be cut out (and its
    /// bars written again); only chunks across the range's ends, and after it until the bars
    /// fill whole chunks again, are decoded. Returns the number of bars removed: 0 (and no
    /// write) when none lies in the range. Throws NotFound for an unknown series, InvalidInput
    /// when from > to or the store is read-only, CorruptData (naming the chunk and the range
    /// that would cut it out) when a chunk that must be decoded cannot be, StorageFull, IoError.
    std::uint64_t remove(const SeriesKey& key, std::optional<Timestamp> from = std::nullopt,
                         std::optional<Timestamp> to = std::nullopt);

    /// Every series, in catalog order (symbol bytes, then base).
    std::vector<SeriesInfo> list() const;
    /// One series' record with disk_bytes; nullopt if unknown. Walks the series' chunk keys.
    std::optional<SeriesInfo> info(const SeriesKey& key) const;
    /// The catalog record alone (disk_bytes left 0): one key lookup, for hot paths.
    std::optional<SeriesInfo> info_fast(const SeriesKey& key) const;
    /// Every series with this symbol, finest base first.
    std::vector<SeriesInfo> find(std::string_view symbol) const;
    /// The series a user means by `symbol` when asking for `timeframe` (the CLI, the Python
    /// module and engines resolve alike): the only one; with no timeframe, the finest; else the
    /// coarsest whose base divides the timeframe (fewest base bars to fold). Throws NotFound
    /// (no series of that symbol) or InvalidInput (no base divides the timeframe).
    SeriesInfo resolve(std::string_view symbol, std::optional<Duration> timeframe) const;

    /// Bars with ts in [from, to). Empty if the series is unknown. The result is owned.
    /// Throws CorruptData naming the chunk.
    BarColumns read(const SeriesKey& key, Timestamp from, Timestamp to) const;
    /// Calls `fn` with the bars in [from, to) in time order, one chunk's worth at a time, so an
    /// aggregation never materialises the range; stops when `fn` returns false (ScanFn). One read
    /// transaction. The columns passed are valid only during the call, and fn must not call read()
    /// or scan() of any Store on the same thread (they reuse the buffer it is reading). Throws
    /// CorruptData naming the chunk, and whatever fn throws (the scan then ends).
    void scan(const SeriesKey& key, Timestamp from, Timestamp to, ScanFn fn) const;
    /// The last `n` bars with ts < before (fewer if the series is shorter). Throws CorruptData
    /// naming the chunk. Reads backwards (scan_last), decoding only the chunks that hold them.
    BarColumns read_last(const SeriesKey& key, std::size_t n, Timestamp before) const;
    /// Calls `fn` with the bars with ts < before, one chunk's worth at a time, NEWEST CHUNK FIRST
    /// (the bars of each piece in time order, all later than those of every piece given after it),
    /// until `fn` returns false or the series' first bar was given: so a reader of the last bars
    /// (last N bars, the bins holding them) decodes only the chunks it needs and never
    /// materialises them. One read transaction; nothing for an unknown series. Each chunk is
    /// decoded into one buffer kept per thread and reused, so a warm thread allocates nothing.
    /// The columns passed are valid only during the call, and fn must not call read(),
    /// read_last(), scan() or scan_last() of any Store on the same thread. Throws CorruptData
    /// naming the chunk (only chunks reached are decoded), and whatever fn throws.
    void scan_last(const SeriesKey& key, Timestamp before, ScanFn fn) const;

    /// Decodes every chunk, checks checksums and invariants; returns each bad chunk (a damaged
    /// chunk is a problem returned, not thrown). Prewarmed aggregates too: their records and
    /// chunks (checksums, bin order, full chunks, counts against the record), stale ones, ones
    /// whose series is gone; with opts.deep, that each current one equals a fresh aggregation of
    /// its base bars.
    std::vector<VerifyProblem> verify(const VerifyOptions& opts = {}) const;

    /// The series' prewarmed aggregates, in (timeframe, alignment) order; empty for an unknown
    /// series or a store without any. Throws CorruptData naming a damaged record.
    std::vector<PrewarmedInfo> prewarmed(const SeriesKey& key) const;

    /// Computes each spec's bins over the whole series, with its present session, exactly as
    /// resample() does (an incomplete last bin included; a bin whose volume sum does not fit
    /// int64 is stored with volume kVolumeOverflow), and stores them with a record of what they
    /// were built from, EACH SPEC IN ITS OWN write transaction, in request order: each one all
    /// or nothing, so that an interrupted call (a kill, StorageFull) keeps the specs already
    /// stored, and a second call stores only the rest. A spec that is already current is skipped
    /// (its item says so); when all are, nothing is written. The base bars are read once for all
    /// specs, decoded, folded and encoded on `opts.threads` threads, outside any write
    /// transaction (each holds the writer lock only to store one spec's bins). If the series is
    /// written between the compute and a store, the specs not yet stored are computed again
    /// inside that write transaction and stored in it, together. An empty series gets empty
    /// aggregates. Throws NotFound for an
    /// unknown series, InvalidInput (the store is read-only; a spec the Binner refuses: a
    /// timeframe that is not a multiple of the base or past kMaxTimeframe, a session-aligned one
    /// other than < 1d, 1d or 1w), CorruptData naming a base chunk that cannot be decoded,
    /// StorageFull, IoError.
    PrewarmOutcome prewarm(const SeriesKey& key, std::span<const AggregateSpec> specs, const PrewarmOptions& opts = {});
    PrewarmOutcome prewarm(const SeriesKey& key, const AggregateSpec& spec, const PrewarmOptions& opts = {});

    /// Removes one prewarmed aggregate of the series (or, without `spec`, all of them) in one
    /// write transaction, its chunks by key (none is read, so a damaged one goes too); returns
    /// how many went (0: none was there, nothing written). The series and its generation are
    /// unchanged. Throws NotFound for an unknown series, InvalidInput when the store is
    /// read-only, StorageFull, IoError.
    std::size_t drop_prewarmed(const SeriesKey& key, std::optional<AggregateSpec> spec = std::nullopt);

    /// Calls `fn` with the prewarmed bins of `spec` whose label is in [from_label, to_label), in
    /// label order, one chunk's worth at a time (as scan() does with base bars, with the same
    /// lending and reentrancy rules), if the store holds that aggregate built for the series'
    /// present session from base bars of `generation`, and the series is at `generation`: all
    /// checked in the same read transaction as the bins are read, so the bins are those of the
    /// stored base bars. Otherwise returns false without calling fn (the caller aggregates the
    /// base bars itself). Returns true when it scanned, even if no bin was in range. A bin
    /// whose volume sum did not fit int64 has volume kVolumeOverflow. Throws CorruptData naming
    /// the aggregate and its chunk (or its record) when one it needs is damaged (the caller
    /// falls back to the base bars), and whatever fn throws.
    bool scan_prewarmed(const SeriesKey& key, const AggregateSpec& spec, std::uint64_t generation,
                        Timestamp from_label, Timestamp to_label, ScanFn fn) const;
    /// The last `n` prewarmed bins of `spec` with label < before (fewer if there are fewer),
    /// under the same conditions as scan_prewarmed, else nullopt. Throws CorruptData as it does.
    std::optional<BarColumns> read_last_prewarmed(const SeriesKey& key, const AggregateSpec& spec,
                                                  std::uint64_t generation, std::size_t n, Timestamp before) const;

    /// The store's version: changes with every commit to it, by any Store or process, so equal
    /// versions mean nothing was written in between. Costs one read transaction's begin (tens of
    /// ns), less than any catalog lookup: for caches that check before every call. (barstore's
    /// own version is barstore::version(), version.hpp.)
    std::uint64_t version() const;

    // ---- Many processes, one store: compaction and snapshots (docs/deploy.md) ------------------
    /// Writes a compacted copy of the store, as of its newest commit, as a new store in `dir`
    /// (absent or an empty directory): LMDB's compacting copy, live pages only, so the space of
    /// removed or rewritten bars is given back. Everything in the store is copied, tables added
    /// later included; the copy is a normal store (read-write, generations kept). Safe while
    /// writers write (they go on; the copy is one commit, whole). Written under a temporary name
    /// beside `dir` (`dir`.tmp-PID-N), synced and renamed into place when complete, so a kill
    /// leaves nothing under `dir` (only the temporary directory). Throws InvalidInput (`dir` is a
    /// file or a non-empty directory, or its parent does not exist), StorageFull, IoError,
    /// CorruptData (LMDB found the store's pages damaged).
    CopyInfo compact_to(const std::filesystem::path& dir) const;
    /// Writes a snapshot of the store, as of its newest commit, to the new file `file`: the same
    /// compacted copy as compact_to, as one file of mode 0444 that Store::open reads when given
    /// it, read-only and without a lock file, on any machine and file system (docs/deploy.md).
    /// Safe while writers write. Never written over: `file` must not exist (processes may have
    /// an older one mapped; publish a new snapshot under a new name, or rename it into place).
    /// Written under `file`.tmp-PID-N, synced, then renamed, so a kill never leaves a partial file
    /// under `file`. Throws as compact_to, and InvalidInput when `file` exists.
    CopyInfo snapshot_to(const std::filesystem::path& file) const;
    /// Whether this Store was opened from a snapshot file.
    bool is_snapshot() const noexcept;

    const std::filesystem::path& path() const noexcept;

private:
    struct Impl;  // keeps lmdb.h and zstd.h out of public headers
    explicit Store(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

class Store::Writer {
public:
    Writer(Writer&&) noexcept;
    Writer& operator=(Writer&&) noexcept;
    ~Writer();

    /// Checks and splices one batch as write() does, in this transaction. Batches of one series
    /// must come in time order, each after the last bar of the one before; together they write
    /// what one batch of all their bars would (with replace: the stored bars from the first
    /// batch's first bar to the last batch's last go). Throws as write() does; after a throw the
    /// writer refuses further calls (Errc::internal) and its destruction writes nothing.
    void add(const SeriesBatch& batch);
    /// add(), except that in append mode the bars may be held (up to ~12 MiB of them in all)
    /// until they fill whole chunks, or until commit(): a series fed in small pieces (a
    /// long-format file of many symbols read a block at a time) then does not rewrite its last
    /// chunk for each piece, whose freed pages one LMDB transaction cannot reuse. Its errors
    /// may therefore come from a later call.
    void stage(SeriesBatch&& batch);
    /// Renames a series that this writer created (load_file: a CSV's inferred base that a later
    /// part of the file shows to be smaller). Throws InvalidInput when `from` was not created by
    /// this writer or `to` exists.
    void rename(const SeriesKey& from, const SeriesKey& to);
    /// Store::find, as this transaction sees the store.
    std::vector<SeriesInfo> find(std::string_view symbol) const;
    /// Brings the written series' prewarmed aggregates up to date, then commits: everything
    /// added, or (on a throw) nothing.
    void commit();

private:
    friend class Store;
    struct State;
    explicit Writer(std::unique_ptr<State> s);
    std::unique_ptr<State> s_;
};

}  // namespace barstore
