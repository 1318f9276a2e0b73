// cache/spill_dir.hpp: what a spill directory may be, and the only files a spill may delete
// (docs/cache.md, "The spill directory"): data.mdb and lock.mdb, and only those its marker file
// records it made, by device, inode and birth time. Everything else in the directory is refused.
#pragma once
#include <filesystem>
#include <string>

#include "cache/entry.hpp"

namespace barstore::cache {

/// The flock a Reader holds on its spill directory.
inline constexpr const char* kSpillLockFile = "reader.lock";

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

/// Named tables in the LMDB environment in `dir`, from its meta page alone: a spill's has one.
/// 0 when there is no environment or it cannot be opened.
u64 tables_in(const std::filesystem::path& dir);
/// The refusal for a spill directory whose data.mdb has `tables` tables: a store was written into it.
std::string holds_a_store(const std::filesystem::path& dir, u64 tables);

/// Deletes the previous environment's data.mdb and lock.mdb, only if they are the very files the
/// marker records, then makes both afresh (empty, mode 0600) and records them in the marker before
/// anything is written into them. Throws InvalidInput, having deleted nothing, if a data.mdb or
/// lock.mdb is there that no spill made; IoError if the files cannot be deleted, made or recorded
/// (what it made is deleted again).
void renew_env_files(const std::filesystem::path& dir);

}  // namespace barstore::cache
