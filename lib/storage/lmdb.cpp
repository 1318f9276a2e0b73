// storage/lmdb.cpp: LMDB environment, transactions and cursors with checked results.
// Guards: an aborted or failed transaction is never reused (LMDB poisons it on error).
#include "storage/lmdb.hpp"

#include <sys/stat.h>

#include <string>

#include "barstore/error.hpp"

namespace barstore::storage {

void throw_mdb(int rc, const std::filesystem::path& path, const char* op) {
    const std::string msg = path.string() + ": " + op + ": " + mdb_strerror(rc);
    switch (rc) {
        case MDB_MAP_FULL:
        case MDB_TXN_FULL:
        case ENOSPC: throw StorageFull(msg + " (free space, or raise the map size)");
        case MDB_CORRUPTED:
        case MDB_PAGE_NOTFOUND:
        case MDB_INVALID:
        case MDB_VERSION_MISMATCH: throw CorruptData(msg);
        default: throw IoError(msg);
    }
}

Env::Env(const std::filesystem::path& dir, bool read_only, std::size_t map_size_bytes, unsigned max_readers)
    : path_(dir), read_only_(read_only) {
    check(mdb_env_create(&env_), path_, "mdb_env_create");
    try {
        check(mdb_env_set_maxdbs(env_, 8), path_, "mdb_env_set_maxdbs");
        check(mdb_env_set_maxreaders(env_, max_readers), path_, "mdb_env_set_maxreaders");
        if (!read_only) check(mdb_env_set_mapsize(env_, map_size_bytes), path_, "mdb_env_set_mapsize");
        // NOTLS: read transactions are tied to the Txn object, not the thread, so engines may
        // hold several Store objects and read from any thread.
        const unsigned flags = MDB_NOTLS | (read_only ? MDB_RDONLY : 0u);
        check(mdb_env_open(env_, dir.c_str(), flags, 0640), path_, "mdb_env_open");
        // A reader that died (kill -9) leaves a slot that would pin old pages forever.
        int dead = 0;
        check(mdb_reader_check(env_, &dead), path_, "mdb_reader_check");
    } catch (...) {
        mdb_env_close(env_);
        throw;
    }
}

Env::~Env() { mdb_env_close(env_); }

Txn::Txn(const Env& env, bool read_only) : env_(env) {
    check(mdb_txn_begin(env.get(), nullptr, read_only ? MDB_RDONLY : 0, &txn_), env.path(), "mdb_txn_begin");
}

Txn::~Txn() {
    if (txn_) mdb_txn_abort(txn_);
}

void Txn::commit() {
    MDB_txn* t = txn_;
    txn_ = nullptr;  // LMDB frees the txn even when commit fails
    check(mdb_txn_commit(t), env_.path(), "mdb_txn_commit");
}

MDB_dbi Txn::open_db(const char* name, bool create) {
    MDB_dbi dbi = 0;
    const int rc = mdb_dbi_open(txn_, name, create ? MDB_CREATE : 0, &dbi);
    if (rc == MDB_NOTFOUND) throw NotFound(env_.path().string() + ": not a barstore store (no '" + name + "' table)");
    check(rc, env_.path(), "mdb_dbi_open");
    return dbi;
}

std::optional<std::span<const std::byte>> Txn::get(MDB_dbi db, std::span<const std::byte> key) const {
    MDB_val k = as_val(key), v{};
    const int rc = mdb_get(txn_, db, &k, &v);
    if (rc == MDB_NOTFOUND) return std::nullopt;
    check(rc, env_.path(), "mdb_get");
    return as_bytes(v);
}

void Txn::put(MDB_dbi db, std::span<const std::byte> key, std::span<const std::byte> value, unsigned flags) {
    MDB_val k = as_val(key), v = as_val(value);
    check(mdb_put(txn_, db, &k, &v, flags), env_.path(), "mdb_put");
}

bool Txn::del(MDB_dbi db, std::span<const std::byte> key) {
    MDB_val k = as_val(key);
    const int rc = mdb_del(txn_, db, &k, nullptr);
    if (rc == MDB_NOTFOUND) return false;
    check(rc, env_.path(), "mdb_del");
    return true;
}

Cursor::Cursor(const Txn& txn, MDB_dbi db) : txn_(txn) {
    check(mdb_cursor_open(txn.get(), db, &cur_), txn.env().path(), "mdb_cursor_open");
}

Cursor::~Cursor() { mdb_cursor_close(cur_); }

bool Cursor::move(MDB_cursor_op op, MDB_val& key, MDB_val& value) {
    const int rc = mdb_cursor_get(cur_, &key, &value, op);
    if (rc == MDB_NOTFOUND) return false;
    check(rc, txn_.env().path(), "mdb_cursor_get");
    return true;
}

void Cursor::del() { check(mdb_cursor_del(cur_, 0), txn_.env().path(), "mdb_cursor_del"); }

}  // namespace barstore::storage
