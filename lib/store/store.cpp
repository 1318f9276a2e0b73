// store/store.cpp: the series catalog and chunk tables on top of storage/ and codec/; speaks in
// series and times, storage/ in keys and chunks. Invariants: every chunk of a series but the last
// holds exactly kChunkRows bars; chunk keys, catalog rows and first/last ts always agree; each
// write is one LMDB transaction. Every write, replace and removal is one splice (Impl::splice),
// which never decodes a chunk it removes whole, and brings the series' prewarmed aggregates
// (store/prewarm.cpp) up to date in the same transaction.
#include "barstore/store.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <thread>

#include "aggregate/binner.hpp"
#include "barstore/decimal.hpp"
#include "barstore/error.hpp"
#include "barstore/time.hpp"
#include "codec/chunk.hpp"
#include "core/bytes.hpp"
#include "store/chunk_reads.hpp"
#include "store/prewarm.hpp"
#include "storage/chunk_cursor.hpp"
#include "storage/keys.hpp"
#include "storage/lmdb.hpp"

namespace barstore {

namespace {

using storage::ChunkCursor;
using storage::Cursor;
using storage::Txn;
using i64 = std::int64_t;
using u64 = std::uint64_t;
constexpr i64 kMinTs = std::numeric_limits<i64>::min();
constexpr i64 kMaxTs = std::numeric_limits<i64>::max();

constexpr std::uint32_t kStoreFormat = 1;
constexpr std::uint16_t kCatalogRecordVersion = 1;
constexpr std::size_t kCatalogRecordBytes = 56;

/// A catalog row as stored (docs/format.md, "`catalog`: one record per series").
struct CatalogRecord {
    std::uint32_t series_id = 0;
    Scale scale;
    u64 rows = 0, chunks = 0, stored_bytes = 0, generation = 0;
    i64 first_ts = 0, last_ts = 0;

    std::array<std::byte, kCatalogRecordBytes> encode() const {
        std::array<std::byte, kCatalogRecordBytes> b{};
        put_le<std::uint16_t>(b.data(), kCatalogRecordVersion);
        b[2] = static_cast<std::byte>(scale.price_decimals);
        b[3] = static_cast<std::byte>(scale.volume_decimals);
        put_le(b.data() + 4, series_id);
        put_le(b.data() + 8, rows);
        put_le(b.data() + 16, chunks);
        put_le(b.data() + 24, stored_bytes);
        put_le(b.data() + 32, generation);
        put_le(b.data() + 40, first_ts);
        put_le(b.data() + 48, last_ts);
        return b;
    }
    static CatalogRecord decode(std::span<const std::byte> b, const std::string& what) {
        if (b.size() != kCatalogRecordBytes || get_le<std::uint16_t>(b.data()) != kCatalogRecordVersion)
            throw CorruptData(what + ": bad catalog record");
        CatalogRecord r;
        r.scale.price_decimals = static_cast<int>(b[2]);
        r.scale.volume_decimals = static_cast<int>(b[3]);
        if (r.scale.price_decimals > 18 || r.scale.volume_decimals > 18)
            throw CorruptData(what + ": bad scale in catalog");
        r.series_id = get_le<std::uint32_t>(b.data() + 4);
        r.rows = get_le<u64>(b.data() + 8);
        r.chunks = get_le<u64>(b.data() + 16);
        r.stored_bytes = get_le<u64>(b.data() + 24);
        r.generation = get_le<u64>(b.data() + 32);
        r.first_ts = get_le<i64>(b.data() + 40);
        r.last_ts = get_le<i64>(b.data() + 48);
        return r;
    }
};

std::string describe(const SeriesKey& k) { return k.symbol + " " + format_timeframe(k.base); }

SeriesInfo to_info(const SeriesKey& key, const CatalogRecord& r) {
    SeriesInfo s;
    s.key = key;
    s.scale = r.scale;
    s.rows = r.rows;
    s.chunks = r.chunks;
    s.stored_bytes = r.stored_bytes;
    s.generation = r.generation;
    s.first = Timestamp{Duration{r.first_ts}};
    s.last = Timestamp{Duration{r.last_ts}};
    return s;
}

/// Multiplies every price (or volume) by 10^k; InvalidInput naming the series on overflow.
void scale_up(BarColumns& b, int price_k, int volume_k, const SeriesKey& key) {
    auto apply = [&](std::vector<i64>& col, int k, const char* what) {
        if (k == 0) return;
        for (auto& v : col) {
            const auto r = rescale(v, 0, k);
            if (!r)
                throw InvalidInput(describe(key) + ": " + what + " " + format_decimal(v, 0) +
                                   " does not fit int64 at " + std::to_string(k) + " more decimals");
            v = *r;
        }
    };
    for (auto* c : {&b.open, &b.high, &b.low, &b.close}) apply(*c, price_k, "price");
    apply(b.volume, volume_k, "volume");
}

/// InvalidInput when a Writer's next batch of a series starts at or before `last_ts`, the last
/// bar of the batch before it: a series' batches must continue one another.
void require_after(const SeriesKey& key, i64 first_ts, i64 last_ts) {
    if (first_ts > last_ts) return;
    throw InvalidInput(describe(key) + ": a batch starts at " + format_time(Timestamp{Duration{first_ts}}) +
                       ", at or before the last bar of the one before it (" +
                       format_time(Timestamp{Duration{last_ts}}) + ")");
}

/// Encodes rows into full chunks (the last may be partial), on all cores for large inputs.
std::vector<std::vector<std::byte>> encode_all(const BarColumns& bars) {
    const std::size_t n_chunks = (bars.size() + codec::kChunkRows - 1) / codec::kChunkRows;
    std::vector<std::vector<std::byte>> out(n_chunks);
    auto work = [&](std::size_t first, std::size_t step) {
        for (std::size_t c = first; c < n_chunks; c += step) {
            const std::size_t lo = c * codec::kChunkRows;
            out[c] = codec::encode_chunk(bars, lo, std::min(bars.size(), lo + codec::kChunkRows));
        }
    };
    const std::size_t threads = n_chunks >= 16 ? std::max(1u, std::thread::hardware_concurrency()) : 1;
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work, t, threads);
    work(0, threads);
    for (auto& t : pool) t.join();
    return out;
}

/// What a splice does to a series' chunks, decided from their keys alone (none is read): chunks
/// [0, keep_before) stay as they are; [keep_before, range_end) are rewritten: those holding bars
/// in the range, a partial last chunk that new bars after it top up, and with a rescale every
/// chunk before the range too. merge() may take more after them; the rest stay.
struct SplicePlan {
    std::vector<i64> starts;  ///< every chunk's first ts, in order
    u64 last_chunk_rows = 0;
    i64 last_ts = 0;  ///< the series' last bar
    std::size_t keep_before = 0, range_end = 0;

    std::size_t size() const { return starts.size(); }
    u64 rows_of(std::size_t c) const { return c + 1 < size() ? codec::kChunkRows : last_chunk_rows; }
    /// Every bar of chunk c is at or before t: chunk c's bars lie in [its key, the next key).
    bool ends_by(std::size_t c, i64 t) const { return c + 1 < size() ? starts[c + 1] - 1 <= t : last_ts <= t; }
};

/// The bars a splice writes: the kept stored bars before the range, the new bars, the kept
/// stored bars after it; and how far into the stored chunks it reached.
struct SpliceMerge {
    BarColumns copy;        ///< the merged bars, unless they are the new bars alone
    bool borrowed = true;   ///< a fresh series or a full last chunk: the new bars, no copy
    std::size_t keep_from;  ///< chunks [keep_from, n) stay
    u64 removed = 0;        ///< stored bars in the range

    const BarColumns& bars(const BarColumns& incoming) const { return borrowed ? incoming : copy; }
};

}  // namespace

struct Store::Impl {
    storage::EnvRef env;  // the process-wide environment of this directory, and this Store's mode
    MDB_dbi meta = 0, catalog = 0, chunks = 0, sessions = 0;
    bool have_sessions = false;
    prewarm::Tables prewarmed;  // the `prewarm` and `aggregates` tables

    Impl(const std::filesystem::path& dir, const StoreOptions& o)
        : env(dir, {.read_only = o.read_only, .map_size_bytes = o.map_size_bytes, .max_readers = o.max_readers,
                    .allow_network_fs = o.allow_network_fs}) {
        std::lock_guard tables_lock(env.dbi_mutex());  // LMDB: one txn at a time may open tables
        Txn txn(env, o.read_only);
        meta = txn.open_db("meta", !o.read_only);
        catalog = txn.open_db("catalog", !o.read_only);
        chunks = txn.open_db("chunks", !o.read_only);
        // Stores written before sessions existed lack the table; read-only, that means "none".
        try {
            sessions = txn.open_db("sessions", !o.read_only);
            have_sessions = true;
        } catch (const NotFound&) {
        }
        // Likewise stores written before prewarmed aggregates: read-only, "nothing prewarmed".
        prewarmed.chunks = chunks;
        try {
            prewarmed.records = txn.open_db("prewarm", !o.read_only);
            prewarmed.bins = txn.open_db("aggregates", !o.read_only);
            prewarmed.present = true;
        } catch (const NotFound&) {
        }
        const auto fmt = txn.get(meta, bytes_of("format_version"));
        if (fmt) {
            if (fmt->size() != 4)
                throw CorruptData(dir.string() + ": the store's format_version record is " + std::to_string(fmt->size()) +
                                  " bytes, not 4: not a barstore store, or a damaged one");
            if (const auto found = get_le<std::uint32_t>(fmt->data()); found != kStoreFormat)
                throw CorruptData(dir.string() + ": store format version " + std::to_string(found) +
                                  ", but this barstore reads only version " + std::to_string(kStoreFormat) +
                                  (found > kStoreFormat ? " (written by a newer barstore: upgrade)" : ""));
        } else if (!o.read_only) {
            std::array<std::byte, 4> v{};
            put_le(v.data(), kStoreFormat);
            txn.put(meta, bytes_of("format_version"), v);
        }
        txn.commit();
    }

    std::optional<CatalogRecord> record(const Txn& txn, const SeriesKey& key) const {
        const auto v = txn.get(catalog, storage::catalog_key(key));
        if (!v) return std::nullopt;
        return CatalogRecord::decode(*v, describe(key));
    }

    /// The series' session (24x7 when none is stored), from its canonical text.
    Session session_of(const Txn& txn, const std::vector<std::byte>& catalog_key) const {
        const auto v = have_sessions ? txn.get(sessions, catalog_key) : std::nullopt;
        if (!v) return Session{};
        try {
            return parse_session({reinterpret_cast<const char*>(v->data()), v->size()});
        } catch (const InvalidInput& e) {
            throw CorruptData(std::string("stored session: ") + e.what());
        }
    }
    void put_session(Txn& txn, const std::vector<std::byte>& catalog_key, const Session& s) {
        if (s.is_24x7()) {
            txn.del(sessions, catalog_key);
            return;
        }
        txn.put(sessions, catalog_key, bytes_of(format_session(s)));
    }

    /// The series' stored session bytes, nullopt when none is stored.
    std::optional<std::vector<std::byte>> txn_session(const Txn& txn, const std::vector<std::byte>& catalog_key) const {
        const auto v = txn.get(sessions, catalog_key);
        if (!v) return std::nullopt;
        return std::vector<std::byte>(v->begin(), v->end());
    }

    /// The series' session text as stored (canonical), "24x7" when none is.
    std::string session_text(const Txn& txn, const std::vector<std::byte>& catalog_key) const {
        const auto v = have_sessions ? txn.get(sessions, catalog_key) : std::nullopt;
        return v ? std::string(reinterpret_cast<const char*>(v->data()), v->size()) : std::string("24x7");
    }

    /// What the prewarm tables need of a series; nullopt if it is unknown.
    std::optional<prewarm::Series> series(const Txn& txn, const SeriesKey& key) const {
        const auto r = record(txn, key);
        if (!r) return std::nullopt;
        return series(txn, key, *r);
    }
    prewarm::Series series(const Txn& txn, const SeriesKey& key, const CatalogRecord& r) const {
        prewarm::Series s;
        s.key = key;
        s.name = describe(key);
        s.id = r.series_id;
        s.generation = r.generation;
        s.scale = r.scale;
        s.session_text = session_text(txn, storage::catalog_key(key));
        s.first_ts = r.first_ts;
        s.rows = r.rows;
        return s;
    }

    /// Whether the series has any prewarmed aggregate: one key lookup, so that writes to the
    /// others pay nothing more.
    bool has_prewarmed_aggregates(const Txn& txn, std::uint32_t series_id) const {
        if (!prewarmed.present) return false;
        Cursor cur(txn, prewarmed.records);
        const auto p = storage::series_prefix(series_id);
        return cur.seek(p) && cur.key().size() >= p.size() && std::memcmp(cur.key().data(), p.data(), p.size()) == 0;
    }

    /// After a write that left the series as `rec` (generation, scale and session already put):
    /// its prewarmed aggregates follow, from `change.from` on (prewarm::Tables::maintain).
    void maintain_prewarmed(Txn& txn, const SeriesKey& key, const CatalogRecord& rec, const prewarm::Change& change) {
        const auto s = series(txn, key, rec);
        prewarmed.maintain(txn, s, session_of(txn, storage::catalog_key(key)), change);
    }

    u64 counter(Txn& txn, const char* name, u64 first) {
        const auto v = txn.get(meta, bytes_of(name));
        const u64 cur = v && v->size() == 8 ? get_le<u64>(v->data()) : first;
        std::array<std::byte, 8> next{};
        put_le(next.data(), cur + 1);
        txn.put(meta, bytes_of(name), next);
        return cur;
    }

    /// A cursor over one series' chunks, in time order.
    ChunkCursor chunks_of(const Txn& txn, std::uint32_t series_id) const {
        return ChunkCursor(txn, chunks, storage::series_prefix(series_id));
    }

    [[noreturn]] static void rethrow_naming(const CorruptData& e, const SeriesKey& key, i64 key_ts) {
        chunk_reads::rethrow_naming(e, describe(key), key_ts);
    }
    /// Decodes one chunk, naming the series and its time if it is corrupt.
    static void decode(std::span<const std::byte> chunk, const SeriesKey& key, i64 key_ts, BarColumns& out) {
        try {
            codec::decode_chunk(chunk, out);
        } catch (const CorruptData& e) {
            rethrow_naming(e, key, key_ts);
        }
    }
    /// The value of the chunk whose key says it starts at `first_ts`, which the series' keys
    /// listed: one step on when the cursor stands on the chunk before, else a seek.
    static std::span<const std::byte> chunk_at(ChunkCursor& cur, const SeriesKey& key, i64 first_ts) {
        if (cur.positioned() && cur.first_ts() < first_ts) cur.next();
        if (!cur.positioned() || cur.first_ts() != first_ts) cur.seek(first_ts);
        if (!cur.positioned() || cur.first_ts() != first_ts) vanished(key, first_ts);
        return cur.value();
    }
    [[noreturn]] static void vanished(const SeriesKey& key, i64 first_ts) {
        throw CorruptData(describe(key) + ": chunk at " + format_time(Timestamp{Duration{first_ts}}) + " vanished");
    }

    /// Every series of `symbol`, in base order.
    std::vector<SeriesInfo> find(const Txn& txn, std::string_view symbol) const {
        // Catalog keys are symbol, 0x00, be64 base: one prefix scan, already in base order.
        std::string prefix(symbol);
        prefix.push_back('\0');
        Cursor cur(txn, catalog);
        std::vector<SeriesInfo> out;
        for (bool ok = cur.seek(bytes_of(prefix)); ok; ok = cur.move(MDB_NEXT)) {
            const auto k = cur.key();
            if (k.size() != prefix.size() + 8 || std::memcmp(k.data(), prefix.data(), prefix.size()) != 0) break;
            const auto key = storage::parse_catalog_key(k);
            out.push_back(to_info(key, CatalogRecord::decode(cur.value(), describe(key))));
            out.back().session = session_of(txn, storage::catalog_key(key));
        }
        return out;
    }

    /// What a Writer keeps of each series it has written: the batches of one series act as one.
    struct Written {
        i64 last_ts = 0;                 // the last bar written
        bool prewarmed = false;          // the series had prewarmed aggregates before the first batch
        prewarm::Change change;          // ... and what the batches changed, for commit
        bool created = false;            // the series did not exist before this writer
    };
    void write_batch(Txn& txn, const SeriesBatch& batch, WriteMode mode, u64 generation, Written* earlier,
                     Written& now);
    u64 splice(Txn& txn, const SeriesKey& key, CatalogRecord& rec, i64 lo, i64 hi, const BarColumns& incoming,
               int price_k, int volume_k);
    SplicePlan plan_splice(const Txn& txn, const SeriesKey& key, const CatalogRecord& rec, i64 lo, i64 hi,
                           bool rescale, bool adding) const;
    SpliceMerge merge(const Txn& txn, const SeriesKey& key, std::uint32_t series_id, const SplicePlan& plan, i64 lo,
                      i64 hi, const BarColumns& incoming, int price_k, int volume_k) const;
    u64 drop_chunks(Txn& txn, const SeriesKey& key, std::uint32_t series_id, const SplicePlan& plan,
                    std::size_t keep_from);
    std::pair<std::size_t, u64> put_chunks(Txn& txn, std::uint32_t series_id, const BarColumns& bars);
};

/// Removes the stored bars of `rec`'s series with ts in [lo, hi] (inclusive) and puts `incoming`
/// (sorted, all in [lo, hi], possibly empty) in their place; with price_k/volume_k > 0 every
/// kept stored bar is scaled up by that many decimals. Updates rec's rows, chunks, bytes and
/// first/last ts (not its generation or scale); returns how many stored bars went.
///
/// Keys alone say which chunks to touch (plan_splice): chunk c's bars lie in [its key, the next
/// chunk's key), the last chunk's end at the catalog's last ts, and every chunk but the last
/// holds kChunkRows bars. A chunk wholly inside [lo, hi] is deleted without being read, so a
/// chunk that fails its checksum can be cut out by removing or replacing its range. Decoded
/// (merge) are only the chunks that straddle lo or hi, and chunks after the range until the
/// rewritten bars fill whole chunks (stored chunks from there on are still full and in order, so
/// they stay as they are); with a rescale, every kept chunk. Then the rewritten chunks go
/// (drop_chunks) and the merged bars are encoded and put (put_chunks).
u64 Store::Impl::splice(Txn& txn, const SeriesKey& key, CatalogRecord& rec, i64 lo, i64 hi,
                        const BarColumns& incoming, int price_k, int volume_k) {
    const bool rescale = price_k > 0 || volume_k > 0;
    const SplicePlan plan = plan_splice(txn, key, rec, lo, hi, rescale, !incoming.empty());
    const SpliceMerge m = merge(txn, key, rec.series_id, plan, lo, hi, incoming, price_k, volume_k);
    const u64 deleted_bytes = drop_chunks(txn, key, rec.series_id, plan, m.keep_from);
    const BarColumns& merged = m.bars(incoming);
    const auto [put_count, added_bytes] = put_chunks(txn, rec.series_id, merged);

    // Chunks [0, keep_before) and [keep_from, n) are untouched.
    const std::size_t n = plan.size(), keep_before = plan.keep_before, keep_from = m.keep_from;
    const u64 kept_after_rows = keep_from < n ? (n - keep_from - 1) * codec::kChunkRows + plan.last_chunk_rows : 0;
    if (keep_before == 0) rec.first_ts = !merged.empty() ? merged.ts.front() : keep_from < n ? plan.starts[keep_from] : 0;
    if (keep_from < n) {
        // The series' last chunk is kept, and with it the last bar.
    } else if (!merged.empty()) {
        rec.last_ts = merged.ts.back();
    } else if (keep_before > 0) {
        // The range took everything from a chunk boundary on: the last kept chunk's header
        // (checked against its checksum) names its last bar.
        const i64 at = plan.starts[keep_before - 1];
        auto cur = chunks_of(txn, rec.series_id);
        try {
            rec.last_ts = codec::read_chunk_header(chunk_at(cur, key, at), true).last_ts;
        } catch (const CorruptData& e) {
            rethrow_naming(e, key, at);
        }
    } else {
        rec.last_ts = 0;
    }
    rec.rows = keep_before * codec::kChunkRows + merged.size() + kept_after_rows;
    rec.chunks = keep_before + put_count + (n - keep_from);
    rec.stored_bytes = rec.stored_bytes - deleted_bytes + added_bytes;
    return m.removed;
}

SplicePlan Store::Impl::plan_splice(const Txn& txn, const SeriesKey& key, const CatalogRecord& rec, i64 lo, i64 hi,
                                    bool rescale, bool adding) const {
    SplicePlan p;
    p.last_ts = rec.last_ts;
    {
        auto cur = chunks_of(txn, rec.series_id);
        for (bool ok = rec.rows > 0 && cur.first(); ok; ok = cur.next()) p.starts.push_back(cur.first_ts());
    }
    const std::size_t n = p.size();
    if (n != rec.chunks || (n > 0) != (rec.rows > 0) || rec.rows > n * codec::kChunkRows ||
        (n > 0 && rec.rows <= (n - 1) * codec::kChunkRows))
        throw CorruptData(describe(key) + ": catalog says " + std::to_string(rec.rows) + " bars in " +
                          std::to_string(rec.chunks) + " chunks of " + std::to_string(codec::kChunkRows) +
                          " bars but the last, found " + std::to_string(n) + " chunks");
    p.last_chunk_rows = n > 0 ? rec.rows - (n - 1) * codec::kChunkRows : 0;

    // The first chunk with a bar at or after lo; the chunks before it are full (each has a
    // successor) and stay, except a partial last chunk that new bars after it must top up.
    std::size_t first = 0;
    if (lo != kMinTs)
        while (first < n && p.ends_by(first, lo - 1)) ++first;
    p.keep_before = rescale ? 0 : first;
    if (!rescale && first == n && n > 0 && adding && p.last_chunk_rows != codec::kChunkRows) p.keep_before = n - 1;
    p.range_end = p.keep_before;
    while (p.range_end < n && p.starts[p.range_end] <= hi) ++p.range_end;
    return p;
}

SpliceMerge Store::Impl::merge(const Txn& txn, const SeriesKey& key, std::uint32_t series_id, const SplicePlan& plan,
                               i64 lo, i64 hi, const BarColumns& incoming, int price_k, int volume_k) const {
    const bool rescale = price_k > 0 || volume_k > 0;
    const std::size_t n = plan.size();
    auto cur = chunks_of(txn, series_id);
    // A corrupt chunk we had to read: say which range cuts it out.
    auto decode_or_explain = [&](std::size_t c, BarColumns& out) {
        const i64 at = plan.starts[c];
        try {
            decode(chunk_at(cur, key, at), key, at, out);
        } catch (const CorruptData& e) {
            const std::string span = c + 1 < n ? "[" + format_time(Timestamp{Duration{at}}) + ", " +
                                                     format_time(Timestamp{Duration{plan.starts[c + 1]}}) + ")"
                                               : "[" + format_time(Timestamp{Duration{at}}) + ", " +
                                                     format_time(Timestamp{Duration{plan.last_ts}}) + "]";
            throw CorruptData(std::string(e.what()) + "; its bars lie in " + span +
                              ": remove or replace all of that range to cut it out");
        }
    };

    SpliceMerge m;
    BarColumns head, tail;  // kept stored bars before lo, and after hi, in rewritten chunks
    thread_local BarColumns piece;
    std::size_t c = plan.keep_before;
    for (; c < plan.range_end; ++c) {
        if (plan.starts[c] >= lo && plan.ends_by(c, hi)) {
            m.removed += plan.rows_of(c);  // wholly inside: never read
            continue;
        }
        piece.clear();
        decode_or_explain(c, piece);
        const auto a = static_cast<std::size_t>(std::lower_bound(piece.ts.begin(), piece.ts.end(), lo) - piece.ts.begin());
        const auto b = static_cast<std::size_t>(std::upper_bound(piece.ts.begin(), piece.ts.end(), hi) - piece.ts.begin());
        head.append(piece, 0, a);
        m.removed += b - a;
        tail.append(piece, b, piece.size());
    }
    // Chunks after the range, until the rewritten bars end on a chunk boundary.
    for (; c < n && (rescale || (head.size() + incoming.size() + tail.size()) % codec::kChunkRows != 0); ++c)
        decode_or_explain(c, tail);
    m.keep_from = c;
    if (rescale) {
        scale_up(head, price_k, volume_k, key);
        scale_up(tail, price_k, volume_k, key);
    }
    if (!head.empty() || !tail.empty()) {
        m.borrowed = false;
        m.copy.reserve(head.size() + incoming.size() + tail.size());
        m.copy.append(head, 0, head.size());
        m.copy.append(incoming, 0, incoming.size());
        m.copy.append(tail, 0, tail.size());
    }
    return m;
}

/// Deletes chunks [plan.keep_before, keep_from) by key (none is read); returns their bytes.
u64 Store::Impl::drop_chunks(Txn& txn, const SeriesKey& key, std::uint32_t series_id, const SplicePlan& plan,
                             std::size_t keep_from) {
    u64 bytes = 0;
    auto cur = chunks_of(txn, series_id);
    bool on = plan.keep_before < keep_from && cur.seek(plan.starts[plan.keep_before]);
    for (std::size_t c = plan.keep_before; c < keep_from; ++c) {
        if (!on || cur.first_ts() != plan.starts[c]) vanished(key, plan.starts[c]);
        bytes += cur.value().size();
        cur.del();
        on = cur.next();  // the chunk after the deleted one
    }
    return bytes;
}

/// Encodes `bars` into full chunks (the last may be partial) and puts them; returns how many
/// chunks and their bytes.
std::pair<std::size_t, u64> Store::Impl::put_chunks(Txn& txn, std::uint32_t series_id, const BarColumns& bars) {
    const auto encoded = encode_all(bars);
    u64 bytes = 0;
    for (std::size_t e = 0; e < encoded.size(); ++e) {
        txn.put(chunks, storage::chunk_key(series_id, bars.ts[e * codec::kChunkRows]), encoded[e]);
        bytes += encoded[e].size();
    }
    return {encoded.size(), bytes};
}

/// One batch into the open transaction. `earlier`: what this transaction already wrote to the
/// series (a Writer's previous batches), whose range the new one continues; `now` is filled in.
void Store::Impl::write_batch(Txn& txn, const SeriesBatch& batch, WriteMode mode, u64 generation, Written* earlier,
                              Written& now) {
    const SeriesKey& key = batch.key;
    validate_symbol(key.symbol);
    if (key.base.count() <= 0) throw InvalidInput(describe(key) + ": base timeframe must be positive");
    if (batch.scale.price_decimals < 0 || batch.scale.price_decimals > 18 || batch.scale.volume_decimals < 0 ||
        batch.scale.volume_decimals > 18)
        throw InvalidInput(describe(key) + ": decimals must be 0..18");
    if (batch.session)
        if (const auto why = session_base_problem(*batch.session, key.base)) throw InvalidInput(describe(key) + ": " + *why);
    if (batch.bars.empty()) return;
    if (const auto p = check_bars(batch.bars, key.base))
        throw InvalidInput(describe(key) + ": bar " + std::to_string(p->index) + " at " +
                           format_time(batch.bars.row(p->index).ts) + ": " + p->reason);

    const auto existing = record(txn, key);
    CatalogRecord rec = existing.value_or(CatalogRecord{});
    if (!existing) {
        rec.series_id = static_cast<std::uint32_t>(counter(txn, "next_series_id", 1));
        rec.scale = batch.scale;
    }
    const Scale target{std::max(rec.scale.price_decimals, batch.scale.price_decimals),
                       std::max(rec.scale.volume_decimals, batch.scale.volume_decimals)};
    // Borrow the caller's bars; copy only when they must be scaled up.
    const BarColumns* incoming_ptr = &batch.bars;
    BarColumns scaled;
    if (target != batch.scale) {
        scaled = batch.bars;
        scale_up(scaled, target.price_decimals - batch.scale.price_decimals,
                 target.volume_decimals - batch.scale.volume_decimals, key);
        incoming_ptr = &scaled;
    }
    const BarColumns& incoming = *incoming_ptr;
    const bool rescale_stored = existing && rec.rows > 0 && target != rec.scale;

    const i64 in_first = incoming.ts.front(), in_last = incoming.ts.back();
    if (earlier) require_after(key, in_first, earlier->last_ts);
    if (mode == WriteMode::append && rec.rows > 0 && in_first <= rec.last_ts)
        throw InvalidInput(describe(key) + ": bars at or before the series' last bar (" +
                           format_time(Timestamp{Duration{rec.last_ts}}) + "); first new bar is " +
                           format_time(Timestamp{Duration{in_first}}) + " (use --replace to overwrite)");

    // Stored bars are aligned to the base (check_bars, verify), so none lies strictly between
    // in_last and in_last + base: [in_first, in_last + base - 1] holds the same stored bars as
    // [in_first, in_last], and a chunk ending right before the next aligned time is wholly inside.
    const i64 base = key.base.count();
    const i64 hi = in_last > kMaxTs - base ? kMaxTs : in_last + base - 1;
    // Bins of bars before in_first stay, unless the stored bars were all rescaled.
    // A later batch of the same writer takes over where the one before ended, so that together
    // they replace what one batch of all their bars would: [first batch's first, last's last].
    const i64 lo = earlier ? earlier->last_ts + 1 : in_first;
    if (earlier) {
        now = *earlier;
        if (rescale_stored) now.change.from = prewarm::Change::kEverything;
    } else {
        now.created = !existing;
        now.prewarmed = existing && has_prewarmed_aggregates(txn, rec.series_id);
        if (now.prewarmed) {
            now.change.old_generation = rec.generation;
            now.change.old_session_text = session_text(txn, storage::catalog_key(key));
            now.change.old_scale = rec.scale;
            now.change.from =
                rescale_stored || rec.rows == 0 || in_first <= rec.first_ts ? prewarm::Change::kEverything : in_first;
        }
    }
    now.last_ts = in_last;
    splice(txn, key, rec, lo, hi, incoming, rescale_stored ? target.price_decimals - rec.scale.price_decimals : 0,
           rescale_stored ? target.volume_decimals - rec.scale.volume_decimals : 0);
    rec.scale = target;
    rec.generation = generation;
    txn.put(catalog, storage::catalog_key(key), rec.encode());
    if (batch.session) put_session(txn, storage::catalog_key(key), *batch.session);
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

Store Store::open(const std::filesystem::path& dir, StoreOptions opts) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(dir, ec)) {
        // A snapshot (snapshot_to): storage opens it read-only without a lock file, and refuses
        // a read-write open (InvalidInput).
    } else if (!std::filesystem::is_directory(dir, ec)) {
        if (opts.read_only) throw NotFound(dir.string() + ": no store here");
        if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST)
            throw IoError(dir.string() + ": cannot create store directory: " + std::strerror(errno));
    } else if (std::filesystem::exists(dir / "barstore-spill", ec)) {
        // A Reader's spill directory (docs/cache.md, "The spill directory"): its data.mdb is the
        // spill's, deleted when a Reader next opens it, so a store written there would be lost.
        throw InvalidInput(dir.string() + ": a Reader's spill directory (it holds barstore-spill), not a store");
    } else if (opts.read_only && !std::filesystem::exists(dir / "data.mdb")) {
        throw NotFound(dir.string() + ": no store here");
    }
    return Store(std::make_unique<Impl>(dir, opts));
}

const std::filesystem::path& Store::path() const noexcept { return impl_->env.path(); }

std::uint64_t Store::version() const {
    Txn txn(impl_->env, true);
    return txn.id();
}

void Store::write(std::span<const SeriesBatch> batches, WriteMode mode) {
    auto writer = begin_write(mode);
    for (const auto& b : batches) writer.add(b);
    writer.commit();
}

// ---- Store::Writer ------------------------------------------------------------------------

struct Store::Writer::State {
    Impl& impl;
    WriteMode mode;
    Txn txn;
    u64 generation;
    std::map<SeriesKey, Impl::Written> written;
    // stage()d bars not written yet, per series, and how many in all.
    std::map<SeriesKey, SeriesBatch> staged;
    std::size_t staged_rows = 0;
    bool broken = false;  // a call threw: the transaction may hold half a batch

    State(Impl& i, WriteMode m) : impl(i), mode(m), txn(i.env, false), generation(i.counter(txn, "generation", 1)) {}
    void usable() const {
        if (broken) throw Error(Errc::internal, "Store::Writer used after a call threw");
    }
    void add(const SeriesBatch& batch) {
        const auto it = written.find(batch.key);
        Impl::Written now;
        impl.write_batch(txn, batch, mode, generation, it == written.end() ? nullptr : &it->second, now);
        if (!batch.bars.empty()) written.insert_or_assign(batch.key, std::move(now));
    }
    /// Writes every bar staged for `key`.
    void flush(const SeriesKey& key) {
        const auto it = staged.find(key);
        if (it == staged.end()) return;
        staged_rows -= it->second.bars.size();
        const SeriesBatch whole = std::move(it->second);
        staged.erase(it);
        add(whole);
    }
};

namespace {
// Bars a Writer may stage before it writes the series with the most of them whole (~12 MiB).
constexpr std::size_t kStagedRowsMax = std::size_t{1} << 18;
}  // namespace

Store::Writer Store::begin_write(WriteMode mode) {
    if (impl_->env.read_only()) throw InvalidInput(path().string() + ": store opened read-only");
    return Writer(std::make_unique<Writer::State>(*impl_, mode));
}

Store::Writer::Writer(std::unique_ptr<State> s) : s_(std::move(s)) {}
Store::Writer::Writer(Writer&&) noexcept = default;
Store::Writer& Store::Writer::operator=(Writer&&) noexcept = default;
Store::Writer::~Writer() = default;  // an uncommitted transaction aborts: nothing was written

void Store::Writer::add(const SeriesBatch& batch) {
    s_->usable();
    s_->broken = true;
    s_->flush(batch.key);  // what was staged comes first
    s_->add(batch);
    s_->broken = false;
}

void Store::Writer::stage(SeriesBatch&& batch) {
    if (s_->mode != WriteMode::append || batch.bars.empty()) {
        add(batch);
        return;
    }
    s_->usable();
    s_->broken = true;
    const SeriesKey key = batch.key;
    auto it = s_->staged.find(key);
    // The rows that take the series to a chunk boundary: what is staged comes before the batch.
    const auto rec = s_->impl.record(s_->txn, key);
    std::size_t before = rec ? static_cast<std::size_t>(rec->rows % codec::kChunkRows) : 0;
    if (it != s_->staged.end()) {
        SeriesBatch& st = it->second;
        require_after(key, batch.bars.ts.front(), st.bars.ts.back());
        const Scale to{std::max(st.scale.price_decimals, batch.scale.price_decimals),
                       std::max(st.scale.volume_decimals, batch.scale.volume_decimals)};
        scale_up(st.bars, to.price_decimals - st.scale.price_decimals, to.volume_decimals - st.scale.volume_decimals, key);
        scale_up(batch.bars, to.price_decimals - batch.scale.price_decimals,
                 to.volume_decimals - batch.scale.volume_decimals, key);
        st.scale = batch.scale = to;
        if (batch.session) st.session = batch.session;
        // Top the staged rows up to the boundary from the batch's first rows.
        const std::size_t room = (codec::kChunkRows - (before + st.bars.size()) % codec::kChunkRows) % codec::kChunkRows;
        const std::size_t moved = std::min(room, batch.bars.size());
        st.bars.append(batch.bars, 0, moved);
        s_->staged_rows += moved;
        for (auto* col : batch.bars.columns()) col->erase(col->begin(), col->begin() + static_cast<std::ptrdiff_t>(moved));
        if (moved < room || batch.bars.empty()) {
            s_->broken = false;
            return;
        }
        s_->flush(key);  // a whole chunk: the series is on a boundary again
        before = 0;
    }
    // The batch's rows up to its last boundary are written as they are; the rest is staged.
    const std::size_t n = batch.bars.size();
    const std::size_t room = (codec::kChunkRows - before) % codec::kChunkRows;
    const std::size_t whole = n < room ? 0 : room + (n - room) / codec::kChunkRows * codec::kChunkRows;
    if (whole < n) {
        SeriesBatch rest{key, batch.scale, {}, 0, batch.session, {}};
        rest.bars.append(batch.bars, whole, n);
        s_->staged_rows += n - whole;
        s_->staged.insert_or_assign(key, std::move(rest));
        for (auto* col : batch.bars.columns()) col->resize(whole);
    }
    if (whole > 0) s_->add(batch);
    while (s_->staged_rows > kStagedRowsMax) {
        const auto most = std::max_element(s_->staged.begin(), s_->staged.end(), [](const auto& a, const auto& b) {
            return a.second.bars.size() < b.second.bars.size();
        });
        s_->flush(most->first);
    }
    s_->broken = false;
}

void Store::Writer::rename(const SeriesKey& from, const SeriesKey& to) {
    s_->usable();
    s_->broken = true;
    s_->flush(from);
    s_->broken = false;
    const auto it = s_->written.find(from);
    if (it == s_->written.end() || !it->second.created)
        throw InvalidInput(describe(from) + ": only a series this writer created can be renamed");
    if (s_->impl.record(s_->txn, to)) throw InvalidInput(describe(to) + ": the series already exists");
    s_->broken = true;
    auto& impl = s_->impl;
    const auto rec = impl.record(s_->txn, from);
    if (!rec) throw Error(Errc::internal, describe(from) + ": written series vanished");
    const auto from_key = storage::catalog_key(from), to_key = storage::catalog_key(to);
    // Chunks are keyed by series id, not by name: only the catalog entry and session move.
    s_->txn.put(impl.catalog, to_key, rec->encode());
    s_->txn.del(impl.catalog, from_key);
    if (impl.have_sessions) {
        if (const auto session = impl.txn_session(s_->txn, from_key)) {
            s_->txn.put(impl.sessions, to_key, *session);
            s_->txn.del(impl.sessions, from_key);
        }
    }
    auto node = s_->written.extract(it);
    node.key() = to;
    s_->written.insert(std::move(node));
    s_->broken = false;
}

std::vector<SeriesInfo> Store::Writer::find(std::string_view symbol) const {
    s_->usable();
    return s_->impl.find(s_->txn, symbol);
}

void Store::Writer::commit() {
    s_->usable();
    s_->broken = true;
    while (!s_->staged.empty()) s_->flush(s_->staged.begin()->first);
    // Prewarmed aggregates follow once per series, from the first bin any batch touched.
    for (const auto& [key, w] : s_->written) {
        if (!w.prewarmed) continue;
        const auto rec = s_->impl.record(s_->txn, key);
        if (!rec) throw Error(Errc::internal, describe(key) + ": written series vanished");
        s_->impl.maintain_prewarmed(s_->txn, key, *rec, w.change);
    }
    s_->txn.commit();
}

std::uint64_t Store::remove(const SeriesKey& key, std::optional<Timestamp> from, std::optional<Timestamp> to) {
    if (impl_->env.read_only()) throw InvalidInput(path().string() + ": store opened read-only");
    if (from && to && *from > *to)
        throw InvalidInput(describe(key) + ": the range's start " + format_time(*from) + " is after its end " +
                           format_time(*to));
    Txn txn(impl_->env, false);
    auto rec = impl_->record(txn, key);
    if (!rec) throw NotFound("no series " + describe(key));
    const auto ck = storage::catalog_key(key);
    if (!from && !to) {
        // The whole series: its chunks by key (none is read), its catalog row, its session.
        {
            // Closed before the commit: LMDB frees a write transaction's cursors with it.
            auto cur = impl_->chunks_of(txn, rec->series_id);
            for (bool ok = cur.first(); ok; ok = cur.next()) cur.del();  // next(): the one after it
        }
        txn.del(impl_->catalog, ck);
        if (impl_->have_sessions) txn.del(impl_->sessions, ck);
        impl_->prewarmed.drop(txn, rec->series_id, std::nullopt);
        (void)impl_->counter(txn, "generation", 1);  // a write like any other
        txn.commit();
        return rec->rows;
    }
    const i64 lo = from ? from->time_since_epoch().count() : kMinTs;
    if (to && to->time_since_epoch().count() == lo) return 0;  // [t, t) is empty
    const i64 hi = to ? to->time_since_epoch().count() - 1 : kMaxTs;
    if (rec->rows == 0 || hi < rec->first_ts || lo > rec->last_ts) return 0;
    const bool has_prewarmed = impl_->has_prewarmed_aggregates(txn, rec->series_id);
    prewarm::Change change;
    if (has_prewarmed) {
        change.old_generation = rec->generation;
        change.old_session_text = impl_->session_text(txn, ck);
        change.old_scale = rec->scale;
        change.from = lo <= rec->first_ts ? prewarm::Change::kEverything : lo;
    }
    const u64 removed = impl_->splice(txn, key, *rec, lo, hi, BarColumns{}, 0, 0);
    if (removed == 0) return 0;  // the range fell in a gap: the transaction aborts, nothing changes
    rec->generation = impl_->counter(txn, "generation", 1);
    txn.put(impl_->catalog, ck, rec->encode());
    if (has_prewarmed) impl_->maintain_prewarmed(txn, key, *rec, change);
    txn.commit();
    return removed;
}

std::vector<SeriesInfo> Store::list() const {
    Txn txn(impl_->env, true);
    Cursor cur(txn, impl_->catalog);
    std::vector<SeriesInfo> out;
    for (bool ok = cur.move(MDB_FIRST); ok; ok = cur.move(MDB_NEXT)) {
        const auto key = storage::parse_catalog_key(cur.key());
        out.push_back(to_info(key, CatalogRecord::decode(cur.value(), describe(key))));
        out.back().session = impl_->session_of(txn, storage::catalog_key(key));
    }
    return out;
}

std::optional<SeriesInfo> Store::info_fast(const SeriesKey& key) const {
    Txn txn(impl_->env, true);
    const auto r = impl_->record(txn, key);
    if (!r) return std::nullopt;
    auto info = to_info(key, *r);
    info.session = impl_->session_of(txn, storage::catalog_key(key));
    return info;
}

void Store::set_session(const SeriesKey& key, const Session& session) {
    if (impl_->env.read_only()) throw InvalidInput(path().string() + ": store opened read-only");
    (void)SessionCalendar(session);  // an unknown zone is bad input, not a stored surprise
    Txn txn(impl_->env, false);
    auto rec = impl_->record(txn, key);
    if (!rec) throw NotFound("no series " + describe(key));
    if (const auto why = session_base_problem(session, key.base)) throw InvalidInput(describe(key) + ": " + *why);
    const bool has_prewarmed = impl_->has_prewarmed_aggregates(txn, rec->series_id);
    prewarm::Change change;
    if (has_prewarmed) {
        change.old_generation = rec->generation;
        change.old_session_text = impl_->session_text(txn, storage::catalog_key(key));
        change.old_scale = rec->scale;
        change.from = prewarm::Change::kNoBars;
    }
    rec->generation = impl_->counter(txn, "generation", 1);
    txn.put(impl_->catalog, storage::catalog_key(key), rec->encode());
    impl_->put_session(txn, storage::catalog_key(key), session);
    if (has_prewarmed) impl_->maintain_prewarmed(txn, key, *rec, change);
    txn.commit();
}

std::optional<SeriesInfo> Store::info(const SeriesKey& key) const {
    Txn txn(impl_->env, true);
    const auto r = impl_->record(txn, key);
    if (!r) return std::nullopt;
    auto info = to_info(key, *r);
    info.session = impl_->session_of(txn, storage::catalog_key(key));
    // Page footprint from value sizes alone (LMDB knows them without reading overflow pages):
    // a large value takes whole overflow pages plus a leaf node; a small one sits in a leaf.
    const u64 page = txn.page_bytes(), node_overhead = 8 + sizeof(storage::ChunkKey) + 2;  // node header, key, slot
    auto cur = impl_->chunks_of(txn, r->series_id);
    for (bool ok = cur.first(); ok; ok = cur.next()) {
        const u64 size = cur.value().size();
        info.disk_bytes += size > page / 2 ? (size + 16 + page - 1) / page * page + node_overhead
                                           : size + node_overhead;
    }
    return info;
}

std::vector<SeriesInfo> Store::find(std::string_view symbol) const {
    Txn txn(impl_->env, true);
    return impl_->find(txn, symbol);
}

SeriesInfo Store::resolve(std::string_view symbol, std::optional<Duration> timeframe) const {
    const auto all = find(symbol);
    if (all.empty()) throw NotFound("no series '" + std::string(symbol) + "' in " + path().string());
    if (all.size() == 1 || !timeframe) return all.front();
    for (auto it = all.rbegin(); it != all.rend(); ++it)
        if (timeframe->count() % it->key.base.count() == 0) return *it;
    throw InvalidInput("no series of '" + std::string(symbol) + "' has a base that divides " + format_timeframe(*timeframe));
}

void Store::scan(const SeriesKey& key, Timestamp from, Timestamp to, ScanFn fn) const {
    const i64 lo = from.time_since_epoch().count(), hi = to.time_since_epoch().count();
    if (lo >= hi) return;
    Txn txn(impl_->env, true);
    const auto rec = impl_->record(txn, key);
    if (!rec || rec->rows == 0 || rec->last_ts < lo || rec->first_ts >= hi) return;
    auto cur = impl_->chunks_of(txn, rec->series_id);
    chunk_reads::scan(cur, lo, hi, describe(key), fn);
}

BarColumns Store::read(const SeriesKey& key, Timestamp from, Timestamp to) const {
    BarColumns out;
    if (const auto i = info_fast(key)) {
        // Reserve once from the catalog so a multi-year read never regrows its columns.
        const i64 lo = std::max(from.time_since_epoch().count(), i->first.time_since_epoch().count());
        const i64 hi = std::min(to.time_since_epoch().count(), i->last.time_since_epoch().count() + 1);
        if (hi > lo)
            out.reserve(static_cast<std::size_t>(std::min<u64>(i->rows, static_cast<u64>((hi - lo) / key.base.count()) + 1)));
    }
    scan(key, from, to, [&](const BarColumns& piece) { out.append(piece, 0, piece.size()); });
    return out;
}

BarColumns Store::read_last(const SeriesKey& key, std::size_t n, Timestamp before) const {
    if (n == 0) return {};
    const i64 hi = before.time_since_epoch().count();
    Txn txn(impl_->env, true);
    const auto rec = impl_->record(txn, key);
    if (!rec || rec->rows == 0 || rec->first_ts >= hi) return {};
    auto cur = impl_->chunks_of(txn, rec->series_id);
    return chunk_reads::read_last(cur, n, hi, rec->rows, describe(key));
}

void Store::scan_last(const SeriesKey& key, Timestamp before, ScanFn fn) const {
    const i64 hi = before.time_since_epoch().count();
    Txn txn(impl_->env, true);
    const auto rec = impl_->record(txn, key);
    if (!rec || rec->rows == 0 || rec->first_ts >= hi) return;  // also keeps hi - 1 from wrapping
    auto cur = impl_->chunks_of(txn, rec->series_id);
    chunk_reads::scan_last(cur, hi, describe(key), fn);
}

std::vector<VerifyProblem> Store::verify(const VerifyOptions& opts) const {
    std::vector<VerifyProblem> problems;
    Txn txn(impl_->env, true);
    Cursor cat(txn, impl_->catalog);
    std::set<std::uint32_t> series_ids;
    for (bool ok = cat.move(MDB_FIRST); ok; ok = cat.move(MDB_NEXT)) {
        const auto key = storage::parse_catalog_key(cat.key());
        const auto rec = CatalogRecord::decode(cat.value(), describe(key));
        series_ids.insert(rec.series_id);
        auto problem = [&](i64 first, i64 last, std::string why) {
            VerifyProblem p;
            p.key = key;
            p.first = Timestamp{Duration{first}};
            p.last = Timestamp{Duration{last}};
            p.reason = std::move(why);
            problems.push_back(std::move(p));
        };
        auto cur = impl_->chunks_of(txn, rec.series_id);
        u64 rows = 0, n_chunks = 0, bytes = 0, undecodable = 0;
        i64 prev_last = 0;
        BarColumns bars;
        // An unreadable chunk's bars end before the next chunk's first bar, by at least one
        // base (bars are aligned to it), or with the series; its entry is completed when that
        // is known.
        constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
        std::size_t open_end = kNone;
        for (bool ok = cur.first(); ok; ok = cur.next()) {
            const i64 key_ts = cur.first_ts();
            if (open_end != kNone) {
                problems[open_end].last = Timestamp{Duration{key_ts - key.base.count()}};
                open_end = kNone;
            }
            ++n_chunks;
            bytes += cur.value().size();
            bars.clear();
            try {
                codec::decode_chunk(cur.value(), bars);
            } catch (const CorruptData& e) {
                problem(key_ts, key_ts, e.what());
                problems.back().undecodable = true;
                open_end = problems.size() - 1;
                ++undecodable;
                continue;
            }
            const i64 first = bars.ts.front(), last = bars.ts.back();
            if (first != key_ts) problem(first, last, "chunk key does not match its first bar");
            if (n_chunks > 1 && first <= prev_last) problem(first, last, "chunk overlaps the previous chunk");
            if (n_chunks < rec.chunks && bars.size() != codec::kChunkRows)
                problem(first, last, "chunk before the last is not full");
            if (const auto bad = check_bars(bars, key.base))
                problem(first, last, "bar at " + format_time(bars.row(bad->index).ts) + ": " + bad->reason);
            rows += bars.size();
            prev_last = last;
        }
        if (open_end != kNone) problems[open_end].last = std::max(Timestamp{Duration{rec.last_ts}}, problems[open_end].first);
        if (impl_->has_prewarmed_aggregates(txn, rec.series_id)) {
            // A damaged session text leaves session bins unchecked; only aggregates need it.
            std::optional<Session> session;
            try {
                session = impl_->session_of(txn, storage::catalog_key(key));
            } catch (const CorruptData& e) {
                problem(rec.first_ts, rec.last_ts, e.what());
            }
            impl_->prewarmed.verify(txn, impl_->series(txn, key, rec), session ? &*session : nullptr, opts.deep,
                                    undecodable == 0, problems);
        }
        if (undecodable > 0) continue;  // the catalog cannot be checked against unreadable chunks
        if (rows != rec.rows || n_chunks != rec.chunks || bytes != rec.stored_bytes)
            problem(rec.first_ts, rec.last_ts, "catalog counts (rows, chunks, bytes) do not match the chunks");
        else if (rows > 0 && prev_last != rec.last_ts)
            problem(rec.first_ts, rec.last_ts, "catalog last time does not match the chunks");
    }
    impl_->prewarmed.verify_orphans(txn, series_ids, problems);
    return problems;
}

// ---- Many processes, one store: compaction and snapshots (docs/deploy.md) -----------------------

CopyInfo Store::compact_to(const std::filesystem::path& dir) const {
    const auto sizes = storage::copy_env(impl_->env, dir, storage::CopyKind::store_directory);
    return {sizes.source_bytes, sizes.copy_bytes};
}

CopyInfo Store::snapshot_to(const std::filesystem::path& file) const {
    const auto sizes = storage::copy_env(impl_->env, file, storage::CopyKind::snapshot_file);
    return {sizes.source_bytes, sizes.copy_bytes};
}

bool Store::is_snapshot() const noexcept { return static_cast<const storage::Env&>(impl_->env).snapshot(); }

std::vector<PrewarmedInfo> Store::prewarmed(const SeriesKey& key) const {
    Txn txn(impl_->env, true);
    const auto s = impl_->series(txn, key);
    std::vector<PrewarmedInfo> out;
    if (!s) return out;
    for (const auto& e : impl_->prewarmed.list(txn, s->id)) {
        if (!e.record) throw CorruptData(prewarm::describe(s->name, e.spec) + ": " + e.damage);
        out.push_back(prewarm::to_info(e.spec, *e.record, *s));
    }
    return out;
}

PrewarmOutcome Store::prewarm(const SeriesKey& key, const AggregateSpec& spec, const PrewarmOptions& opts) {
    return prewarm(key, std::span<const AggregateSpec>(&spec, 1), opts);
}

PrewarmOutcome Store::prewarm(const SeriesKey& key, std::span<const AggregateSpec> specs, const PrewarmOptions& opts) {
    if (impl_->env.read_only()) throw InvalidInput(path().string() + ": store opened read-only");
    std::vector<AggregateSpec> wanted;  // each spec once, in request order
    for (const auto& spec : specs)
        if (std::find(wanted.begin(), wanted.end(), spec) == wanted.end()) wanted.push_back(spec);
    auto& tables = impl_->prewarmed;
    PrewarmOutcome outcome;

    // Which specs are not current, and their bins, from one read transaction: computing takes
    // the writer lock from nobody, and the base bars are decoded once for all specs. Each spec is
    // then stored in its own write transaction, so that a kill loses at most the one being stored
    // (a rerun finds the others current). Should the series be written in between, what is left
    // is computed again under the writer lock and stored in that one transaction.
    auto stale = [&](const Txn& txn, const prewarm::Series& s, std::span<const AggregateSpec> specs_to_check) {
        std::vector<AggregateSpec> out;
        for (const auto& spec : specs_to_check) {
            std::optional<prewarm::Record> r;
            try {
                r = tables.find(txn, s, spec);
            } catch (const CorruptData&) {
                // A damaged record is rebuilt like a stale one.
            }
            if (!r || !prewarm::is_current(*r, s)) out.push_back(spec);
        }
        return out;
    };
    auto session_of = [&](const Txn& txn) { return impl_->session_of(txn, storage::catalog_key(key)); };
    auto check_specs = [&](const Session& session) {
        // The Binner refuses what it cannot bin: before anything is read.
        for (const auto& spec : wanted) (void)aggregate::Binner(key.base, spec.timeframe, spec.align, session, describe(key));
    };
    std::vector<AggregateSpec> todo;
    std::vector<prewarm::Built> built;
    u64 generation = 0;
    std::string session_text;
    {
        Txn txn(impl_->env, true);
        const auto s = impl_->series(txn, key);
        if (!s) throw NotFound("no series " + describe(key));
        const Session session = session_of(txn);
        check_specs(session);
        todo = stale(txn, *s, wanted);
        if (!todo.empty()) built = tables.compute(txn, *s, session, todo, opts.threads, &outcome.base_bars);
        generation = s->generation;
        session_text = s->session_text;
    }
    std::vector<AggregateSpec> stored;  // what this call stored, for the items' `built`
    for (std::size_t i = 0; i < todo.size(); ++i) {
        Txn txn(impl_->env, false);
        const auto s = impl_->series(txn, key);
        if (!s) throw NotFound("no series " + describe(key));
        if (s->generation != generation || s->session_text != session_text) {
            const auto rest = stale(txn, *s, std::span(todo).subspan(i));
            if (rest.empty()) break;
            auto rebuilt = tables.compute(txn, *s, session_of(txn), rest, opts.threads, &outcome.base_bars);
            tables.put_whole(txn, *s, rest, std::move(rebuilt));
            txn.commit();
            stored.insert(stored.end(), rest.begin(), rest.end());
            break;
        }
        // Another prewarm may have stored it meanwhile (from the same bars): nothing to write.
        if (stale(txn, *s, std::span(&todo[i], 1)).empty()) continue;
        std::vector<prewarm::Built> one;
        one.push_back(std::move(built[i]));
        tables.put_whole(txn, *s, std::span(&todo[i], 1), std::move(one));
        txn.commit();
        stored.push_back(todo[i]);
    }
    Txn read(impl_->env, true);
    const auto now = impl_->series(read, key);
    for (const auto& spec : wanted) {
        PrewarmOutcome::Item item;
        item.built = std::find(stored.begin(), stored.end(), spec) != stored.end();
        if (now)
            if (const auto r = tables.find(read, *now, spec)) item.info = prewarm::to_info(spec, *r, *now);
        item.info.spec = spec;
        outcome.items.push_back(std::move(item));
    }
    return outcome;
}

std::size_t Store::drop_prewarmed(const SeriesKey& key, std::optional<AggregateSpec> spec) {
    if (impl_->env.read_only()) throw InvalidInput(path().string() + ": store opened read-only");
    Txn txn(impl_->env, false);
    const auto rec = impl_->record(txn, key);
    if (!rec) throw NotFound("no series " + describe(key));
    const std::size_t dropped = impl_->prewarmed.drop(txn, rec->series_id, spec);
    if (dropped > 0) txn.commit();
    return dropped;
}

bool Store::scan_prewarmed(const SeriesKey& key, const AggregateSpec& spec, std::uint64_t generation,
                           Timestamp from_label, Timestamp to_label, ScanFn fn) const {
    Txn txn(impl_->env, true);
    const auto s = impl_->series(txn, key);
    return s && impl_->prewarmed.scan(txn, *s, spec, generation, from_label.time_since_epoch().count(),
                                      to_label.time_since_epoch().count(), fn);
}

std::optional<BarColumns> Store::read_last_prewarmed(const SeriesKey& key, const AggregateSpec& spec,
                                                     std::uint64_t generation, std::size_t n, Timestamp before) const {
    Txn txn(impl_->env, true);
    const auto s = impl_->series(txn, key);
    if (!s) return std::nullopt;
    return impl_->prewarmed.read_last(txn, *s, spec, generation, n, before.time_since_epoch().count());
}

}  // namespace barstore
