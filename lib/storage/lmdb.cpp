// storage/lmdb.cpp: LMDB environment, transactions and cursors with checked results.
// Guards: an aborted or failed transaction is never reused (LMDB poisons it on error); one
// environment per store per process; no page of data.mdb is touched before the file is known
// to hold every page its meta page points to (a shorter file would SIGBUS on first read);
// writers serialise on data.mdb itself and build on its newest commit, whatever lock.mdb says.
#include "storage/lmdb.hpp"

#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <pthread.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
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
/// Returns 0, or the errno of opening lock.mdb as LMDB will (O_RDWR | O_CREAT): whether this
/// process can register its readers in it.
int reserve_lock_file(const std::filesystem::path& dir, unsigned max_readers) {
    const auto file = dir / "lock.mdb";
    const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) return errno;  // read-only media or permissions: the caller decides
    // LMDB's lock file is a header of a few cache lines plus 64 bytes per reader slot.
    const off_t want = static_cast<off_t>(max_readers) * 64 + 4096;
    const int rc = ::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, want);
    const int err = errno;
    ::close(fd);
    if (rc != 0 && (err == ENOSPC || err == EDQUOT))
        throw StorageFull(dir.string() + ": cannot reserve lock.mdb: " + errno_text(err) +
                          " (free space on the store's file system)");
    // EOPNOTSUPP and the like: nothing to reserve with, LMDB proceeds as it always did.
    return 0;
}

bool is_snapshot_file(const std::filesystem::path& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
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
        throw CorruptData(dir.string() + ": " + (is_snapshot_file(dir) ? "the snapshot" : "data.mdb") +
                          " is truncated: " + std::to_string(have) +
                          " bytes, but its meta page (transaction " + std::to_string(info.me_last_txnid) +
                          ") references pages up to " + std::to_string(info.me_last_pgno) + " of " +
                          std::to_string(st.ms_psize) + " bytes, " + std::to_string(need) +
                          " bytes; restore the store from a copy");
}

/// A 0-byte data.mdb is a store killed while being created (or truncated to nothing): a
/// read-write open starts it afresh, a read-only one must neither do that nor fail obscurely.
/// A snapshot is renamed into place only when whole, so an empty file is no snapshot at all.
void refuse_empty(const std::filesystem::path& path, bool snapshot) {
    struct stat data {};
    const auto file = snapshot ? path : path / "data.mdb";
    if (::stat(file.c_str(), &data) != 0 || data.st_size != 0) return;
    if (snapshot) throw InvalidInput(path.string() + ": an empty file (0 bytes), not a barstore snapshot");
    throw NotFound(path.string() + ": no store here yet: data.mdb is empty (0 bytes), so its creation was "
                                   "interrupted (or the file was truncated); an ingest creates it");
}

[[noreturn]] void throw_snapshot_read_only(const std::filesystem::path& path) {
    throw InvalidInput(path.string() + ": a snapshot, which is read-only; to write, make a store of it: "
                                       "barstore compact --db " + path.string() + " --out DIR");
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

bool frozen(const std::filesystem::path& file) {
    struct stat st {};
    return ::stat(file.c_str(), &st) == 0 && (st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0;
}

namespace {

/// Whether `size_bytes` of address space can be reserved now. Asked before mdb_env_open: an open
/// that fails on its map has already initialised lock.mdb, with transaction id 0, and only an
/// open that succeeds copies the last commit's id into it. A process that attached to lock.mdb
/// meanwhile then begins writes from id 0 (seen under TSan with a reader opening beside a
/// writer; Txn refuses them, "a write would start from an older commit"). Probing first keeps
/// LMDB's open from failing for lack of address space, but for a race with another mapping.
bool address_space_fits(std::uint64_t size_bytes) {
    if (size_bytes == 0) return true;
    void* p = ::mmap(nullptr, size_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return false;
    ::munmap(p, size_bytes);
    return true;
}

}  // namespace

Env::Env(const std::filesystem::path& dir, const EnvOptions& opts)
    : path_(dir), read_only_(opts.read_only), snapshot_(is_snapshot_file(dir)) {
    data_path_ = snapshot_ ? dir : dir / "data.mdb";
    if (snapshot_ && !read_only_) throw_snapshot_read_only(dir);
    // A snapshot takes no lock of any kind, so a shared read-only mount of one is safe
    // (docs/deploy.md); a store's locks and shared map are not.
    if (!opts.allow_network_fs && !snapshot_) {
        struct statfs fs {};
        if (::statfs(dir.c_str(), &fs) != 0) throw IoError(dir.string() + ": statfs: " + errno_text(errno));
        if (const auto name = network_fs_name(static_cast<std::uint64_t>(fs.f_type)))
            throw IoError(dir.string() + ": on a network file system (" + std::string(*name) +
                          "), where LMDB's locks and shared memory map are unsafe; use a local disk, or "
                          "set StoreOptions::allow_network_fs if only one host ever opens it");
    }
    if (read_only_) refuse_empty(dir, snapshot_);
    unsigned lock_flags = 0;
    if (snapshot_) {
        // Nothing ever writes a snapshot (barstore refuses to), so readers need no lock file:
        // none is made beside it, and read-only media serve it as they are.
        lockless_ = true;
        lock_flags = MDB_NOSUBDIR | MDB_NOLOCK;
    } else if (const int err = reserve_lock_file(dir, opts.max_readers); err != 0 && read_only_) {
        // LMDB needs lock.mdb open for writing to register a reader, except that on a read-only
        // file system (EROFS) it silently reads without it, unseen by any writer, who may then
        // reuse the pages it reads. Only a store nobody may write is safe to read so.
        if (!frozen(data_path_))
            throw IoError(dir.string() + ": cannot register as a reader in lock.mdb (" + errno_text(err) +
                          "), and data.mdb is writable, so a writer may be active: reading without LMDB's lock "
                          "is safe only for a store nobody writes. Read a snapshot of it instead (barstore "
                          "snapshot), let this user write lock.mdb, or, once no writer has it open, make "
                          "data.mdb read-only (chmod a-w) to freeze it (docs/reliability.md, \"Read-only "
                          "stores and snapshots\")");
        lockless_ = true;
        lock_flags = MDB_NOLOCK;
    }

    // The map is address space, not memory, but where address space is scarce (ulimit -v, or
    // ThreadSanitizer, which reserves most of it) a 1 TiB mmap fails with ENOMEM. Then retry
    // with a quarter of the size, down to the data plus 256 MiB; a write beyond the smaller map
    // gets StorageFull, as with a map size set too small.
    struct stat data {};
    const std::uint64_t data_bytes = ::stat(data_path_.c_str(), &data) == 0 ? data.st_size : 0;
    const std::uint64_t floor_bytes = data_bytes + (std::uint64_t{256} << 20);
    // NOTLS: read transactions are tied to the Txn object, not the thread, so engines may
    // hold several Store objects and read from any thread.
    const unsigned flags = MDB_NOTLS | lock_flags | (read_only_ ? MDB_RDONLY : 0u);
    for (std::uint64_t map_bytes = opts.map_size_bytes;; map_bytes /= 4) {
        const bool last_try = map_bytes / 4 < floor_bytes;
        if (!last_try && !address_space_fits(map_bytes)) continue;
        // Read-only environments take the size the writer recorded, unless that did not fit.
        const bool set_size = !read_only_ || map_bytes != opts.map_size_bytes;
        const int rc = open_mdb(set_size ? map_bytes : 0, flags, opts.max_readers);
        if (rc == MDB_SUCCESS) break;
        if (last_try) throw_mdb(rc, path_, "mdb_env_open");
    }
    try {
        int fd = -1;
        check(mdb_env_get_fd(env_, &fd), path_, "mdb_env_get_fd");
        struct stat mapped {};
        if (::fstat(fd, &mapped) != 0) throw IoError(dir.string() + ": fstat data.mdb: " + errno_text(errno));
        data_dev_ = mapped.st_dev;
        data_ino_ = mapped.st_ino;
        if (!read_only_) {
            // A descriptor of our own for the writers' flock: LMDB's may be replaced by reopen().
            write_lock_fd_ = ::open(data_path_.c_str(), O_RDONLY | O_CLOEXEC);
            struct stat locked {};
            if (write_lock_fd_ < 0 || ::fstat(write_lock_fd_, &locked) != 0)
                throw IoError(dir.string() + ": open data.mdb: " + errno_text(errno));
            if (locked.st_dev != data_dev_ || locked.st_ino != data_ino_)
                throw IoError(dir.string() + ": data.mdb was replaced while the store was being opened; open it again");
        }
    } catch (...) {
        if (write_lock_fd_ >= 0) ::close(write_lock_fd_);
        mdb_env_close(env_);
        throw;
    }
}

int Env::open_mdb(std::uint64_t map_bytes, unsigned flags, unsigned max_readers) const {
    check(mdb_env_create(&env_), path_, "mdb_env_create");
    try {
        check(mdb_env_set_maxdbs(env_, 8), path_, "mdb_env_set_maxdbs");
        check(mdb_env_set_maxreaders(env_, max_readers), path_, "mdb_env_set_maxreaders");
        if (map_bytes != 0) check(mdb_env_set_mapsize(env_, map_bytes), path_, "mdb_env_set_mapsize");
        const int rc = mdb_env_open(env_, path_.c_str(), flags, 0640);
        if (rc == ENOMEM) {
            mdb_env_close(env_);  // LMDB: a failed mdb_env_open leaves only mdb_env_close
            env_ = nullptr;
            return rc;
        }
        // A file given as a store is read as a snapshot; one LMDB does not recognise is most
        // likely some other file named by mistake.
        if (rc == MDB_INVALID && snapshot_)
            throw InvalidInput(path_.string() + ": a file, so read as a snapshot, but not an LMDB file (" +
                               mdb_strerror(rc) + "): not a barstore snapshot, or its header is damaged");
        check(rc, path_, "mdb_env_open");
        check_file_size(env_, path_);
        // A reader that died (kill -9) leaves a slot that would pin old pages forever.
        int dead = 0;
        check(mdb_reader_check(env_, &dead), path_, "mdb_reader_check");
    } catch (...) {
        mdb_env_close(env_);
        env_ = nullptr;
        throw;
    }
    return MDB_SUCCESS;
}

void Env::reopen() const {
    std::unique_lock lock(remap_mutex_, std::defer_lock);
    if (!lock.try_lock_for(std::chrono::seconds(10)))
        throw IoError(path_.string() + ": lock.mdb was deleted or replaced while this process had the store open, "
                                       "and this process kept transactions open for 10 s, so it cannot move to the "
                                       "new one; nothing was written; retry");
    MDB_envinfo info{};
    check(mdb_env_info(env_, &info), path_, "mdb_env_info");
    unsigned flags = 0, max_readers = 0;
    check(mdb_env_get_flags(env_, &flags), path_, "mdb_env_get_flags");
    check(mdb_env_get_maxreaders(env_, &max_readers), path_, "mdb_env_get_maxreaders");
    mdb_env_close(env_);
    env_ = nullptr;  // Txn refuses to begin on a closed environment should the reopen fail
    const int rc = open_mdb(info.me_mapsize, flags, max_readers);
    if (rc != MDB_SUCCESS) throw_mdb(rc, path_, "mdb_env_open");
    auto fail = [&](const std::string& why) {
        mdb_env_close(env_);
        env_ = nullptr;
        throw IoError(path_.string() + ": lock.mdb was deleted or replaced while this process had the store open, "
                                       "and reopening the store failed (" + why + "); nothing was written; open "
                                       "the store again");
    };
    int fd = -1;
    struct stat mapped {};
    if (mdb_env_get_fd(env_, &fd) != 0 || ::fstat(fd, &mapped) != 0) fail("fstat data.mdb");
    if (mapped.st_dev != data_dev_ || mapped.st_ino != data_ino_) fail("data.mdb was replaced too");
    // Tables opened in committed transactions keep their handles; opened again in the same
    // order in a fresh environment, LMDB hands out the same numbers, which Stores hold.
    std::lock_guard names(dbi_names_mutex_);
    if (dbi_names_.empty()) return;
    MDB_txn* txn = nullptr;
    if (mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn) != 0) fail("mdb_txn_begin");
    for (const auto& [dbi, name] : dbi_names_) {
        MDB_dbi got = 0;
        if (mdb_dbi_open(txn, name.c_str(), 0, &got) != 0 || got != dbi) {
            mdb_txn_abort(txn);
            fail("table '" + name + "' did not get its handle back");
        }
    }
    if (mdb_txn_commit(txn) != 0) fail("mdb_txn_commit");
}

void Env::note_dbi(MDB_dbi dbi, const std::string& name) const {
    std::lock_guard lock(dbi_names_mutex_);
    dbi_names_[dbi] = name;
}

Env::~Env() {
    if (env_) mdb_env_close(env_);
    if (write_lock_fd_ >= 0) ::close(write_lock_fd_);  // also drops the flock, should it be held
}

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
    if (!S_ISDIR(d.st_mode) && !S_ISREG(d.st_mode))
        throw InvalidInput(dir.string() + ": neither a store directory nor a snapshot file");
    const bool snapshot = S_ISREG(d.st_mode);
    if (snapshot && !opts.read_only) throw_snapshot_read_only(dir);
    const auto data_file = snapshot ? dir : dir / "data.mdb";
    // Lock-free readers of a frozen store rely on nobody writing it, root included.
    if (!opts.read_only && !snapshot && frozen(data_file))
        throw InvalidInput(dir.string() + ": data.mdb is read-only (no write permission for anyone), so the store "
                                          "is frozen and may have readers that take no lock; make it writable "
                                          "(chmod u+w data.mdb) once none reads it, or write to a compacted copy "
                                          "(barstore compact)");
    const auto key = std::make_pair(d.st_dev, d.st_ino);
    auto& reg = registry();
    std::lock_guard lock(reg.mutex);
    {
        std::shared_ptr<Env> open;
        if (const auto it = reg.envs.find(key); it != reg.envs.end()) open = it->second.lock();
        if (open) {
            // Same directory; is it still the same data.mdb (not deleted and recreated)? If
            // not, the old environment lives on for its Stores and this store gets its own.
            struct stat on_disk {};
            const bool same = ::stat(data_file.c_str(), &on_disk) == 0 &&
                              open->data_file() == std::make_pair(on_disk.st_dev, on_disk.st_ino);
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
    if (opts.read_only) refuse_empty(dir, snapshot);
    EnvOptions env_opts = opts;
    auto writable = [](const std::filesystem::path& p) { return ::faccessat(AT_FDCWD, p.c_str(), W_OK, AT_EACCESS) == 0; };
    // ... and only when it could register in lock.mdb: else the read-only open decides (Env).
    const bool lock_writable = writable(dir / "lock.mdb") || (::access((dir / "lock.mdb").c_str(), F_OK) != 0 && writable(dir));
    if (opts.read_only && !snapshot && !frozen(data_file) && writable(data_file) && lock_writable)
        env_opts.read_only = false;
    std::shared_ptr<Env> env(new Env(dir, env_opts), CloseEnv{key});
    reg.envs[key] = env;
    return env;
}

Txn::Txn(const Env& env, bool read_only) : env_(env), remap_lock_(env.remap_mutex_, std::defer_lock) {
    const unsigned flags = read_only ? MDB_RDONLY : 0;
    if (!read_only) {
        write_lock_ = std::unique_lock(env.write_mutex_);
        if (env.write_lock_fd_ >= 0) {
            while (::flock(env.write_lock_fd_, LOCK_EX) != 0)
                if (errno != EINTR) throw IoError(env.path().string() + ": flock data.mdb: " + errno_text(errno));
            flocked_ = true;
        }
    }
    try {
        remap_lock_.lock();
        int rc = begin(flags);
        if (rc == MDB_SUCCESS && !read_only && behind_data_file()) {
            // Another process committed through another lock.mdb (this one was deleted or
            // replaced): LMDB would build on the older commit and overwrite the newer one.
            // The flock keeps that process out until this transaction ends.
            mdb_txn_abort(txn_);
            txn_ = nullptr;
            remap_lock_.unlock();
            env.reopen();
            remap_lock_.lock();
            rc = begin(flags);
            if (rc == MDB_SUCCESS && behind_data_file()) {
                mdb_txn_abort(txn_);
                txn_ = nullptr;
                throw IoError(env.path().string() + ": a write would start from an older commit than data.mdb's "
                                                    "newest, even after reopening lock.mdb; nothing was written");
            }
        }
        if (rc != MDB_SUCCESS) {
            txn_ = nullptr;
            throw_mdb(rc, env.path(), "mdb_txn_begin");
        }
    } catch (...) {
        unlock_writer();
        throw;
    }
}

int Txn::begin(unsigned flags) {
    if (!env_.env_)
        throw IoError(env_.path().string() + ": the store's environment could not be reopened; open the store again");
    int rc = mdb_txn_begin(env_.get(), nullptr, flags, &txn_);
    if (rc == MDB_MAP_RESIZED) {
        remap_lock_.unlock();
        env_.adopt_map_size();
        remap_lock_.lock();
        rc = mdb_txn_begin(env_.get(), nullptr, flags, &txn_);
    }
    return rc;
}

bool Txn::behind_data_file() const {
    // mdb_env_info reads both meta pages of data.mdb and reports the newer: the last commit,
    // whichever lock file its writer used. A write transaction's id is its base's plus one.
    MDB_envinfo info{};
    check(mdb_env_info(env_.get(), &info), env_.path(), "mdb_env_info");
    return mdb_txn_id(txn_) != info.me_last_txnid + 1;
}

void Txn::unlock_writer() noexcept {
    if (flocked_) {
        ::flock(env_.write_lock_fd_, LOCK_UN);
        flocked_ = false;
    }
    if (write_lock_.owns_lock()) write_lock_.unlock();
}

Txn::~Txn() {
    if (txn_) mdb_txn_abort(txn_);
    unlock_writer();
}

void Txn::commit() {
    MDB_txn* t = txn_;
    txn_ = nullptr;  // LMDB frees the txn even when commit fails
    const int rc = mdb_txn_commit(t);
    unlock_writer();  // the meta page is written (or nothing is): the next writer may start
    check(rc, env_.path(), "mdb_txn_commit");
    for (const auto& [dbi, name] : opened_dbis_) env_.note_dbi(dbi, name);
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
    opened_dbis_.emplace_back(dbi, name);
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

std::size_t Txn::page_bytes() const {
    MDB_stat st{};
    check(mdb_env_stat(env_.get(), &st), env_.path(), "mdb_env_stat");
    return st.ms_psize;
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

bool Cursor::seek(std::span<const std::byte> key) {
    key_ = as_val(key);
    return move(MDB_SET_RANGE, key_, value_);
}

void Cursor::del() { check(mdb_cursor_del(cur_, 0), txn_.env().path(), "mdb_cursor_del"); }

// ---- copies: compaction and snapshots ----------------------------------------------------------

namespace {

/// fsync of a directory, so that an entry made or renamed in it survives a crash.
void sync_dir(const std::filesystem::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw_mdb(errno, dir, "open");
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) throw_mdb(err, dir, "fsync");
}

/// Renames `from` to `to` unless something is there (then false), atomically where the file
/// system has RENAME_NOREPLACE; elsewhere a file is hard-linked (which fails if `to` exists) and
/// a directory renamed, which replaces at most an empty directory.
bool rename_noreplace(const std::filesystem::path& from, const std::filesystem::path& to, bool directory) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return true;
    if (errno == EEXIST) return false;
    if (errno != EINVAL && errno != ENOSYS) throw_mdb(errno, to, "rename");
    if (directory) {
        if (::rename(from.c_str(), to.c_str()) == 0) return true;
        if (errno == EEXIST || errno == ENOTEMPTY) return false;
        throw_mdb(errno, to, "rename");
    }
    if (::link(from.c_str(), to.c_str()) != 0) {
        if (errno == EEXIST) return false;
        throw_mdb(errno, to, "link");
    }
    ::unlink(from.c_str());
    return true;
}

std::uint64_t file_bytes(int fd, const std::filesystem::path& path) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw_mdb(errno, path, "fstat");
    return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace

CopySizes copy_env(const Env& env, const std::filesystem::path& out_arg, CopyKind kind) {
    namespace fs = std::filesystem;
    const bool directory = kind == CopyKind::store_directory;
    const fs::path out = out_arg.has_filename() ? out_arg : out_arg.parent_path();  // "dir/" is "dir"
    const fs::path parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
    bool replace_empty_dir = false;
    struct stat st {};
    if (::lstat(out.c_str(), &st) == 0) {
        if (!directory)
            throw InvalidInput(out.string() + ": already exists; a snapshot is never written over (processes may have "
                                              "it mapped): name a new file");
        if (!S_ISDIR(st.st_mode))
            throw InvalidInput(out.string() + ": exists and is not a directory; compact writes a new store directory");
        std::error_code ec;
        if (!fs::is_empty(out, ec) || ec)
            throw InvalidInput(out.string() + ": not empty; compact writes a new store into a new or empty directory");
        replace_empty_dir = true;
    } else if (errno != ENOENT) {
        throw_mdb(errno, out, "stat");
    }
    struct stat p {};
    if (::stat(parent.c_str(), &p) != 0 || !S_ISDIR(p.st_mode))
        throw InvalidInput(out.string() + ": its directory " + parent.string() + " does not exist");

    // Beside `out`, so the final rename stays on one file system; unique per process and call.
    static std::atomic<unsigned> calls{0};
    const fs::path tmp =
        parent / (out.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(calls++));
    const fs::path tmp_file = directory ? tmp / "data.mdb" : tmp;
    auto remove_tmp = [&]() noexcept {
        ::unlink(tmp_file.c_str());
        if (directory) ::rmdir(tmp.c_str());
    };
    if (directory && ::mkdir(tmp.c_str(), 0750) != 0) throw_mdb(errno, tmp, "mkdir");
    int fd = ::open(tmp_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, directory ? 0640 : 0444);
    if (fd < 0) {
        const int err = errno;
        remove_tmp();
        throw_mdb(err, tmp_file, "open");
    }
    CopySizes sizes;
    try {
        {
            // Keeps the environment in place (no reopen or remap) while LMDB copies from it; the
            // copy reads in a transaction of its own: one commit, whole, whatever writers do.
            Txn guard(env, true);
            int source_fd = -1;
            check(mdb_env_get_fd(env.get(), &source_fd), env.path(), "mdb_env_get_fd");
            sizes.source_bytes = file_bytes(source_fd, env.data_path());
            const int rc = mdb_env_copyfd2(env.get(), fd, MDB_CP_COMPACT);
            if (rc == MDB_INCOMPATIBLE)
                throw CorruptData(env.path().string() + ": the compacting copy found pages the store's tables do not "
                                                        "account for (LMDB: " + mdb_strerror(rc) + "): the store is damaged");
            if (rc != MDB_SUCCESS) throw_mdb(rc, tmp_file, "mdb_env_copyfd2 (compacting copy)");
        }
        // A snapshot is read-only for everyone, whatever the umask: frozen(), so never written.
        if (!directory && ::fchmod(fd, 0444) != 0) throw_mdb(errno, tmp_file, "fchmod");
        if (::fdatasync(fd) != 0) throw_mdb(errno, tmp_file, "fdatasync");
        sizes.copy_bytes = file_bytes(fd, tmp_file);
        const int rc = ::close(fd);
        fd = -1;
        if (rc != 0) throw_mdb(errno, tmp_file, "close");
        if (directory) sync_dir(tmp);
        bool moved = false;
        if (replace_empty_dir) {
            // rename(2) replaces an empty directory only, so a file put there meanwhile stays.
            moved = ::rename(tmp.c_str(), out.c_str()) == 0;
            if (!moved && errno != ENOTEMPTY && errno != EEXIST) throw_mdb(errno, out, "rename");
        } else {
            moved = rename_noreplace(tmp, out, directory);
        }
        if (!moved)
            throw InvalidInput(out.string() + ": was made by someone else while the copy was written; nothing of "
                                              "theirs was replaced, and the copy is deleted");
        sync_dir(parent);
    } catch (...) {
        if (fd >= 0) ::close(fd);
        remove_tmp();  // after the rename, nothing is left under the temporary name
        throw;
    }
    return sizes;
}

}  // namespace barstore::storage
