// cache/raw_window.cpp: raw windows of base bars, read ahead, filled back and trimmed in bars.
// Invariant guarded: a window holds every bar of its series with from <= ts < to and no other,
// whatever mix of reads ahead, reads back, fresh starts and trims built it.
#include "cache/raw_window.hpp"

#include <algorithm>

namespace barstore::cache {

namespace {

void reset_raw(Entry& e, i64 at_ts) {
    e.bars.clear();
    e.from = e.to = at_ts;
    e.built = true;
    e.dirty = true;
}

/// Appends the bars from e.to on until `lookahead_bars` bars at or after hi are in (or the
/// series ends): one store read, however far hi is. The store decodes whole chunks, so the
/// rest of the chunk that holds the last of those bars comes along (up to 4x lookahead_bars
/// ahead in all): the next read then starts a chunk instead of decoding this one again.
void fill_forward(Source& src, const SeriesKey& key, Entry& e, i64 hi) {
    src.note_read();
    std::size_t ahead = 0;
    const std::size_t want_ahead = src.opts->lookahead_bars, cap = 4 * src.opts->lookahead_bars;
    i64 next_to = kMaxTs;
    // Returns false once enough is in: later chunks are not decoded.
    src.store->scan(key, at(e.to), at(kMaxTs), [&](const BarColumns& piece) {
        const std::size_t m = piece.size();
        std::size_t k = 0;
        bool reached = false;  // lookahead_bars are in: the rest of this piece, up to the cap
        for (; k < m; ++k) {
            if (piece.ts[k] < hi) continue;
            if (ahead >= want_ahead) {
                reached = true;
                if (ahead >= cap) break;
            }
            ++ahead;
        }
        e.bars.append(piece, 0, k);
        if (k < m) {
            next_to = piece.ts[k];
            return false;
        }
        if (m > 0 && (reached || (ahead > 0 && ahead >= want_ahead))) {
            next_to = piece.ts[m - 1] + 1;  // every bar up to this chunk's last is held
            return false;
        }
        return true;
    });
    e.to = next_to;
    e.dirty = true;
}

/// Prepends the k bars before e.from (fewer at the series' start).
void fill_back(Source& src, const SeriesKey& key, Entry& e, std::size_t k) {
    src.note_read();
    BarColumns older = src.store->read_last(key, k, at(e.from));
    const bool at_series_start = older.size() < k;
    if (!older.empty()) {
        older.reserve(older.size() + e.bars.size());
        older.append(e.bars, 0, e.bars.size());
        e.bars = std::move(older);
    }
    e.from = at_series_start ? kMinTs : e.bars.ts.front();
    e.dirty = true;
}

void trim_raw(Entry& e, i64 hi, std::size_t keep) {
    const std::size_t idx = lower(e, hi);
    if (idx > keep + slack(keep)) {
        e.drop_front(idx - keep);
        e.dirty = true;
    }
}

/// History kept behind the latest request: history_bars, or more if a request asked for more.
std::size_t keep_of(const Source& src, const Entry& e) { return std::max(src.opts->history_bars, e.want); }

}  // namespace

bool serve_raw(Source& src, const SeriesKey& key, Entry& e, i64 hi, std::size_t n) {
    e.want = std::max(e.want, n);
    const std::size_t keep = keep_of(src, e);
    bool miss = false;
    if (!e.built) reset_raw(e, hi);
    if (hi > e.to) {
        if (span_bars(e.to, hi, e.base_ns) > keep + src.opts->lookahead_bars) {
            reset_raw(e, hi);  // a jump: what is held is of no use
            miss = true;
        } else {
            fill_forward(src, key, e, hi);
        }
    }
    if (hi < e.from) {
        reset_raw(e, hi);  // a jump back before the window
        miss = true;
    }
    const std::size_t idx = lower(e, hi);
    if (idx < n && e.from != kMinTs) {
        fill_back(src, key, e, std::max(n, keep) - idx);
        miss = true;
    }
    e.pos = hi;
    trim_raw(e, hi, keep);
    return miss;
}

void reach_raw(Source& src, const SeriesKey& key, Entry& raw, i64 lo, i64 hi) {
    // A window wholly after [lo, hi) (the caller stepped back before it) serves neither this
    // call nor, stepping on from here, the next ones: the caller would read the store for every
    // step until the clock caught up with it. Start it afresh at lo; it reads ahead from there.
    if (!raw.built || hi <= raw.from) reset_raw(raw, lo);
    if (raw.to < hi) {
        if (span_bars(raw.to, hi, raw.base_ns) > keep_of(src, raw) + src.opts->lookahead_bars) reset_raw(raw, hi);
        fill_forward(src, key, raw, hi);
    }
}

void settle_raw(const Source& src, Entry& raw, i64 hi) {
    raw.pos = hi;
    trim_raw(raw, hi, keep_of(src, raw));
}

}  // namespace barstore::cache
