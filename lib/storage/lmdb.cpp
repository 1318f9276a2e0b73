// storage/lmdb.cpp: LMDB environment, transactions and cursors with checked results.
// Guards: an aborted or failed transaction is never reused (LMDB poisons it on error); one
// environment per store per process; no page of data.mdb is touched before the file is known
// to hold every page its meta page points to (a shorter file would SIGBUS on first read).
#include "storage/lmdb.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <new>
#include <string>
#include <utility>

#include "barstore/error.hpp"

namespace barstore::storage {

namespace {

/// After a failed write LMDB reports a short write as EIO ("short write, filesystem full?"),
/// so EIO with almost no free space left is reported as what it is.
bool nearly_full(const std::filesystem::path& path) {
    struct statvfs s {};
    if (::statvfs(path.c_str(), &s) != 0) return false;
    return static_cast<std::uint64_t>(s.f_bavail) * s.f_frsize < (std::uint64_t{1} << 20);
}

std::string errno_text(int e) { return std::strerror(e); }

/// Reserves the disk blocks of lock.mdb before LMDB maps it: LMDB sizes the file with
/// ftruncate and then writes through the map, which on a full file system (tmpfs above all)
/// is a SIGBUS instead of an error. Only ever called while no environment of this store is
/// open in the process: closing our descriptor drops this process's fcntl locks on the file.
void reserve_lock_file(const std::filesystem::path& dir, unsigned max_readers) {
    const auto file = dir / "lock.mdb";
    const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) return;  // read-only media or permissions: LMDB reports it properly
    // LMDB's lock file is a header of a few cache lines plus 64 bytes per reader slot.
    const off_t want = static_cast<off_t>(max_readers) * 64 + 4096;
    const int rc = ::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, want);
    const int err = errno;
    ::close(fd);
    if (rc != 0 && (err == ENOSPC || err == EDQUOT))
        throw StorageFull(dir.string() + ": cannot reserve lock.mdb: " + errno_text(err) +
                          " (free space on the store's file system)");
    // EOPNOTSUPP and the like: nothing to reserve with, LMDB proceeds as it always did.
}

/// Refuses a data.mdb shorter than the pages its current meta page references. Called right
/// after mdb_env_open, which reads only the two meta pages (with pread) and maps the file.
void check_file_size(MDB_env* env, const std::filesystem::path& dir) {
    MDB_envinfo info{};
    check(mdb_env_info(env, &info), dir, "mdb_env_info");
    MDB_stat st{};
    check(mdb_env_stat(env, &st), dir, "mdb_env_stat");
    int fd = -1;
    check(mdb_env_get_fd(env, &fd), dir, "mdb_env_get_fd");
    struct stat s {};
    // fstat after reading the meta: a concurrent writer only ever grows the file before it
    // writes a meta page, so this order cannot see a new meta with an old size.
    if (::fstat(fd, &s) != 0) throw IoError(dir.string() + ": fstat data.mdb: " + errno_text(errno));
    const auto need = (static_cast<std::uint64_t>(info.me_last_pgno) + 1) * st.ms_psize;
    const auto have = static_cast<std::uint64_t>(s.st_size);
    if (have < need)
        throw CorruptData(dir.string() + ": data.mdb is truncated: " + std::to_string(have) +
                          " bytes, but its meta page (transaction " + std::to_string(info.me_last_txnid) +
                          ") references pages up to " + std::to_string(info.me_last_pgno) + " of " +
                          std::to_string(st.ms_psize) + " bytes, " + std::to_string(need) +
                          " bytes; restore the store from a copy");
}

/// A 0-byte data.mdb is a store killed while being created (or truncated to nothing): a
/// read-write open starts it afresh, a read-only one must neither do that nor fail obscurely.
void refuse_empty(const std::filesystem::path& dir) {
    struct stat data {};
    if (::stat((dir / "data.mdb").c_str(), &data) == 0 && data.st_size == 0)
        throw NotFound(dir.string() + ": no store here yet: data.mdb is empty (0 bytes), so its creation was "
                                      "interrupted (or the file was truncated); an ingest creates it");
}

// ---- the per-process registry of environments -----------------------------------------------

struct Registry {
    // Recursive: the last shared_ptr of an Env may die inside open_env (an unwinding throw),
    // and its deleter takes this lock too.
    std::recursive_mutex mutex;
    std::map<std::pair<dev_t, ino_t>, std::weak_ptr<Env>> envs;
};

Registry& registry() {
    static Registry* r = [] {
        auto* reg = new Registry;  // never destroyed: Stores may outlive static destruction
        // A forked child must not use its parent's environments (LMDB: "use an environment
        // only in the process that opened it"): it starts with an empty registry.
        ::pthread_atfork([] { registry().mutex.lock(); }, [] { registry().mutex.unlock(); },
                         [] {
                             // The lock taken before fork() belongs to a thread id the child
                             // does not have, so it cannot be unlocked: start with a new one.
                             auto& self = registry();
                             new (&self.mutex) std::recursive_mutex;
                             self.envs.clear();
                         });
        return reg;
    }();
    return *r;
}

/// Closes the environment under the registry lock, so that a new open of the same store
/// never overlaps the close of the old one (two environments would break each other's locks).
struct CloseEnv {
    std::pair<dev_t, ino_t> key;
    void operator()(Env* env) const {
        auto& reg = registry();
        std::lock_guard lock(reg.mutex);
        if (auto it = reg.envs.find(key); it != reg.envs.end() && it->second.expired()) reg.envs.erase(it);
        delete env;
    }
};

}  // namespace

void throw_mdb(int rc, const std::filesystem::path& path, const char* op) {
    const std::string msg = path.string() + ": " + op + ": " + mdb_strerror(rc);
    switch (rc) {
        case MDB_MAP_FULL:
            throw StorageFull(msg + " (the store's map is full: reopen it with a larger map size, "
                                    "StoreOptions::map_size_bytes)");
        case MDB_TXN_FULL: throw StorageFull(msg + " (too many pages in one transaction: write fewer bars at once)");
        case ENOSPC:
        case EDQUOT: throw StorageFull(msg + " (free space on the store's file system)");
        case EFBIG: throw StorageFull(msg + " (the file size limit is reached)");
        case EIO:
            if (nearly_full(path))
                throw StorageFull(path.string() + ": " + op + ": no space left on device (LMDB: " +
                                  mdb_strerror(rc) + "); free space on the store's file system");
            throw IoError(msg);
        case MDB_CORRUPTED:
        case MDB_PAGE_NOTFOUND:
        case MDB_INVALID:
        case MDB_VERSION_MISMATCH: throw CorruptData(msg);
        case MDB_READERS_FULL: throw IoError(msg + " (raise StoreOptions::max_readers)");
        default: throw IoError(msg);
    }
}

std::optional<std::string_view> network_fs_name(std::uint64_t f_type) {
    switch (f_type) {
        case 0x6969: return "NFS";
        case 0x517B: return "SMB";
        case 0xFF534D42: return "CIFS";
        case 0xFE534D42: return "SMB2";
        case 0x5346414F:
        case 0x6B414653: return "AFS";
        case 0x00C36400: return "Ceph";
        case 0x73757245: return "Coda";
        case 0x564C: return "NCP";
        default: return std::nullopt;
    }
}

Env::Env(const std::filesystem::path& dir, const EnvOptions& opts) : path_(dir), read_only_(opts.read_only) {
    if (!opts.allow_network_fs) {
        struct statfs fs {};
        if (::statfs(dir.c_str(), &fs) != 0) throw IoError(dir.string() + ": statfs: " + errno_text(errno));
        if (const auto name = network_fs_name(static_cast<std::uint64_t>(fs.f_type)))
            throw IoError(dir.string() + ": on a network file system (" + std::string(*name) +
                          "), where LMDB's locks and shared memory map are unsafe; use a local disk, or "
                          "set StoreOptions::allow_network_fs if only one host ever opens it");
    }
    if (read_only_) refuse_empty(dir);
    reserve_lock_file(dir, opts.max_readers);

    // The map is address space, not memory, but where address space is scarce (ulimit -v, or
    // ThreadSanitizer, which reserves most of it) a 1 TiB mmap fails with ENOMEM. Then retry
    // with a quarter of the size, down to the data plus 256 MiB; a write beyond the smaller map
    // gets StorageFull, as with a map size set too small.
    struct stat data {};
    const std::uint64_t data_bytes = ::stat((dir / "data.mdb").c_str(), &data) == 0 ? data.st_size : 0;
    const std::uint64_t floor_bytes = data_bytes + (std::uint64_t{256} << 20);
    for (std::uint64_t map_bytes = opts.map_size_bytes;; map_bytes /= 4) {
        check(mdb_env_create(&env_), path_, "mdb_env_create");
        try {
            check(mdb_env_set_maxdbs(env_, 8), path_, "mdb_env_set_maxdbs");
            check(mdb_env_set_maxreaders(env_, opts.max_readers), path_, "mdb_env_set_maxreaders");
            // Read-only environments take the size the writer recorded, unless that did not fit.
            if (!read_only_ || map_bytes != opts.map_size_bytes)
                check(mdb_env_set_mapsize(env_, map_bytes), path_, "mdb_env_set_mapsize");
            // NOTLS: read transactions are tied to the Txn object, not the thread, so engines may
            // hold several Store objects and read from any thread.
            const unsigned flags = MDB_NOTLS | (read_only_ ? MDB_RDONLY : 0u);
            const int rc = mdb_env_open(env_, dir.c_str(), flags, 0640);
            if (rc == ENOMEM && map_bytes / 4 >= floor_bytes) {
                mdb_env_close(env_);  // LMDB: a failed mdb_env_open leaves only mdb_env_close
                env_ = nullptr;
                continue;
            }
            check(rc, path_, "mdb_env_open");
            check_file_size(env_, path_);
            // A reader that died (kill -9) leaves a slot that would pin old pages forever.
            int dead = 0;
            check(mdb_reader_check(env_, &dead), path_, "mdb_reader_check");
        } catch (...) {
            mdb_env_close(env_);
            throw;
        }
        break;
    }
}

Env::~Env() { mdb_env_close(env_); }

void Env::adopt_map_size() const {
    std::unique_lock lock(remap_mutex_, std::defer_lock);
    if (!lock.try_lock_for(std::chrono::seconds(10)))
        throw IoError(path_.string() + ": another process grew the map, and this process kept transactions "
                                       "open for 10 s; retry");
    check(mdb_env_set_mapsize(env_, 0), path_, "mdb_env_set_mapsize");
}

std::shared_ptr<Env> open_env(const std::filesystem::path& dir, const EnvOptions& opts) {
    struct stat d {};
    if (::stat(dir.c_str(), &d) != 0) throw IoError(dir.string() + ": stat: " + errno_text(errno));
    const auto key = std::make_pair(d.st_dev, d.st_ino);
    auto& reg = registry();
    std::lock_guard lock(reg.mutex);
    {
        std::shared_ptr<Env> open;
        if (const auto it = reg.envs.find(key); it != reg.envs.end()) open = it->second.lock();
        if (open) {
            // Same directory; is it still the same data.mdb (not deleted and recreated)? If
            // not, the old environment lives on for its Stores and this store gets its own.
            int fd = -1;
            struct stat mapped {}, on_disk {};
            const bool same = mdb_env_get_fd(open->get(), &fd) == 0 && ::fstat(fd, &mapped) == 0 &&
                              ::stat((dir / "data.mdb").c_str(), &on_disk) == 0 &&
                              mapped.st_dev == on_disk.st_dev && mapped.st_ino == on_disk.st_ino;
            if (same) {
                if (open->read_only() && !opts.read_only)
                    throw InvalidInput(dir.string() + ": already open read-only in this process; close those "
                                                      "Stores, or open it read-write first");
                return open;
            }
        }
    }
    // A read-only Store still gets a read-write environment when the files allow it, so that a
    // read-write Store opened later in the process can share it. It never writes through it.
    if (opts.read_only) refuse_empty(dir);
    EnvOptions env_opts = opts;
    if (opts.read_only && ::faccessat(AT_FDCWD, (dir / "data.mdb").c_str(), W_OK, AT_EACCESS) == 0)
        env_opts.read_only = false;
    std::shared_ptr<Env> env(new Env(dir, env_opts), CloseEnv{key});
    reg.envs[key] = env;
    return env;
}

Txn::Txn(const Env& env, bool read_only) : env_(env), remap_lock_(env.remap_mutex_) {
    const unsigned flags = read_only ? MDB_RDONLY : 0;
    int rc = mdb_txn_begin(env.get(), nullptr, flags, &txn_);
    if (rc == MDB_MAP_RESIZED) {
        remap_lock_.unlock();
        env.adopt_map_size();
        remap_lock_.lock();
        rc = mdb_txn_begin(env.get(), nullptr, flags, &txn_);
    }
    if (rc != MDB_SUCCESS) {
        txn_ = nullptr;
        throw_mdb(rc, env.path(), "mdb_txn_begin");
    }
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
    if (rc == MDB_NOTFOUND) {
        // An environment with no tables at all is a store whose creation was killed before
        // its first commit; anything else is some other LMDB database.
        MDB_dbi main = 0;
        MDB_stat st{};
        if (mdb_dbi_open(txn_, nullptr, 0, &main) == MDB_SUCCESS && mdb_stat(txn_, main, &st) == MDB_SUCCESS &&
            st.ms_entries == 0)
            throw NotFound(env_.path().string() + ": no store here yet: an empty LMDB environment, so its creation "
                                                  "was interrupted; an ingest creates it");
        throw NotFound(env_.path().string() + ": not a barstore store (no '" + name + "' table)");
    }
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
