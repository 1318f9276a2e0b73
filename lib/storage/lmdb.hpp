// storage/lmdb.hpp: thin RAII over LMDB. Every mdb_* result is checked here and turned into a
// typed barstore error naming the store path and the operation; nothing above sees an MDB code.
#pragma once
#include <lmdb.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>

namespace barstore::storage {

inline std::span<const std::byte> as_bytes(const MDB_val& v) {
    return {static_cast<const std::byte*>(v.mv_data), v.mv_size};
}
inline MDB_val as_val(std::span<const std::byte> b) {
    return MDB_val{b.size(), const_cast<std::byte*>(b.data())};
}

/// Throws the barstore error for `rc` (MDB_MAP_FULL -> StorageFull, MDB_CORRUPTED -> CorruptData...).
[[noreturn]] void throw_mdb(int rc, const std::filesystem::path& path, const char* op);
inline void check(int rc, const std::filesystem::path& path, const char* op) {
    if (rc != MDB_SUCCESS) throw_mdb(rc, path, op);
}

class Env {
public:
    Env(const std::filesystem::path& dir, bool read_only, std::size_t map_size_bytes, unsigned max_readers);
    ~Env();
    Env(const Env&) = delete;
    Env& operator=(const Env&) = delete;
    MDB_env* get() const { return env_; }
    const std::filesystem::path& path() const { return path_; }
    bool read_only() const { return read_only_; }

private:
    MDB_env* env_ = nullptr;
    std::filesystem::path path_;
    bool read_only_;
};

/// A transaction that aborts unless committed; a failed commit leaves nothing half-written.
class Txn {
public:
    Txn(const Env& env, bool read_only);
    ~Txn();
    Txn(const Txn&) = delete;
    Txn& operator=(const Txn&) = delete;
    void commit();
    MDB_txn* get() const { return txn_; }
    const Env& env() const { return env_; }

    MDB_dbi open_db(const char* name, bool create);
    std::optional<std::span<const std::byte>> get(MDB_dbi db, std::span<const std::byte> key) const;
    void put(MDB_dbi db, std::span<const std::byte> key, std::span<const std::byte> value, unsigned flags = 0);
    /// Returns false if the key was not there.
    bool del(MDB_dbi db, std::span<const std::byte> key);

private:
    const Env& env_;
    MDB_txn* txn_ = nullptr;
};

class Cursor {
public:
    Cursor(const Txn& txn, MDB_dbi db);
    ~Cursor();
    Cursor(const Cursor&) = delete;
    Cursor& operator=(const Cursor&) = delete;
    /// Positions with `op`; false at either end (MDB_NOTFOUND). key/value stay valid until the
    /// transaction ends or the next write.
    bool move(MDB_cursor_op op, MDB_val& key, MDB_val& value);
    void del();

private:
    const Txn& txn_;
    MDB_cursor* cur_ = nullptr;
};

}  // namespace barstore::storage
