// cache/spill.hpp: the spill tier: evicted entries, compressed and checksummed, in a disposable
// LMDB environment of their own, under a byte budget with LRU deletion, in a directory that is
// marked as a spill's and never holds anything else. Value layout and directory rules: docs/cache.md.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <list>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "barstore/reader.hpp"
#include "cache/entry.hpp"

namespace barstore::storage {
class Env;
}

namespace barstore::cache {

/// What names an entry: its series at one generation (and session), and the entry within it.
/// A spilled copy is only ever returned for exactly this name.
struct EntryId {
    const SeriesKey* key = nullptr;
    u64 generation = 0;
    const std::string* session_text = nullptr;  ///< format_session() of the series' session
    Kind kind = Kind::raw;
    i64 tf_ns = 0;
    Alignment align = Alignment::utc;
};

/// The LMDB key: symbol, 0x00, be64 base, be64 timeframe, kind, alignment, be64 XXH3 of the
/// session text, be64 generation. Keys of one series share the first |symbol| + 9 bytes.
std::string spill_key(const EntryId& id);

/// The value: header, names, overhang list, chunk sizes, then codec chunks of <= kChunkRows
/// rows (bars; for aggregates also the bins' ends as the ts column of extra chunks).
std::vector<std::byte> encode_spill(const EntryId& id, const Entry& e);
/// Fills out's rows and window fields from `value`. Throws CorruptData unless the value is
/// intact (checksums, sizes, order) and names exactly `id`; `out` is untouched then.
void decode_spill(std::span<const std::byte> value, const EntryId& id, Entry& out);
/// Header fields and first/last ts for listing, without decoding the rows.
SpillEntryInfo describe_spill(std::span<const std::byte> value);

/// Whether `dir` may be a spill directory, reading nothing but names and file identities.
struct DirCheck {
    enum Result { ok, refuse, unusable } result = ok;
    std::string why;      ///< for refuse and unusable: names the directory and the reason
    bool exists = false;  ///< ok: the directory is there (empty, or a spill directory)
};
/// ok: missing, empty (reader.lock alone counts as empty: another Reader is adopting it), or a
/// spill directory whose data.mdb and lock.mdb are the files its marker records. refuse: not a
/// directory, `store_dir` itself or a directory holding it (compared by identity, so any
/// spelling or symlink matches), or anything in it that no spill made. unusable: it cannot even
/// be read (permissions).
DirCheck check_spill_dir(const std::filesystem::path& dir, const std::filesystem::path& store_dir);

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

    u64 bytes() const noexcept { return bytes_; }
    u64 entries() const noexcept { return index_.size(); }
    u64 evictions() const noexcept { return evictions_; }
    u64 errors() const noexcept { return errors_; }
    bool enabled() const noexcept { return env_ != nullptr; }
    /// Why the tier is disabled (at open, or since it stopped working); empty while enabled.
    const std::string& disabled_reason() const noexcept { return disabled_reason_; }

private:
    struct Slot {
        u64 bytes = 0;
        std::list<std::string>::iterator lru;  ///< in lru_, most recent first
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
    std::unordered_map<std::string, Slot> index_;  ///< authoritative: the env starts empty
    std::list<std::string> lru_;
    u64 bytes_ = 0, evictions_ = 0, errors_ = 0;
};

}  // namespace barstore::cache
