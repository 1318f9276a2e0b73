// cache/spill.cpp: the spill tier: spilled entries as values in a disposable LMDB environment
// of their own, under a byte budget, least recently used copies deleted first. Invariants
// guarded: a value is returned only if it decodes as the entry asked for (spill_format.cpp);
// anything else is deleted and the caller goes back to the store. Files are made and deleted only
// as spill_dir.cpp allows. Durability is not needed, so only this environment runs with
// MDB_NOSYNC | MDB_NOMETASYNC.
#include "cache/spill.hpp"
#include "core/bytes.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

#include "barstore/error.hpp"
#include "cache/spill_dir.hpp"
#include "storage/lmdb.hpp"

namespace barstore::cache {

namespace {

namespace fs = std::filesystem;

std::string errno_text(int e) { return std::strerror(e); }

}  // namespace

// ---- the tier ------------------------------------------------------------------------------

SpillTier::SpillTier(const fs::path& dir, u64 budget_bytes, const fs::path& store_dir)
    : dir_(dir), budget_bytes_(budget_bytes) {
    start(store_dir);
}

void SpillTier::start(const fs::path& store_dir) {
    // Refusals first, before anything is made: a directory that is not a spill is left exactly
    // as it was. A wrong directory is bad input; a spill that cannot work is only a slower Reader.
    const DirCheck c = check_spill_dir(dir_, store_dir);
    if (c.result == DirCheck::refuse) throw InvalidInput(c.why);
    if (c.result == DirCheck::unusable) return disable(c.why);
    if (!c.exists) {
        fs::path leaf = dir_;
        while (!leaf.empty() && !leaf.has_filename()) leaf = leaf.parent_path();  // "spill/" -> "spill"
        std::error_code ec;
        if (leaf.has_parent_path()) fs::create_directories(leaf.parent_path(), ec);
        // 0700: the Reader maps these files, and one truncated under it is a SIGBUS
        // (docs/reliability.md); nobody but the owner has any business in here.
        if (!ec && ::mkdir(leaf.c_str(), 0700) != 0 && errno != EEXIST) ec.assign(errno, std::generic_category());
        if (ec) return disable(dir_.string() + ": cannot create the spill directory: " + ec.message());
    }
    lock_fd_ = ::open((dir_ / kSpillLockFile).c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) return disable((dir_ / kSpillLockFile).string() + ": cannot open: " + errno_text(errno));
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        if (err == EWOULDBLOCK)
            return disable(dir_.string() + ": spill directory in use by another Reader (its reader.lock is locked); "
                                           "give each Reader its own");
        return disable((dir_ / kSpillLockFile).string() + ": cannot lock: " + errno_text(err));
    }
    // Ours now. A store written into the spill's own data.mdb (ingest --db SPILL_DIR) is the
    // user's data, whatever the marker says.
    if (const u64 tables = tables_in(dir_); tables > 1) {
        ::close(lock_fd_);
        lock_fd_ = -1;
        throw InvalidInput(holds_a_store(dir_, tables));
    }
    try {
        open_env();
    } catch (const InvalidInput&) {  // a file no spill made appeared since the check
        ::close(lock_fd_);
        lock_fd_ = -1;
        throw;
    } catch (const Error& e) {
        disable(e.what());
    }
}

SpillTier::~SpillTier() {
    env_.reset();
    if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

void SpillTier::open_env() {
    env_.reset();
    index_.clear();
    lru_.clear();
    // Disposable: whatever an earlier Reader left (or a crash half-wrote) is deleted, never read;
    // but only the very files the marker records a spill made.
    renew_env_files(dir_);
    // Address space, not disk: room for the budget twice over, as LMDB needs free pages while
    // it replaces values.
    const u64 map = std::max<u64>(u64{64} << 20, budget_bytes_ * 2 + (u64{16} << 20));
    auto env = std::make_unique<storage::Env>(
        dir_, storage::EnvOptions{.read_only = false, .map_size_bytes = static_cast<std::size_t>(map), .max_readers = 126});
    storage::check(mdb_env_set_flags(env->get(), MDB_NOSYNC | MDB_NOMETASYNC, 1), dir_, "mdb_env_set_flags");
    storage::Txn txn(*env, false);
    dbi_ = txn.open_db(kSpillTable, true);
    txn.commit();
    env_ = std::move(env);
}

void SpillTier::disable(std::string reason) {
    env_.reset();  // no spill from here on: evicted entries are dropped, answers stay right
    index_.clear();
    lru_.clear();
    if (lock_fd_ >= 0) ::close(lock_fd_);
    lock_fd_ = -1;
    if (disabled_reason_.empty()) disabled_reason_ = std::move(reason);
}

void SpillTier::recreate() {
    ++errors_;
    try {
        open_env();
    } catch (const Error& e) {
        disable(dir_.string() + ": the spill stopped working and could not start over: " + e.what());
    }
}

void SpillTier::forget(const std::string& key) {
    const auto it = index_.find(key);
    if (it == index_.end()) return;
    lru_.erase(it->second);
    index_.erase(it);
}

bool SpillTier::contains(const EntryId& id) const { return env_ && index_.count(spill_key(id)) != 0; }

std::size_t SpillTier::put(std::span<const Item> items) {
    if (!env_) return 0;
    struct Pending {
        std::string key;
        std::vector<std::byte> value;
    };
    std::vector<Pending> pending;
    for (const auto& item : items) {
        if (item.entry->bars.empty()) continue;
        std::string key = spill_key(item.id);
        if (const auto it = index_.find(key); it != index_.end() && !item.entry->dirty) {
            lru_.touch(it->second);  // the copy there is this entry
            continue;
        }
        auto value = encode_spill(item.id, *item.entry);
        if (value.size() > budget_bytes_) continue;  // could never fit
        pending.push_back({std::move(key), std::move(value)});
    }
    if (pending.empty()) return 0;
    // Room first: the least recently used copies go, in the same transaction.
    std::unordered_map<std::string, bool> replacing;
    u64 kept = lru_.total_cost(), incoming = 0;
    for (const auto& p : pending) {
        incoming += p.value.size();
        if (const auto it = index_.find(p.key); it != index_.end() && replacing.emplace(p.key, true).second)
            kept -= lru_.cost_of(it->second);
    }
    std::vector<std::string> victims;
    for (const Copy* c = lru_.coldest(); c && kept + incoming > budget_bytes_; c = lru_.warmer(*c)) {
        if (replacing.count(*c->key)) continue;
        victims.push_back(*c->key);
        kept -= lru_.cost_of(*c);
    }
    // Still too much (a batch larger than the budget): the last ones are not written; an older
    // copy of an entry stays, as any copy of one generation is right.
    while (kept + incoming > budget_bytes_ && !pending.empty()) {
        const auto& p = pending.back();
        incoming -= p.value.size();
        if (replacing.erase(p.key)) kept += lru_.cost_of(index_.at(p.key));
        pending.pop_back();
    }
    if (pending.empty() && victims.empty()) return 0;
    try {
        storage::Txn txn(*env_, false);
        for (const auto& k : victims) txn.del(dbi_, bytes_of(k));
        for (const auto& p : pending) txn.put(dbi_, bytes_of(p.key), p.value);
        txn.commit();
    } catch (const Error&) {
        // Map full from fragmentation, a deleted directory's file system gone, anything: the
        // spill is only a cache. Start it afresh; these entries are not kept.
        recreate();
        return 0;
    }
    for (const auto& k : victims) {
        forget(k);
        ++evictions_;
    }
    for (auto& p : pending) {
        forget(p.key);
        const auto it = index_.emplace(std::move(p.key), Copy{}).first;
        it->second.key = &it->first;
        lru_.push(it->second, p.value.size());
    }
    return pending.size();
}

bool SpillTier::load(const EntryId& id, Entry& out) {
    if (!env_) return false;
    const std::string key = spill_key(id);
    const auto it = index_.find(key);
    if (it == index_.end()) return false;
    try {
        storage::Txn txn(*env_, true);
        const auto value = txn.get(dbi_, bytes_of(key));
        if (!value) {
            forget(key);
            ++errors_;
            return false;
        }
        decode_spill(*value, id, out);  // copies out before the transaction ends
    } catch (const CorruptData&) {
        // Bit rot, a torn page, a foreign value: never served. Delete it; the store has the bars.
        ++errors_;
        forget(key);
        try {
            storage::Txn txn(*env_, false);
            txn.del(dbi_, bytes_of(key));
            txn.commit();
        } catch (const Error&) {
            recreate();
        }
        return false;
    } catch (const Error&) {
        recreate();
        return false;
    }
    lru_.touch(it->second);
    return true;
}

void SpillTier::drop_series(const SeriesKey& key) {
    if (!env_ || index_.empty()) return;
    const std::string prefix = spill_series_prefix(key);
    std::vector<std::string> gone;
    for (const auto& [k, copy] : index_)
        if (k.compare(0, prefix.size(), prefix) == 0) gone.push_back(k);
    if (gone.empty()) return;
    try {
        storage::Txn txn(*env_, false);
        for (const auto& k : gone) txn.del(dbi_, bytes_of(k));
        txn.commit();
    } catch (const Error&) {
        recreate();
        return;
    }
    for (const auto& k : gone) forget(k);
}

}  // namespace barstore::cache

namespace barstore {

SpillSummary inspect_spill(const std::filesystem::path& dir) {
    SpillSummary s;
    // Nothing that is not a spill directory is opened: a store's environment opened a second
    // time in the process would lose its locks when this one closes.
    const auto check = cache::check_spill_dir(dir, {});
    if (check.result == cache::DirCheck::refuse) throw InvalidInput(check.why);
    if (check.result == cache::DirCheck::unusable) throw IoError(check.why);
    std::error_code ec;
    const auto data = dir / "data.mdb";
    if (!check.exists || !std::filesystem::exists(data, ec)) return s;
    s.file_bytes = std::filesystem::file_size(data, ec);
    if (ec || s.file_bytes == 0) return s;  // made, but LMDB has not written it yet
    s.exists = true;
    storage::Env env(dir, storage::EnvOptions{.read_only = true, .map_size_bytes = 0, .max_readers = 126});
    MDB_stat main{};
    storage::check(mdb_env_stat(env.get(), &main), dir, "mdb_env_stat");
    if (main.ms_entries > 1) throw InvalidInput(cache::holds_a_store(dir, main.ms_entries));
    storage::Txn txn(env, true);
    MDB_dbi dbi = 0;
    try {
        dbi = txn.open_db(cache::kSpillTable, false);
    } catch (const NotFound&) {
        return s;
    }
    storage::Cursor cur(txn, dbi);
    MDB_val k{}, v{};
    for (bool ok = cur.move(MDB_FIRST, k, v); ok; ok = cur.move(MDB_NEXT, k, v)) {
        s.entries.push_back(cache::describe_spill(storage::as_bytes(v)));
        s.value_bytes += v.mv_size;
    }
    return s;
}

}  // namespace barstore
