// ingest/csv_internal.hpp: knobs of the CSV parser that tests turn (thread count, when to go
// parallel) so the multi-threaded path can be checked on small inputs; not public API.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "barstore/ingest.hpp"

namespace barstore::csv_detail {

struct Tuning {
    unsigned threads = 0;                       ///< 0: std::thread::hardware_concurrency(), capped
    std::size_t parallel_min_bytes = 4u << 20;  ///< inputs up to this size parse on one thread
    std::size_t min_chunk_bytes = 1u << 20;     ///< never split into pieces smaller than this
    /// Text parsed at a time: memory follows it, not the file. parse_csv of bytes already in
    /// memory takes them in one block unless a test asks for more.
    std::size_t block_bytes = std::numeric_limits<std::size_t>::max();
};

/// Where stream_csv reads text from: whole lines a block at a time.
class TextSource {
public:
    virtual ~TextSource() = default;
    /// How many bytes of `rest` (text not yet handed out) make the next block: whole lines, about
    /// `block_bytes`; 0 when `rest` holds no newline yet and more text may follow (`at_end` false).
    using CutFn = std::size_t (*)(std::string_view rest, std::size_t block_bytes, bool at_end);
    struct Block {
        std::string_view text;  ///< valid until the next call
        bool last;              ///< no text follows it
    };
    virtual Block next(std::size_t block_bytes, CutFn cut) = 0;
    virtual std::uint64_t done_bytes() const = 0;   ///< input consumed so far (compressed bytes for a compressed file)
    virtual std::uint64_t total_bytes() const = 0;  ///< the input's size; 0 when unknown (a pipe)
};

/// Parses CSV from `source` a block at a time and hands each series' bars to `fn` in pieces, as
/// barstore::stream_file says (an inferred base may be lowered by a later piece).
void stream_csv(TextSource& source, const std::string& name, const ParseOptions& opts, const Tuning& tuning,
                const PieceFn& fn);

/// parse_csv with explicit tuning; parse_csv(data, name, opts) is this with Tuning{}.
std::vector<SeriesBatch> parse_csv(std::string_view data, const std::string& name,
                                   const ParseOptions& opts, const Tuning& tuning);

}  // namespace barstore::csv_detail
