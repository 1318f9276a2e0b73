// store/prewarm.hpp: the `prewarm` and `aggregates` tables (docs/format.md): records and bin
// chunks of prewarmed aggregates, kept current by every write to their series. Store (store.cpp)
// owns the transactions and the catalog and calls in here with what it read.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "barstore/session.hpp"
#include "barstore/store.hpp"
#include "store/aggregate_build.hpp"
#include "store/prewarm_record.hpp"
#include "storage/lmdb.hpp"

namespace barstore::prewarm {

/// What the prewarm tables need to know of a series, read in the caller's transaction.
struct Series {
    SeriesKey key;
    std::string name;  ///< "SPY 1m", for messages
    std::uint32_t id = 0;
    std::uint64_t generation = 0;
    Scale scale;
    std::string session_text;  ///< canonical (format_session); "24x7" when none is stored
    std::int64_t first_ts = 0;  ///< the series' first bar; meaningless when rows == 0
    std::uint64_t rows = 0;
};

/// What a write did to a series, for maintain(): bins of bars before `from` are unchanged.
struct Change {
    static constexpr std::int64_t kEverything = std::numeric_limits<std::int64_t>::min();
    static constexpr std::int64_t kNoBars = std::numeric_limits<std::int64_t>::max();
    std::uint64_t old_generation = 0;
    std::string old_session_text;
    Scale old_scale;
    /// The first time whose bars may have changed; kEverything (a rescale, or from the first
    /// bar on), or kNoBars (set_session: the bars stay).
    std::int64_t from = kEverything;
};

/// One stored aggregate of a series: its spec from the key, its record unless that is damaged.
struct Entry {
    AggregateSpec spec;
    std::optional<Record> record;
    std::string damage;  ///< why the record could not be decoded
};

/// Whether `r` was built from the series as it is: the readers' condition.
inline bool is_current(const Record& r, const Series& s) {
    return r.built_generation == s.generation && r.session == s.session_text && r.scale == s.scale;
}

PrewarmedInfo to_info(const AggregateSpec& spec, const Record& r, const Series& s);

class Tables {
public:
    /// The three tables; absent (present == false) in a store opened read-only that predates
    /// prewarming: it has none.
    MDB_dbi chunks = 0, records = 0, bins = 0;
    bool present = false;

    /// The series' aggregates in key order: timeframe, then alignment.
    std::vector<Entry> list(const storage::Txn& txn, std::uint32_t series_id) const;
    /// One aggregate's record; nullopt if none. Throws CorruptData naming it if it is damaged.
    std::optional<Record> find(const storage::Txn& txn, const Series& s, const AggregateSpec& spec) const;

    /// Computes the whole of every spec from the series' base chunks (no write).
    std::vector<Built> compute(const storage::Txn& txn, const Series& s, const Session& session,
                               std::span<const AggregateSpec> specs, unsigned threads, std::uint64_t* bars) const;
    /// Replaces each spec's chunks and record by `built` (from compute(), for the series as `s`).
    void put_whole(storage::Txn& txn, const Series& s, std::span<const AggregateSpec> specs, std::vector<Built> built);
    /// Brings every aggregate of the series up to date after a write that made it `s`
    /// (generation, session, scale) from what `change` says it was (store.hpp, Store::write).
    void maintain(storage::Txn& txn, const Series& s, const Session& session, const Change& change);
    /// Deletes one aggregate (chunks by key, record), or all of a series; returns how many had a
    /// record or chunks.
    std::size_t drop(storage::Txn& txn, std::uint32_t series_id, std::optional<AggregateSpec> spec);

    /// Store::scan_prewarmed and read_last_prewarmed, in the caller's read transaction.
    bool scan(const storage::Txn& txn, const Series& s, const AggregateSpec& spec, std::uint64_t generation,
              std::int64_t lo, std::int64_t hi, ScanFn fn) const;
    std::optional<BarColumns> read_last(const storage::Txn& txn, const Series& s, const AggregateSpec& spec,
                                        std::uint64_t generation, std::size_t n, std::int64_t before) const;

    /// Store::verify for the series' aggregates, with the series' session (nullptr if its stored
    /// text is damaged: session bins are then not checked). `deep` also recomputes the current,
    /// undamaged ones (only if `base_ok`: every base chunk decoded).
    void verify(const storage::Txn& txn, const Series& s, const Session* session, bool deep, bool base_ok,
                std::vector<VerifyProblem>& problems) const;
    /// Aggregates whose series id no catalog record has.
    void verify_orphans(const storage::Txn& txn, const std::set<std::uint32_t>& series_ids,
                        std::vector<VerifyProblem>& problems) const;

private:
    std::vector<BaseChunk> base_from(const storage::Txn& txn, std::uint32_t series_id, std::int64_t from) const;
};

}  // namespace barstore::prewarm
