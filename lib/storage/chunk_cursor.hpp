// storage/chunk_cursor.hpp: a cursor bounded to one series' chunks, so that the store speaks in
// series and times, never in raw keys, MDB_SET_RANGE or key sizes.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

#include "storage/keys.hpp"
#include "storage/lmdb.hpp"

namespace barstore::storage {

/// Walks, in time order, the entries of one table whose keys are a fixed `prefix` followed by a
/// time key (keys.hpp): one series' chunks in `chunks` (prefix: series_prefix(id)), or any table
/// keyed the same way with a longer prefix, such as aggregates keyed (series, timeframe, first
/// ts). It never leaves the prefix: a move that would (or that finds nothing) returns false and
/// leaves the cursor unpositioned; only a positioned cursor may move by next()/prev() or be read.
/// A key that starts with the prefix but is not prefix + time ends a walk like another prefix's
/// key would (tables keyed this way hold no such key).
///
/// Costs: a seek is one B-tree descent; next()/prev() are LMDB cursor steps. Values are borrowed
/// from LMDB's map: valid until the transaction ends or the next write in it. Not thread-safe,
/// like the Txn it belongs to; closed (by the destructor) before a write transaction commits.
class ChunkCursor {
public:
    /// Longest prefix a table may use.
    static constexpr std::size_t kMaxPrefixBytes = 32;

    /// `prefix` (at most kMaxPrefixBytes) is copied.
    ChunkCursor(const Txn& txn, MDB_dbi db, std::span<const std::byte> prefix);

    /// To the earliest entry; false if the prefix has none.
    bool first() { return seek(std::numeric_limits<std::int64_t>::min()); }
    /// To the first entry whose time is >= t; false if there is none.
    bool seek(std::int64_t t);
    /// To the last entry whose time is <= t (the chunk that holds t, if any does); false if none.
    bool seek_floor(std::int64_t t);
    /// To the latest entry; false if the prefix has none.
    bool last() { return seek_floor(std::numeric_limits<std::int64_t>::max()); }
    /// One entry on or back; false past the prefix's last or first entry.
    bool next();
    bool prev();

    bool positioned() const noexcept { return state_ == State::on_entry; }
    /// The entry's key time: a chunk's first ts.
    std::int64_t first_ts() const noexcept { return get_time_key(cur_.key().data() + prefix_bytes_); }
    /// The entry's value, borrowed (see above).
    std::span<const std::byte> value() const noexcept { return cur_.value(); }
    /// Deletes the entry. The cursor then stands between entries: only next() may follow, and
    /// moves to the entry after the deleted one (LMDB's rule), so `del(); next()` walks on.
    void del();

private:
    enum class State { none, on_entry, after_del };
    /// Positioned by `moved` if the cursor's key is this prefix and a time.
    bool land(bool moved) noexcept;

    Cursor cur_;
    std::array<std::byte, kMaxPrefixBytes + kTimeKeyBytes> key_{};  // the prefix, then a sought time
    std::size_t prefix_bytes_;
    State state_ = State::none;
};

}  // namespace barstore::storage
