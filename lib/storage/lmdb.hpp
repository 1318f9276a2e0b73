// storage/lmdb.hpp: thin RAII over LMDB. Every mdb_* result is checked here and turned into a
// typed barstore error naming the store path and the operation; nothing above sees an MDB code.
// One environment per store per process (open_env), as LMDB requires (docs/reliability.md).
#pragma once
#include <lmdb.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace barstore::storage {

inline std::span<const std::byte> as_bytes(const MDB_val& v) {
    return {static_cast<const std::byte*>(v.mv_data), v.mv_size};
}
inline MDB_val as_val(std::span<const std::byte> b) {
    return MDB_val{b.size(), const_cast<std::byte*>(b.data())};
}

/// Throws the barstore error for `rc` (MDB_MAP_FULL, ENOSPC, EFBIG, EDQUOT, and EIO on a full
/// file system -> StorageFull; MDB_CORRUPTED... -> CorruptData; the rest IoError).
[[noreturn]] void throw_mdb(int rc, const std::filesystem::path& path, const char* op);
inline void check(int rc, const std::filesystem::path& path, const char* op) {
    if (rc != MDB_SUCCESS) throw_mdb(rc, path, op);
}

struct EnvOptions {
    bool read_only = false;
    std::size_t map_size_bytes = std::size_t{1} << 40;
    unsigned max_readers = 1024;
    bool allow_network_fs = false;
};

/// The file system's name if statfs's f_type is a network file system (NFS, SMB/CIFS, AFS,
/// Ceph), on which LMDB's locks and shared memory map are not safe; nullopt otherwise.
std::optional<std::string_view> network_fs_name(std::uint64_t f_type);

/// Whether nobody may write the file: no write permission bit for anyone (chmod a-w). A store
/// whose data.mdb is frozen, and every snapshot file, is read without LMDB's lock file, so
/// barstore never writes one, not even as root (docs/reliability.md, "Read-only stores and
/// snapshots").
bool frozen(const std::filesystem::path& file);

class Env {
public:
    /// Opens the environment at `path`: a store directory (data.mdb and lock.mdb in it) or, when
    /// `path` is a regular file, a snapshot (that file alone, read-only, MDB_NOSUBDIR). Use
    /// open_env(), which shares one Env per store and process. Refuses a directory on a network
    /// file system (unless allowed) and a data file shorter than its meta page says.
    ///
    /// Read-only, it registers its readers in lock.mdb as LMDB requires, unless it cannot: a
    /// snapshot, or a store whose lock.mdb this user cannot open for writing (permissions, a
    /// read-only mount) and whose data.mdb is frozen(), is opened with MDB_NOLOCK, safe because
    /// nothing writes it; such a store whose data.mdb is not frozen throws IoError (a writer may
    /// be active, and a reader it cannot see may be handed pages it reuses).
    Env(const std::filesystem::path& path, const EnvOptions& opts);
    ~Env();
    Env(const Env&) = delete;
    Env& operator=(const Env&) = delete;
    /// Valid while a Txn of this environment is alive (reopen() may replace it otherwise).
    MDB_env* get() const { return env_; }
    const std::filesystem::path& path() const { return path_; }
    /// The file LMDB maps: `path`/data.mdb, or the snapshot file itself.
    const std::filesystem::path& data_path() const { return data_path_; }
    bool read_only() const { return read_only_; }
    /// A snapshot file (always read-only and lockless).
    bool snapshot() const { return snapshot_; }
    /// Opened without a lock file (MDB_NOLOCK): a snapshot, or a frozen store nobody may write.
    bool lockless() const { return lockless_; }
    /// data.mdb's device and inode: the file this environment maps, for its whole life.
    std::pair<dev_t, ino_t> data_file() const { return {data_dev_, data_ino_}; }
    /// mdb_dbi_open must not run in two transactions of one environment at once; hold this
    /// from the transaction that opens tables until it ends.
    std::mutex& dbi_mutex() const { return dbi_mutex_; }

private:
    friend class Txn;
    /// Remembers that `dbi` names table `name` (its transaction committed, so LMDB keeps the
    /// handle), so that a reopen hands out the same handle for it.
    void note_dbi(MDB_dbi dbi, const std::string& name) const;
    /// After MDB_MAP_RESIZED (another process grew the map): adopt the new size. LMDB allows
    /// that only with no transaction of this environment alive, which remap_mutex_ guarantees.
    void adopt_map_size() const;
    /// Opens env_ on path_; `map_bytes` 0 keeps LMDB's default (the size the file records).
    /// Returns ENOMEM (env_ closed) when the map did not fit, for the caller to try a smaller one.
    int open_mdb(std::uint64_t map_bytes, unsigned flags, unsigned max_readers) const;
    /// After a write began from an older commit than data.mdb's newest (lock.mdb was deleted
    /// or replaced, so this process and another use different lock files): close and reopen
    /// the environment, which then uses the lock file now in the directory, and open the same
    /// tables under the same handles. Needs no transaction of this environment alive.
    void reopen() const;

    mutable MDB_env* env_ = nullptr;  // replaced only by reopen(), while no Txn is alive
    std::filesystem::path path_, data_path_;
    bool read_only_;
    bool snapshot_ = false;
    bool lockless_ = false;
    /// data.mdb's identity, fixed at open: a reopen must map the same file.
    dev_t data_dev_ = 0;
    ino_t data_ino_ = 0;
    mutable std::mutex dbi_mutex_;
    /// Every Txn holds it shared for its whole life; adopt_map_size and reopen take it exclusively.
    mutable std::shared_timed_mutex remap_mutex_;
    /// Writers serialise on an flock of data.mdb (write_lock_fd_, a descriptor of our own),
    /// not only on LMDB's writer mutex, which lives in lock.mdb and so is no lock at all between
    /// processes that opened different lock.mdb files (docs/reliability.md, "How: LMDB, done safely", Writers serialise). flock
    /// locks belong to the open file description, which all threads share, so write_mutex_
    /// serialises the threads first: always write_mutex_, then the flock, then remap_mutex_.
    int write_lock_fd_ = -1;
    mutable std::mutex write_mutex_;
    mutable std::mutex dbi_names_mutex_;
    mutable std::map<MDB_dbi, std::string> dbi_names_;
};

/// The process's environment for the store in `dir` (or the snapshot file `dir`), opened on
/// first use and shared by every Store on the same directory or file (same st_dev and st_ino)
/// while any of them lives: LMDB forbids opening one environment twice in a process (closing
/// the second would drop the first's locks). The environment is read-write whenever data.mdb is
/// writable and not frozen(), even for a read-only open, so read-only and read-write Stores
/// share it in any order; only where the files are read-only does a read-write open after a
/// read-only one throw InvalidInput (it could not write anyway). A read-write open of a snapshot
/// or of a store whose data.mdb is frozen() throws InvalidInput. The first open's map size and
/// reader count win. After fork() the child starts with an empty registry: it must open stores anew.
std::shared_ptr<Env> open_env(const std::filesystem::path& dir, const EnvOptions& opts);

/// What copy_env writes: a new store directory, or a snapshot file.
enum class CopyKind { store_directory, snapshot_file };

/// Sizes in bytes of the source's data file (data.mdb, or the snapshot) and of the copy's.
struct CopySizes {
    std::uint64_t source_bytes = 0;
    std::uint64_t copy_bytes = 0;
};

/// Writes LMDB's compacting copy of `env`'s newest commit (mdb_env_copyfd2, MDB_CP_COMPACT: the
/// live pages only, renumbered, no free pages) to `out`: a store directory holding data.mdb
/// (0640 before the umask, directory 0750) when `out` is absent or an empty directory, or a
/// snapshot file of mode 0444 when `out` is absent. The copy runs in a read transaction of its
/// own, so writers go on meanwhile and the copy is that one commit, whole. It is written under
/// a temporary name beside `out` (`out`.tmp-PID-N), synced (fdatasync, then the directories),
/// and renamed into place only when complete, so a kill leaves no file or directory under
/// `out`'s name (only the temporary one, which it does not clean up); an error removes it.
/// Throws InvalidInput (`out` exists and is a file, a non-empty directory, or a snapshot; its
/// parent directory does not exist), StorageFull, IoError, CorruptData (LMDB found the source
/// damaged: MDB_INCOMPATIBLE, "page leak or corrupt DB").
CopySizes copy_env(const Env& env, const std::filesystem::path& out, CopyKind kind);

/// One Store's handle on its store's environment: shares the process-wide Env (open_env) and
/// keeps the Store's own mode, since a read-only Store may share a read-write environment.
class EnvRef {
public:
    EnvRef(const std::filesystem::path& dir, const EnvOptions& opts)
        : env_(open_env(dir, opts)), read_only_(opts.read_only) {}
    operator const Env&() const { return *env_; }
    MDB_env* get() const { return env_->get(); }
    const std::filesystem::path& path() const { return env_->path(); }
    /// The Store's mode, not the environment's.
    bool read_only() const { return read_only_; }
    std::mutex& dbi_mutex() const { return env_->dbi_mutex(); }

private:
    std::shared_ptr<Env> env_;
    bool read_only_;
};

/// A transaction that aborts unless committed; a failed commit leaves nothing half-written.
/// A failed put/commit is never retried on the same MDB_txn: the caller starts a new Txn.
/// A write transaction holds the store's writer lock (an flock of data.mdb) from before it
/// begins until it commits or aborts, and always starts from data.mdb's newest commit.
class Txn {
public:
    Txn(const Env& env, bool read_only);
    ~Txn();
    Txn(const Txn&) = delete;
    Txn& operator=(const Txn&) = delete;
    void commit();
    MDB_txn* get() const { return txn_; }
    const Env& env() const { return env_; }
    /// LMDB's id of this transaction: for a read, the last commit it sees, so it changes with
    /// every commit to the environment, by any process (mdb_txn_id).
    std::uint64_t id() const noexcept { return mdb_txn_id(txn_); }
    /// The environment's page size: the unit of its disk use.
    std::size_t page_bytes() const;

    MDB_dbi open_db(const char* name, bool create);
    std::optional<std::span<const std::byte>> get(MDB_dbi db, std::span<const std::byte> key) const;
    void put(MDB_dbi db, std::span<const std::byte> key, std::span<const std::byte> value, unsigned flags = 0);
    /// Returns false if the key was not there.
    bool del(MDB_dbi db, std::span<const std::byte> key);

private:
    /// mdb_txn_begin; for a write, also checks it starts from data.mdb's newest commit.
    int begin(unsigned flags);
    /// Whether this write transaction starts from an older commit than data.mdb's newest.
    bool behind_data_file() const;
    void unlock_writer() noexcept;

    const Env& env_;
    std::vector<std::pair<MDB_dbi, std::string>> opened_dbis_;  // noted with the Env on commit
    // Acquired in this order (see Env::write_mutex_), released in reverse.
    std::unique_lock<std::mutex> write_lock_;
    bool flocked_ = false;
    std::shared_lock<std::shared_timed_mutex> remap_lock_;
    MDB_txn* txn_ = nullptr;
};

/// A cursor on one table. Closed by its destructor, which for a write transaction must run
/// before the commit (LMDB frees a write transaction's cursors with it).
class Cursor {
public:
    Cursor(const Txn& txn, MDB_dbi db);
    ~Cursor();
    Cursor(const Cursor&) = delete;
    Cursor& operator=(const Cursor&) = delete;
    /// Positions with `op`; false at either end (MDB_NOTFOUND). key/value stay valid until the
    /// transaction ends or the next write.
    bool move(MDB_cursor_op op, MDB_val& key, MDB_val& value);
    /// The same, keeping the entry in the cursor for key() and value(); MDB_SET_RANGE needs seek().
    bool move(MDB_cursor_op op) { return move(op, key_, value_); }
    /// To the first entry whose key is >= `key` (MDB_SET_RANGE); false if there is none.
    bool seek(std::span<const std::byte> key);
    /// The entry of the last successful move() or seek(): valid until the transaction ends or the
    /// next write.
    std::span<const std::byte> key() const { return as_bytes(key_); }
    std::span<const std::byte> value() const { return as_bytes(value_); }
    /// Deletes the entry under the cursor; a following MDB_NEXT returns the entry after it.
    void del();

private:
    const Txn& txn_;
    MDB_cursor* cur_ = nullptr;
    MDB_val key_{}, value_{};
};

}  // namespace barstore::storage
