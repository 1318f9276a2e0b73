// ingest/csv_internal.hpp: knobs of the CSV parser that tests turn (thread count, when to go
// parallel) so the multi-threaded path can be checked on small inputs; not public API.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "barstore/ingest.hpp"

namespace barstore::csv_detail {

struct Tuning {
    unsigned threads = 0;                       ///< 0: std::thread::hardware_concurrency(), capped
    std::size_t parallel_min_bytes = 4u << 20;  ///< inputs up to this size parse on one thread
    std::size_t min_chunk_bytes = 1u << 20;     ///< never split into pieces smaller than this
};

/// parse_csv with explicit tuning; parse_csv(data, name, opts) is this with Tuning{}.
std::vector<SeriesBatch> parse_csv(std::string_view data, const std::string& name,
                                   const ParseOptions& opts, const Tuning& tuning);

}  // namespace barstore::csv_detail
