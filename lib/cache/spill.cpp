// cache/spill.cpp: spilled entries as checksummed values in a disposable LMDB environment.
// Invariants guarded: a value is returned only if its checksum, its chunks' checksums, its sizes
// and its name (series, generation, session, timeframe, alignment) all check out; anything else
// is deleted and the caller goes back to the store. The spill deletes no file it did not make:
// only data.mdb and lock.mdb, and only those its directory's marker records. Durability is not
// needed, so only this environment runs with MDB_NOSYNC | MDB_NOMETASYNC.
#include "cache/spill.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <system_error>

#include "barstore/error.hpp"
#include "barstore/session.hpp"
#include "barstore/time.hpp"
#include "codec/chunk.hpp"
#include "core/le.hpp"
#include "storage/lmdb.hpp"

namespace barstore::cache {

namespace {

constexpr std::uint32_t kSpillMagic = 0x50535342;  // bytes "BSSP"
constexpr std::uint16_t kSpillVersion = 1;
constexpr std::size_t kHeaderBytes = 96;
constexpr std::size_t kChecksumAt = 88;
constexpr const char* kTable = "spill";
constexpr const char* kLockFile = "reader.lock";
constexpr const char* kMarkerFile = "barstore-spill";
constexpr const char* kMarkerTmp = "barstore-spill.tmp";
constexpr const char* kEnvFiles[] = {"data.mdb", "lock.mdb"};
constexpr const char* kMarkerHeader =
    "barstore spill directory (docs/cache.md): a Reader's evicted cache entries, disposable.\n"
    "A Reader deletes only the files listed below, which it made; delete the directory at will.\n";

std::span<const std::byte> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

void put_be64(std::string& out, u64 v) {
    for (int b = 7; b >= 0; --b) out.push_back(static_cast<char>((v >> (8 * b)) & 0xFF));
}

/// XXH3-64 of everything after the header, seeded with XXH3-64 of the header before the
/// checksum field: the whole value but the field itself, in two one-shot calls (no state).
u64 checksum(std::span<const std::byte> value) {
    const u64 head = XXH3_64bits(value.data(), kChecksumAt);
    return XXH3_64bits_withSeed(value.data() + kHeaderBytes, value.size() - kHeaderBytes, head);
}

std::size_t chunks_for(u64 rows) { return static_cast<std::size_t>((rows + codec::kChunkRows - 1) / codec::kChunkRows); }

[[noreturn]] void corrupt(const std::string& why) { throw CorruptData("corrupt spill entry: " + why); }

/// The parsed fixed header and the offsets of what follows it.
struct Header {
    Kind kind = Kind::raw;
    Alignment align = Alignment::utc;
    i64 base = 0, tf = 0;
    u64 generation = 0, rows = 0, want = 0;
    i64 from = 0, to = 0;
    bool at_start = false;
    bool ends_stored = false;
    std::uint32_t symbol_bytes = 0, session_bytes = 0, overhang_count = 0, chunk_count = 0;
    std::string_view symbol, session;
    std::size_t overhang_at = 0, sizes_at = 0, chunks_at = 0;
};

/// Checks magic, version, field ranges, sizes and the checksum; throws CorruptData.
Header parse_header(std::span<const std::byte> v, bool verify_checksum) {
    if (v.size() < kHeaderBytes) corrupt("shorter than its header");
    const std::byte* p = v.data();
    if (get_le<std::uint32_t>(p) != kSpillMagic) corrupt("bad magic");
    if (get_le<std::uint16_t>(p + 4) != kSpillVersion) corrupt("unknown version");
    Header h;
    const auto kind = static_cast<std::uint8_t>(p[6]), align = static_cast<std::uint8_t>(p[7]);
    if (kind > 1 || align > 1) corrupt("bad kind or alignment");
    h.kind = static_cast<Kind>(kind);
    h.align = align == 0 ? Alignment::utc : Alignment::session;
    h.base = get_le<i64>(p + 8);
    h.tf = get_le<i64>(p + 16);
    h.generation = get_le<u64>(p + 24);
    h.rows = get_le<u64>(p + 32);
    h.from = get_le<i64>(p + 40);
    h.to = get_le<i64>(p + 48);
    h.want = get_le<u64>(p + 56);
    h.at_start = p[64] != std::byte{0};
    h.ends_stored = p[65] != std::byte{0};
    h.symbol_bytes = get_le<std::uint32_t>(p + 68);
    h.session_bytes = get_le<std::uint32_t>(p + 72);
    h.overhang_count = get_le<std::uint32_t>(p + 76);
    h.chunk_count = get_le<std::uint32_t>(p + 80);
    if (h.base <= 0 || h.tf <= 0 || h.tf % h.base != 0) corrupt("bad timeframe");
    if (h.rows > (u64{1} << 32)) corrupt("row count out of range");
    // Ends are stored for session bins only: a utc bin ends at label + tf.
    if (h.ends_stored != (h.kind == Kind::aggregate && h.align == Alignment::session)) corrupt("bad flags");
    const std::size_t expect_chunks = chunks_for(h.rows) * (h.ends_stored ? 2 : 1);
    if (h.chunk_count != expect_chunks) corrupt("chunk count does not match the rows");
    if (h.overhang_count > h.rows) corrupt("more overhang bins than bins");
    // Every size is bounded by the value's size before anything is added up in 64 bits.
    u64 at = kHeaderBytes + u64{h.symbol_bytes} + h.session_bytes;
    h.overhang_at = static_cast<std::size_t>(at);
    at += u64{h.overhang_count} * 16;
    h.sizes_at = static_cast<std::size_t>(at);
    at += u64{h.chunk_count} * 4;
    if (at > v.size()) corrupt("names and sizes overrun the value");
    h.chunks_at = static_cast<std::size_t>(at);
    for (std::uint32_t c = 0; c < h.chunk_count; ++c) at += get_le<std::uint32_t>(p + h.sizes_at + 4 * c);
    if (at != v.size()) corrupt("chunk sizes do not add up to the value's size");
    if (verify_checksum && checksum(v) != get_le<u64>(p + kChecksumAt)) corrupt("checksum mismatch");
    h.symbol = {reinterpret_cast<const char*>(p + kHeaderBytes), h.symbol_bytes};
    h.session = {reinterpret_cast<const char*>(p + kHeaderBytes + h.symbol_bytes), h.session_bytes};
    return h;
}

}  // namespace

std::string spill_key(const EntryId& id) {
    std::string k = id.key->symbol;
    k.push_back('\0');
    put_be64(k, static_cast<u64>(id.key->base.count()));
    put_be64(k, static_cast<u64>(id.tf_ns));
    k.push_back(static_cast<char>(id.kind));
    k.push_back(static_cast<char>(id.align == Alignment::utc ? 0 : 1));
    put_be64(k, XXH3_64bits(id.session_text->data(), id.session_text->size()));
    put_be64(k, id.generation);
    return k;
}

std::vector<std::byte> encode_spill(const EntryId& id, const Entry& e) {
    // Packed deltas without zstd: re-hydration is on a backtest's critical path, and zstd's
    // per-frame cost was half of it (perf, 200-row entries); the values grow about 1.5x.
    codec::EncodeOptions opts;
    opts.zstd = false;
    const u64 rows = e.bars.size();
    std::vector<std::vector<std::byte>> chunks;
    for (std::size_t lo = 0; lo < rows; lo += codec::kChunkRows)
        chunks.push_back(codec::encode_chunk(e.bars, lo, std::min<std::size_t>(rows, lo + codec::kChunkRows), opts));
    const bool ends_stored = e.kind == Kind::aggregate && e.align == Alignment::session;
    if (ends_stored) {
        // Session bins' ends (truncated at closes, weeks of sessions) ride in the ts column of
        // chunks of their own, the other columns 0; a utc bin's end is label + tf, not stored.
        BarColumns ends;
        for (std::size_t lo = 0; lo < rows; lo += codec::kChunkRows) {
            const std::size_t hi = std::min<std::size_t>(rows, lo + codec::kChunkRows);
            ends.ts.assign(e.ends.begin() + static_cast<std::ptrdiff_t>(lo), e.ends.begin() + static_cast<std::ptrdiff_t>(hi));
            for (auto* c : {&ends.open, &ends.high, &ends.low, &ends.close, &ends.volume}) c->assign(hi - lo, 0);
            chunks.push_back(codec::encode_chunk(ends, 0, hi - lo, opts));
        }
    }
    const std::string& symbol = id.key->symbol;
    const std::string& session = *id.session_text;
    std::size_t size = kHeaderBytes + symbol.size() + session.size() + e.overhang.size() * 16 + chunks.size() * 4;
    for (const auto& c : chunks) size += c.size();
    std::vector<std::byte> v(size);
    std::byte* p = v.data();
    put_le(p, kSpillMagic);
    put_le(p + 4, kSpillVersion);
    p[6] = static_cast<std::byte>(e.kind);
    p[7] = static_cast<std::byte>(e.align == Alignment::utc ? 0 : 1);
    put_le(p + 8, e.base_ns);
    put_le(p + 16, e.tf_ns);
    put_le(p + 24, id.generation);
    put_le(p + 32, rows);
    put_le(p + 40, e.kind == Kind::raw ? e.from : i64{0});
    put_le(p + 48, e.to);
    put_le(p + 56, static_cast<u64>(e.want));
    p[64] = static_cast<std::byte>(e.at_start ? 1 : 0);
    p[65] = static_cast<std::byte>(ends_stored ? 1 : 0);
    put_le(p + 68, static_cast<std::uint32_t>(symbol.size()));
    put_le(p + 72, static_cast<std::uint32_t>(session.size()));
    put_le(p + 76, static_cast<std::uint32_t>(e.overhang.size()));
    put_le(p + 80, static_cast<std::uint32_t>(chunks.size()));
    std::size_t at = kHeaderBytes;
    std::memcpy(p + at, symbol.data(), symbol.size());
    at += symbol.size();
    std::memcpy(p + at, session.data(), session.size());
    at += session.size();
    for (const auto& o : e.overhang) {
        put_le(p + at, o.label);
        put_le(p + at + 8, o.done_at);
        at += 16;
    }
    for (const auto& c : chunks) {
        put_le(p + at, static_cast<std::uint32_t>(c.size()));
        at += 4;
    }
    for (const auto& c : chunks) {
        std::memcpy(p + at, c.data(), c.size());
        at += c.size();
    }
    put_le(p + kChecksumAt, checksum(v));
    return v;
}

void decode_spill(std::span<const std::byte> v, const EntryId& id, Entry& out) {
    const Header h = parse_header(v, true);
    if (h.kind != id.kind || h.align != id.align || h.base != id.key->base.count() || h.tf != id.tf_ns ||
        h.generation != id.generation || h.symbol != id.key->symbol || h.session != *id.session_text)
        corrupt("names another entry than its key");
    const std::byte* p = v.data();
    std::vector<Overhang> overhang(h.overhang_count);
    for (std::uint32_t k = 0; k < h.overhang_count; ++k) {
        overhang[k].label = get_le<i64>(p + h.overhang_at + 16 * k);
        overhang[k].done_at = get_le<i64>(p + h.overhang_at + 16 * k + 8);
        if (k > 0 && overhang[k].label <= overhang[k - 1].label) corrupt("overhang bins out of order");
    }
    const std::size_t n_bar_chunks = chunks_for(h.rows);
    BarColumns bars, ends;
    bars.reserve(static_cast<std::size_t>(h.rows));  // exact: held bytes are counted from capacity
    if (h.ends_stored) ends.reserve(static_cast<std::size_t>(h.rows));
    std::size_t at = h.chunks_at;
    for (std::uint32_t c = 0; c < h.chunk_count; ++c) {
        const std::size_t size = get_le<std::uint32_t>(p + h.sizes_at + 4 * c);
        codec::decode_chunk(v.subspan(at, size), c < n_bar_chunks ? bars : ends);  // throws CorruptData
        at += size;
    }
    if (bars.size() != h.rows) corrupt("row count mismatch");
    for (std::size_t i = 1; i < bars.size(); ++i)
        if (bars.ts[i] <= bars.ts[i - 1]) corrupt("bars out of order");
    if (h.kind == Kind::aggregate && !h.ends_stored) {
        ends.ts.resize(bars.size());
        for (std::size_t i = 0; i < bars.size(); ++i) ends.ts[i] = bars.ts[i] + h.tf;
    }
    if (h.kind == Kind::aggregate) {
        if (ends.size() != h.rows) corrupt("ends count mismatch");
        for (std::size_t i = 0; i < ends.size(); ++i)
            if (ends.ts[i] <= bars.ts[i] || (i > 0 && ends.ts[i] <= ends.ts[i - 1])) corrupt("bin ends out of order");
        if (!bars.empty() && h.to < bars.ts.back()) corrupt("fold frontier before the last bin");
    } else {
        if (h.from > h.to || (!bars.empty() && (bars.ts.front() < h.from || bars.ts.back() >= h.to)))
            corrupt("window bounds do not hold its bars");
    }
    out.bars = std::move(bars);
    out.ends = std::move(ends.ts);
    out.overhang = std::move(overhang);
    out.from = h.kind == Kind::raw ? h.from : 0;
    out.to = h.to;
    out.at_start = h.at_start;
    out.want = std::max<std::size_t>(out.want, static_cast<std::size_t>(h.want));
}

SpillEntryInfo describe_spill(std::span<const std::byte> v) {
    SpillEntryInfo info;
    info.value_bytes = v.size();
    Header h;
    try {
        h = parse_header(v, true);
        info.intact = true;
    } catch (const CorruptData&) {
        try {
            h = parse_header(v, false);
        } catch (const CorruptData&) {
            return info;
        }
    }
    info.aggregate = h.kind == Kind::aggregate;
    info.key = {std::string(h.symbol), Duration{h.base}};
    info.timeframe = Duration{h.tf};
    info.align = h.align;
    info.session = std::string(h.session);
    info.generation = h.generation;
    info.rows = h.rows;
    if (h.rows > 0 && h.chunk_count > 0) {
        try {
            const std::byte* p = v.data();
            const std::size_t first_size = get_le<std::uint32_t>(p + h.sizes_at);
            const auto first = codec::read_chunk_header(v.subspan(h.chunks_at, first_size));
            std::size_t at = h.chunks_at, last_size = first_size;
            const std::size_t n_bar_chunks = chunks_for(h.rows);
            for (std::size_t c = 0; c + 1 < n_bar_chunks; ++c) {
                at += get_le<std::uint32_t>(p + h.sizes_at + 4 * c);
                last_size = get_le<std::uint32_t>(p + h.sizes_at + 4 * (c + 1));
            }
            const auto last = codec::read_chunk_header(v.subspan(at, last_size));
            info.first = Timestamp{Duration{first.first_ts}};
            info.last = Timestamp{Duration{last.last_ts}};
        } catch (const CorruptData&) {
            info.intact = false;
        }
    }
    return info;
}

// ---- the directory -------------------------------------------------------------------------

namespace {

namespace fs = std::filesystem;

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

}  // namespace

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
            if (name == kLockFile || name == kMarkerTmp || (name == kMarkerFile && marker)) continue;
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
    lock_fd_ = ::open((dir_ / kLockFile).c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) return disable((dir_ / kLockFile).string() + ": cannot open: " + errno_text(errno));
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        if (err == EWOULDBLOCK)
            return disable(dir_.string() + ": spill directory in use by another Reader (its reader.lock is locked); "
                                           "give each Reader its own");
        return disable((dir_ / kLockFile).string() + ": cannot lock: " + errno_text(err));
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
    bytes_ = 0;
    // Disposable: whatever an earlier Reader left (or a crash half-wrote) is deleted, never read;
    // but only the very files the marker records a spill made.
    const auto marker = read_marker(dir_);
    for (const char* name : kEnvFiles) {
        const auto file = dir_ / name;
        const auto id = file_id(file);
        if (!id) continue;
        const auto rec = marker ? marker->find(name) : Made::const_iterator{};
        if (!marker || rec == marker->end() || !(rec->second == *id))
            throw InvalidInput(not_a_spill(dir_, std::string("it holds ") + name + ", which no spill made"));
        if (::unlink(file.c_str()) != 0 && errno != ENOENT) throw IoError(file.string() + ": cannot delete: " + errno_text(errno));
    }
    // Made here, empty, and recorded before LMDB writes a byte into them (LMDB starts a new
    // environment in an empty data.mdb). Should that fail, what was made goes again.
    Made made;
    try {
        for (const char* name : kEnvFiles) {
            const auto file = dir_ / name;
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
        write_marker(dir_, made);
    } catch (const Error&) {
        for (const auto& [name, id] : made)
            if (file_id(dir_ / name) == id) ::unlink((dir_ / name).c_str());
        throw;
    }
    // Address space, not disk: room for the budget twice over, as LMDB needs free pages while
    // it replaces values.
    const u64 map = std::max<u64>(u64{64} << 20, budget_bytes_ * 2 + (u64{16} << 20));
    auto env = std::make_unique<storage::Env>(
        dir_, storage::EnvOptions{.read_only = false, .map_size_bytes = static_cast<std::size_t>(map), .max_readers = 126});
    storage::check(mdb_env_set_flags(env->get(), MDB_NOSYNC | MDB_NOMETASYNC, 1), dir_, "mdb_env_set_flags");
    storage::Txn txn(*env, false);
    dbi_ = txn.open_db(kTable, true);
    txn.commit();
    env_ = std::move(env);
}

void SpillTier::disable(std::string reason) {
    env_.reset();  // no spill from here on: evicted entries are dropped, answers stay right
    index_.clear();
    lru_.clear();
    bytes_ = 0;
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
    bytes_ -= it->second.bytes;
    lru_.erase(it->second.lru);
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
            lru_.splice(lru_.begin(), lru_, it->second.lru);  // the copy there is this entry
            continue;
        }
        auto value = encode_spill(item.id, *item.entry);
        if (value.size() > budget_bytes_) continue;  // could never fit
        pending.push_back({std::move(key), std::move(value)});
    }
    if (pending.empty()) return 0;
    // Room first: the least recently used copies go, in the same transaction.
    std::unordered_map<std::string, bool> replacing;
    u64 kept = bytes_, incoming = 0;
    for (const auto& p : pending) {
        incoming += p.value.size();
        if (const auto it = index_.find(p.key); it != index_.end() && replacing.emplace(p.key, true).second)
            kept -= it->second.bytes;
    }
    std::vector<std::string> victims;
    for (auto it = lru_.rbegin(); it != lru_.rend() && kept + incoming > budget_bytes_; ++it) {
        if (replacing.count(*it)) continue;
        victims.push_back(*it);
        kept -= index_.at(*it).bytes;
    }
    // Still too much (a batch larger than the budget): the last ones are not written; an older
    // copy of an entry stays, as any copy of one generation is right.
    while (kept + incoming > budget_bytes_ && !pending.empty()) {
        const auto& p = pending.back();
        incoming -= p.value.size();
        if (replacing.erase(p.key)) kept += index_.at(p.key).bytes;
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
        lru_.push_front(p.key);
        index_.emplace(p.key, Slot{p.value.size(), lru_.begin()});
        bytes_ += p.value.size();
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
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return true;
}

void SpillTier::drop_series(const SeriesKey& key) {
    if (!env_ || index_.empty()) return;
    std::string prefix = key.symbol;
    prefix.push_back('\0');
    put_be64(prefix, static_cast<u64>(key.base.count()));
    std::vector<std::string> gone;
    for (const auto& [k, slot] : index_)
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
        dbi = txn.open_db(cache::kTable, false);
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
