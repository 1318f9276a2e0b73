// barstore/store.hpp: open a store, write series batches, read bars back as columns.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "barstore/ingest.hpp"
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
    /// LMDB's locks and shared map are unsafe on NFS/SMB/CIFS/AFS/Ceph, so open() refuses them
    /// with IoError; set this only if a single host ever opens the store.
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

/// One chunk that failed verification.
struct VerifyProblem {
    SeriesKey key;
    /// The chunk's time range as its key and header say. For a chunk that cannot be decoded,
    /// the range the keys allow: from its key to one base before the next chunk's key (or to
    /// the series' last bar), which remove() or a replace of that range cuts out whole.
    Timestamp first{}, last{};
    std::string reason;
    bool undecodable = false;  ///< failed its checksum or header: none of its bars can be read
};

class Store {
public:
    /// Opens (read-write: creates) the store in `dir`. Throws IoError, CorruptData.
    static Store open(const std::filesystem::path& dir, StoreOptions opts = {});
    Store(Store&&) noexcept;
    Store& operator=(Store&&) noexcept;
    ~Store();

    /// Writes every batch in one LMDB transaction: all of it or nothing. Batches must pass
    /// check_bars. Throws InvalidInput (bars at or before the last bar without replace, a scale
    /// that cannot be reconciled, a base that differs), StorageFull, IoError, and CorruptData
    /// when a stored chunk the write must rewrite (not one it replaces whole) cannot be decoded.
    /// A batch with more decimals than the series has rescales the stored series; one with fewer
    /// is scaled up to the series' decimals (docs/format.md, "Scale").
    void write(std::span<const SeriesBatch> batches, WriteMode mode = WriteMode::append);

    /// Sets a series' session; a write like any other, so its generation changes and anything
    /// derived from it (aggregates, cache entries keyed by generation) is invalidated.
    /// Throws NotFound for an unknown series.
    void set_session(const SeriesKey& key, const Session& session);

    /// Removes bars of one series in one write transaction, all or nothing; the generation
    /// changes when a bar goes. Without `from` and `to`, the whole series: its bars, catalog
    /// row and session (a later write starts a new series). With either, the bars with ts in
    /// [from, to) (an absent bound is open), as read() and query's --from/--to count them; the
    /// series stays, with its decimals and session, even when no bar is left. Chunks wholly in
    /// the range are dropped unread, so a chunk that fails its checksum can be cut out (and its
    /// bars written again); only chunks across the range's ends, and after it until the bars
    /// fill whole chunks again, are decoded. Returns the number of bars removed: 0 (and no
    /// write) when none lies in the range. Throws NotFound for an unknown series, InvalidInput
    /// when from > to or the store is read-only, CorruptData (naming the chunk and the range
    /// that would cut it out) when a chunk that must be decoded cannot be, StorageFull, IoError.
    std::uint64_t remove(const SeriesKey& key, std::optional<Timestamp> from = std::nullopt,
                         std::optional<Timestamp> to = std::nullopt);

    std::vector<SeriesInfo> list() const;
    std::optional<SeriesInfo> info(const SeriesKey& key) const;
    /// The catalog record alone (disk_bytes left 0): one key lookup, for hot paths.
    std::optional<SeriesInfo> info_fast(const SeriesKey& key) const;
    /// Every series with this symbol, finest base first.
    std::vector<SeriesInfo> find(std::string_view symbol) const;

    /// Bars with ts in [from, to). Empty if the series is unknown. The result is owned.
    /// Each call is one short read transaction. Throws CorruptData naming the chunk.
    BarColumns read(const SeriesKey& key, Timestamp from, Timestamp to) const;
    /// Calls `fn` with the bars in [from, to) in time order, one chunk's worth at a time, so an
    /// aggregation never materialises the range. The columns passed are valid only during the call.
    void scan(const SeriesKey& key, Timestamp from, Timestamp to,
              const std::function<void(const BarColumns&)>& fn) const;
    /// The last `n` bars with ts < before (fewer if the series is shorter).
    BarColumns read_last(const SeriesKey& key, std::size_t n, Timestamp before) const;

    /// Decodes every chunk, checks checksums and invariants; returns each bad chunk.
    std::vector<VerifyProblem> verify() const;

    const std::filesystem::path& path() const noexcept;

private:
    struct Impl;  // keeps lmdb.h and zstd.h out of public headers
    explicit Store(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace barstore
