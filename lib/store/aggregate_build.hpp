// store/aggregate_build.hpp: computes prewarmed aggregates: a series' base chunks decoded,
// folded into bins (aggregate::fold_runs, so the bins are resample()'s) and encoded into bin
// chunks of kChunkRows, on several threads, touching no LMDB. The caller reads the chunks and
// stores the result (store/prewarm.cpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "barstore/session.hpp"
#include "barstore/store.hpp"
#include "barstore/types.hpp"

namespace barstore::prewarm {

/// One base chunk, its value borrowed from the transaction that read it: it must stay valid
/// (no write in that transaction) until build() returns.
struct BaseChunk {
    std::int64_t first_ts = 0;
    std::span<const std::byte> value;
};

/// One aggregate to compute: its bins with label >= from_label, after `head`: the stored bins
/// with label < from_label that share the first chunk to be rewritten (empty for a whole build,
/// from_label = INT64_MIN). Every bin of head must end by from_label.
struct Job {
    AggregateSpec spec;
    std::int64_t from_label = std::numeric_limits<std::int64_t>::min();
    BarColumns head;
};

/// The chunks of one job: head and the new bins, every chunk but the last kChunkRows bins.
struct Built {
    std::vector<std::int64_t> chunk_labels;  ///< each chunk's first bin label: its key
    std::vector<std::vector<std::byte>> chunks;
    std::uint64_t rows = 0, bytes = 0;
    std::int64_t first = 0, last = 0;  ///< first and last bin label; meaningless when rows == 0
};

/// Folds the bars of `base` (one series' chunks in time order, from one holding the smallest
/// from_label or earlier, to the series' last) into every job's bins at once, with `session`,
/// and encodes them. `threads` workers (0: one per core), each a contiguous run of base chunks,
/// merged in order: the result equals a fold of all the bars on one thread. `bars_folded`, if
/// given, gets the number of base bars decoded. Throws CorruptData naming a base chunk that
/// cannot be decoded (`series` names the series, as Store's messages do), InvalidInput for a
/// spec the Binner refuses.
std::vector<Built> build(const SeriesKey& key, const std::string& series, const Session& session,
                         std::span<const BaseChunk> base, std::vector<Job> jobs, unsigned threads,
                         std::uint64_t* bars_folded = nullptr);

/// The aggregate's name in messages: "SPY 1m prewarmed 5m session".
std::string describe(const std::string& series, const AggregateSpec& spec);

}  // namespace barstore::prewarm
