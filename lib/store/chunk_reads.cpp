// store/chunk_reads.cpp: reads of chunk ranges, decoding only the chunks that hold wanted rows:
// a chunk before the range is skipped by its verified header, so a damaged chunk outside a
// read never fails it.
#include "store/chunk_reads.hpp"

#include <algorithm>
#include <vector>

#include "barstore/error.hpp"
#include "barstore/time.hpp"
#include "codec/chunk.hpp"

namespace barstore::chunk_reads {

namespace {
using i64 = std::int64_t;

void decode(std::span<const std::byte> chunk, const std::string& name, i64 key_ts, BarColumns& out,
            bool replace = false) {
    try {
        if (replace)
            codec::decode_chunk_replacing(chunk, out);
        else
            codec::decode_chunk(chunk, out);
    } catch (const CorruptData& e) {
        rethrow_naming(e, name, key_ts);
    }
}
}  // namespace

void rethrow_naming(const CorruptData& e, const std::string& name, i64 key_ts) {
    throw CorruptData(name + " chunk at " + format_time(Timestamp{Duration{key_ts}}) + ": " + e.what());
}

void scan(storage::ChunkCursor& cur, i64 lo, i64 hi, const std::string& name, ScanFn fn) {
    thread_local BarColumns piece;  // reused: a scan of years must not allocate per chunk
    // From the chunk holding `lo`, which starts at or before it; if none does, from the first.
    for (bool ok = cur.seek_floor(lo) || cur.first(); ok; ok = cur.next()) {
        const i64 first_ts = cur.first_ts();
        if (first_ts >= hi) break;
        const auto chunk = cur.value();
        if (first_ts < lo) {
            // The chunk before `lo` may end before it: its (verified) header says, so a read of
            // later rows neither decodes it nor fails if it is corrupt.
            codec::ChunkHeader h;
            try {
                h = codec::read_chunk_header(chunk, true);
            } catch (const CorruptData& e) {
                rethrow_naming(e, name, first_ts);
            }
            if (h.last_ts < lo) continue;
        }
        piece.clear();
        decode(chunk, name, first_ts, piece);
        if (piece.ts.front() < lo || piece.ts.back() >= hi) {
            const auto a = static_cast<std::size_t>(std::lower_bound(piece.ts.begin(), piece.ts.end(), lo) - piece.ts.begin());
            const auto b = static_cast<std::size_t>(std::lower_bound(piece.ts.begin(), piece.ts.end(), hi) - piece.ts.begin());
            BarColumns trimmed;
            trimmed.append(piece, a, b);
            if (!fn(trimmed)) return;
        } else if (!fn(piece)) {
            return;
        }
    }
}

void scan_last(storage::ChunkCursor& cur, i64 hi, const std::string& name, ScanFn fn) {
    // Its own buffer, not scan()'s: reused across calls, so a last-N read in a fresh process
    // faults its pages in once, not once per chunk.
    thread_local BarColumns piece;
    // From the last chunk starting before hi (hi - 1 cannot wrap): a chunk starting at or after
    // it holds nothing we want.
    for (bool ok = cur.seek_floor(hi - 1); ok; ok = cur.prev()) {
        // Replacing, not clear() and append: full chunks then overwrite the rows in place, with
        // no zero-fill of six columns per chunk.
        decode(cur.value(), name, cur.first_ts(), piece, true);
        // Only the newest chunk can hold rows at or after hi; shrinking a vector copies nothing.
        const auto end = static_cast<std::size_t>(std::lower_bound(piece.ts.begin(), piece.ts.end(), hi) - piece.ts.begin());
        if (end < piece.size())
            for (auto* col : piece.columns()) col->resize(end);
        if (!piece.empty() && !fn(piece)) return;
    }
}

BarColumns read_last(storage::ChunkCursor& cur, std::size_t n, i64 hi, std::uint64_t rows_bound, const std::string& name) {
    // Filled from the back, chunk by chunk as they come newest first, so every row is copied
    // once, straight from the decode buffer into its place.
    const std::size_t cap = static_cast<std::size_t>(std::min<std::uint64_t>(n, rows_bound));
    BarColumns out;
    if (cap == 0) return out;
    for (auto* col : out.columns()) col->resize(cap);
    std::size_t have = 0;
    scan_last(cur, hi, name, [&](const BarColumns& piece) {
        const std::size_t take = std::min(piece.size(), cap - have);
        const std::size_t at = cap - have - take, from = piece.size() - take;
        const auto src = piece.columns();
        const auto dst = out.columns();
        for (std::size_t c = 0; c < dst.size(); ++c)
            std::copy_n(src[c]->begin() + static_cast<std::ptrdiff_t>(from), take,
                        dst[c]->begin() + static_cast<std::ptrdiff_t>(at));
        have += take;
        return have < cap;
    });
    // Fewer rows than the bound before hi: move them to the front (only for a short series or a
    // time near its start).
    if (have < cap)
        for (auto* col : out.columns()) col->erase(col->begin(), col->begin() + static_cast<std::ptrdiff_t>(cap - have));
    return out;
}

}  // namespace barstore::chunk_reads
