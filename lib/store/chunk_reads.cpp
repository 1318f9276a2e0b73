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

void decode(std::span<const std::byte> chunk, const std::string& name, i64 key_ts, BarColumns& out) {
    try {
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

BarColumns read_last(storage::ChunkCursor& cur, std::size_t n, i64 hi, const std::string& name) {
    BarColumns out;
    std::vector<BarColumns> parts;  // newest first
    std::size_t have = 0;
    // From the last chunk starting before hi (hi - 1 cannot wrap): a chunk starting at or after
    // it holds nothing we want.
    for (bool ok = cur.seek_floor(hi - 1); ok && have < n; ok = cur.prev()) {
        BarColumns c;
        decode(cur.value(), name, cur.first_ts(), c);
        const auto end = static_cast<std::size_t>(std::lower_bound(c.ts.begin(), c.ts.end(), hi) - c.ts.begin());
        const std::size_t take = std::min(end, n - have);
        BarColumns piece;
        piece.append(c, end - take, end);
        have += take;
        parts.push_back(std::move(piece));
    }
    out.reserve(have);
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) out.append(*it, 0, it->size());
    return out;
}

}  // namespace barstore::chunk_reads
