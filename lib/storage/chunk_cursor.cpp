// storage/chunk_cursor.cpp: prefix-bounded cursors over (prefix, time)-keyed tables. Guards:
// every position it reports has a key of exactly the prefix plus a time, so a caller never
// sees another series' chunk.
#include "storage/chunk_cursor.hpp"

#include <cassert>
#include <cstring>

#include "barstore/error.hpp"

namespace barstore::storage {

ChunkCursor::ChunkCursor(const Txn& txn, MDB_dbi db, std::span<const std::byte> prefix)
    : cur_(txn, db), prefix_bytes_(prefix.size()) {
    if (prefix.size() > kMaxPrefixBytes) throw Error(Errc::internal, "ChunkCursor: key prefix too long");
    std::memcpy(key_.data(), prefix.data(), prefix.size());
}

bool ChunkCursor::land(bool moved) noexcept {
    const auto k = cur_.key();
    const bool in = moved && k.size() == prefix_bytes_ + kTimeKeyBytes &&
                    std::memcmp(k.data(), key_.data(), prefix_bytes_) == 0;
    state_ = in ? State::on_entry : State::none;
    return in;
}

bool ChunkCursor::seek(std::int64_t t) {
    put_time_key(key_.data() + prefix_bytes_, t);
    return land(cur_.seek({key_.data(), prefix_bytes_ + kTimeKeyBytes}));
}

bool ChunkCursor::seek_floor(std::int64_t t) {
    put_time_key(key_.data() + prefix_bytes_, t);
    const bool found = cur_.seek({key_.data(), prefix_bytes_ + kTimeKeyBytes});
    if (land(found) && first_ts() == t) return true;
    // The entry before the first key above t: the table's last if no key is above t.
    return land(found ? cur_.move(MDB_PREV) : cur_.move(MDB_LAST));
}

bool ChunkCursor::next() {
    assert(state_ != State::none);
    return land(cur_.move(MDB_NEXT));
}

bool ChunkCursor::prev() {
    assert(state_ == State::on_entry);
    return land(cur_.move(MDB_PREV));
}

void ChunkCursor::del() {
    assert(state_ == State::on_entry);
    cur_.del();
    state_ = State::after_del;
}

}  // namespace barstore::storage
