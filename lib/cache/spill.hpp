// cache/spill.hpp: the spill tier: evicted entries, compressed and checksummed, in a disposable
// LMDB environment of their own, under a byte budget with LRU deletion, in a directory that is
// marked as a spill's and never holds anything else. The values: spill_format.hpp; the directory's
// rules: spill_dir.hpp; both in docs/cache.md.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>

#include "cache/entry.hpp"
#include "cache/lru.hpp"
#include "cache/spill_format.hpp"

namespace barstore::storage {
class Env;
}

namespace barstore::cache {

class SpillTier {
public:
    /// Opens the spill directory `dir` of a Reader on the store in `store_dir`, creating it
    /// (mode 0700) if missing. Throws InvalidInput, having created and deleted nothing, when `dir`
    /// is not a spill directory (check_spill_dir), or when its data.mdb holds more than the spill's
    /// table (a store was written into it). Anything else that keeps the spill from working (the
    /// directory cannot be created or written, no space, another Reader holds its reader.lock) is
    /// not an error: the tier starts disabled, and disabled_reason() says why.
    /// Deletes, of what an earlier Reader left, only data.mdb and lock.mdb, and only when they are
    /// the very files the marker (barstore-spill) records it made: device, inode and birth time.
    SpillTier(const std::filesystem::path& dir, u64 budget_bytes, const std::filesystem::path& store_dir);
    ~SpillTier();
    SpillTier(const SpillTier&) = delete;
    SpillTier& operator=(const SpillTier&) = delete;

    struct Item {
        EntryId id;
        const Entry* entry = nullptr;
    };
    /// Writes the items in one transaction (a clean entry whose copy is still there is only
    /// touched), deleting least recently used copies to stay within the budget. Returns how many
    /// values were written. Never throws for spill trouble: the spill is a cache, so a failure
    /// is counted, the environment recreated (or, if that fails too, the tier disabled), and the
    /// entries are simply not kept.
    std::size_t put(std::span<const Item> items);
    /// Re-hydrates the copy named `id` into `out`. false if there is none, or if it is corrupt
    /// (then it is deleted and counted in errors(): the caller reads the store instead).
    bool load(const EntryId& id, Entry& out);
    bool contains(const EntryId& id) const;
    /// Deletes every copy of the series (all generations): after a write to it.
    void drop_series(const SeriesKey& key);

    u64 bytes() const noexcept { return lru_.total_cost(); }
    u64 entries() const noexcept { return index_.size(); }
    u64 evictions() const noexcept { return evictions_; }
    u64 errors() const noexcept { return errors_; }
    bool enabled() const noexcept { return env_ != nullptr; }
    /// Why the tier is disabled (at open, or since it stopped working); empty while enabled.
    const std::string& disabled_reason() const noexcept { return disabled_reason_; }

private:
    /// A value in the environment, as the index knows it: its size is its cost in lru_.
    struct Copy {
        LruHook<Copy> lru;
        const std::string* key = nullptr;  ///< the index's own key (a map node's: stable)
    };
    /// The constructor's work: checks, directory, lock, environment (or disable()).
    void start(const std::filesystem::path& store_dir);
    /// Deletes the previous environment (only files the marker records), makes data.mdb and
    /// lock.mdb afresh, records them in the marker, then opens LMDB on them. Throws.
    void open_env();
    /// After an LMDB error: start over with an empty environment (or none if that fails too).
    void recreate();
    /// No spill from here on: evicted entries are dropped, answers stay right.
    void disable(std::string reason);
    void forget(const std::string& key);

    std::filesystem::path dir_;
    u64 budget_bytes_;
    int lock_fd_ = -1;
    std::string disabled_reason_;
    std::unique_ptr<storage::Env> env_;
    unsigned dbi_ = 0;
    std::unordered_map<std::string, Copy> index_;  ///< authoritative: the env starts empty
    CostLru<Copy, &Copy::lru> lru_;                ///< every copy in index_; cost: value bytes
    u64 evictions_ = 0, errors_ = 0;
};

}  // namespace barstore::cache
