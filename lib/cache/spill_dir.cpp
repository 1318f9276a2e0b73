// cache/spill_dir.cpp: the spill directory's rules (docs/cache.md): what it may hold, the marker
// recording the files a spill made, and making and deleting those files. Invariant guarded: the
// spill deletes no file it did not make, and touches nothing in a directory it refuses.
#include "cache/spill_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <system_error>
#include <vector>

#include "barstore/error.hpp"
#include "storage/lmdb.hpp"

namespace barstore::cache {

namespace {

namespace fs = std::filesystem;

constexpr const char* kMarkerFile = "barstore-spill";
constexpr const char* kMarkerTmp = "barstore-spill.tmp";
constexpr const char* kEnvFiles[] = {"data.mdb", "lock.mdb"};
constexpr const char* kMarkerHeader =
    "barstore spill directory (docs/cache.md): a Reader's evicted cache entries, disposable.\n"
    "A Reader deletes only the files listed below, which it made; delete the directory at will.\n";

std::string errno_text(int e) { return std::strerror(e); }

/// What identifies a file the spill made. An inode number alone is handed out again as soon as
/// the file is deleted (to a store ingested into the directory afterwards, say); with the birth
/// time it is not. Where the file system keeps no birth time, device and inode must do.
struct FileId {
    u64 dev = 0, ino = 0;
    i64 birth_s = -1;  ///< -1: no birth time
    u64 birth_ns = 0;
    bool operator==(const FileId&) const = default;
};

constexpr unsigned kIdMask = STATX_INO | STATX_BTIME;

FileId id_of(const struct statx& sx) {
    FileId id;
    id.dev = (u64{sx.stx_dev_major} << 32) | sx.stx_dev_minor;
    id.ino = sx.stx_ino;
    if (sx.stx_mask & STATX_BTIME) {
        id.birth_s = sx.stx_btime.tv_sec;
        id.birth_ns = sx.stx_btime.tv_nsec;
    }
    return id;
}

/// nullopt if there is no such file. A symlink is not followed: a link to a store's data.mdb is
/// not a file the spill made.
std::optional<FileId> file_id(const fs::path& p) {
    struct statx sx {};
    if (::statx(AT_FDCWD, p.c_str(), AT_SYMLINK_NOFOLLOW, kIdMask, &sx) != 0) {
        if (errno == ENOENT) return std::nullopt;
        throw IoError(p.string() + ": statx: " + errno_text(errno));
    }
    return id_of(sx);
}

using Made = std::map<std::string, FileId>;

/// The files the directory's marker says a spill made; nullopt if there is no marker (or the
/// file of that name is not one).
std::optional<Made> read_marker(const fs::path& dir) {
    std::ifstream in(dir / kMarkerFile, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    const std::string all = text.str();
    const std::string_view header = kMarkerHeader;
    if (all.compare(0, header.size(), header) != 0) return std::nullopt;
    Made made;
    std::istringstream lines(all.substr(header.size()));
    std::string name;
    FileId id;
    while (lines >> name >> id.dev >> id.ino >> id.birth_s >> id.birth_ns) made[name] = id;
    return made;
}

/// Replaces the marker whole (a new file renamed over the old), so it is never half written.
void write_marker(const fs::path& dir, const Made& made) {
    std::string text = kMarkerHeader;
    for (const auto& [name, id] : made)
        text += name + " " + std::to_string(id.dev) + " " + std::to_string(id.ino) + " " + std::to_string(id.birth_s) +
                " " + std::to_string(id.birth_ns) + "\n";
    const auto tmp = dir / kMarkerTmp;
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw IoError(tmp.string() + ": cannot create: " + errno_text(errno));
    const ssize_t n = ::write(fd, text.data(), text.size());
    const int err = errno;
    ::close(fd);
    if (n != static_cast<ssize_t>(text.size()))
        throw IoError(tmp.string() + ": cannot write: " + (n < 0 ? errno_text(err) : std::string("short write")));
    if (::rename(tmp.c_str(), (dir / kMarkerFile).c_str()) != 0)
        throw IoError((dir / kMarkerFile).string() + ": cannot write: " + errno_text(errno));
}

std::string not_a_spill(const fs::path& dir, const std::string& why) {
    return dir.string() + ": not a spill directory: " + why +
           "; nothing in it was touched. Give the spill a new or empty directory of its own";
}

}  // namespace

/// Named tables in the LMDB environment in `dir`, from its meta page alone (no B-tree page is
/// read, so a spill half-written by a crash cannot crash this): a spill's has one. 0 when there
/// is no environment or it cannot be opened: then it is a spill's, broken, and goes anyway.
/// MDB_NOLOCK: lock.mdb is neither made nor opened, so no other environment of this process on
/// these files can lose its locks when this one closes.
u64 tables_in(const fs::path& dir) {
    MDB_env* env = nullptr;
    if (mdb_env_create(&env) != MDB_SUCCESS) return 0;
    u64 tables = 0;
    MDB_stat st{};
    if (mdb_env_open(env, dir.c_str(), MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS, 0600) == MDB_SUCCESS &&
        mdb_env_stat(env, &st) == MDB_SUCCESS)
        tables = st.ms_entries;
    mdb_env_close(env);
    return tables;
}

std::string holds_a_store(const fs::path& dir, u64 tables) {
    return not_a_spill(dir, "its data.mdb has " + std::to_string(tables) +
                                " tables where a spill's has one: a store was written into it");
}

DirCheck check_spill_dir(const fs::path& dir, const fs::path& store_dir) {
    DirCheck c;
    auto refuse = [&](const std::string& why) {
        c.result = DirCheck::refuse;
        c.why = not_a_spill(dir, why);
        return c;
    };
    auto unusable = [&](const std::string& why) {
        c.result = DirCheck::unusable;
        c.why = dir.string() + ": " + why;
        return c;
    };
    std::error_code ec;
    const auto status = fs::status(dir, ec);
    if (status.type() == fs::file_type::not_found) return c;  // made when the Reader opens
    if (ec) return unusable("cannot read the spill directory: " + ec.message());
    if (!fs::is_directory(status)) return refuse("it is not a directory");
    c.exists = true;
    if (!store_dir.empty()) {
        // By identity (device and inode), so "db", "./db/", "db/." and a symlink to it all match.
        if (fs::equivalent(dir, store_dir, ec)) return refuse("it is the store's own directory (" + store_dir.string() + ")");
        std::error_code up;
        for (fs::path p = fs::canonical(store_dir, up); !up && p.has_relative_path();) {
            p = p.parent_path();
            if (fs::equivalent(p, dir, up)) return refuse("it holds the store (" + store_dir.string() + ")");
        }
    }
    const auto marker = read_marker(dir);
    std::vector<std::string> foreign;
    bool lmdb = false;
    try {
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            const std::string name = it->path().filename().string();
            // reader.lock alone is a directory another Reader is adopting; the marker's temporary
            // file is only ever renamed over the marker.
            if (name == kSpillLockFile || name == kMarkerTmp || (name == kMarkerFile && marker)) continue;
            if (name == kEnvFiles[0] || name == kEnvFiles[1]) {
                const auto id = file_id(it->path());
                const auto rec = marker ? marker->find(name) : Made::const_iterator{};
                if (marker && rec != marker->end() && id && *id == rec->second) continue;
                lmdb = true;
            }
            foreign.push_back(name);
        }
    } catch (const Error& e) {
        return unusable(e.what());
    }
    if (ec) return unusable("cannot list the spill directory: " + ec.message());
    if (foreign.empty()) return c;
    std::sort(foreign.begin(), foreign.end());
    std::string names;
    for (std::size_t i = 0; i < foreign.size() && i < 5; ++i) names += (i ? ", " : "") + foreign[i];
    if (foreign.size() > 5) names += " and " + std::to_string(foreign.size() - 5) + " more";
    return refuse("it holds " + names + ", which no spill made" +
                  (lmdb ? " (an LMDB environment: a store? A spill directory from before barstore marked "
                          "them has no barstore-spill file: delete it)"
                        : ""));
}

void renew_env_files(const fs::path& dir) {
    // Disposable: whatever an earlier Reader left (or a crash half-wrote) is deleted, never read;
    // but only the very files the marker records a spill made.
    const auto marker = read_marker(dir);
    for (const char* name : kEnvFiles) {
        const auto file = dir / name;
        const auto id = file_id(file);
        if (!id) continue;
        const auto rec = marker ? marker->find(name) : Made::const_iterator{};
        if (!marker || rec == marker->end() || !(rec->second == *id))
            throw InvalidInput(not_a_spill(dir, std::string("it holds ") + name + ", which no spill made"));
        if (::unlink(file.c_str()) != 0 && errno != ENOENT) throw IoError(file.string() + ": cannot delete: " + errno_text(errno));
    }
    // Made here, empty, and recorded before LMDB writes a byte into them (LMDB starts a new
    // environment in an empty data.mdb). Should that fail, what was made goes again.
    Made made;
    try {
        for (const char* name : kEnvFiles) {
            const auto file = dir / name;
            const int fd = ::open(file.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
            if (fd < 0) throw IoError(file.string() + ": cannot create: " + errno_text(errno));
            struct statx sx {};
            const int rc = ::statx(fd, "", AT_EMPTY_PATH, kIdMask, &sx);
            const int err = errno;
            ::close(fd);
            if (rc != 0) {
                ::unlink(file.c_str());
                throw IoError(file.string() + ": statx: " + errno_text(err));
            }
            made[name] = id_of(sx);
        }
        write_marker(dir, made);
    } catch (const Error&) {
        for (const auto& [name, id] : made)
            if (file_id(dir / name) == id) ::unlink((dir / name).c_str());
        throw;
    }
}

}  // namespace barstore::cache
