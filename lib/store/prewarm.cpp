// store/prewarm.cpp: prewarmed aggregates in the store: their records and bin chunks, how a
// write keeps them current in its own transaction (from the first bin it touches, not the whole
// history), their reads and their verification. Invariants: a record's counts and labels agree
// with its chunks; every chunk but the last holds kChunkRows bins; a record says which
// generation, session and decimals its bins were built from, and readers use the bins only if
// those are the series' own, checked in the transaction that reads the bins.
#include "store/prewarm.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "aggregate/binner.hpp"
#include "barstore/error.hpp"
#include "barstore/time.hpp"
#include "codec/chunk.hpp"
#include "core/bytes.hpp"
#include "store/chunk_reads.hpp"
#include "storage/chunk_cursor.hpp"
#include "storage/keys.hpp"

namespace barstore::prewarm {

namespace {

using storage::AggregatePrefix;
using storage::ChunkCursor;
using storage::Cursor;
using storage::Txn;
using i64 = std::int64_t;
using u64 = std::uint64_t;
constexpr i64 kMinTs = std::numeric_limits<i64>::min();
constexpr std::size_t kRows = codec::kChunkRows;

Timestamp at(i64 t) { return Timestamp{Duration{t}}; }

AggregatePrefix prefix_of(std::uint32_t series_id, const AggregateSpec& spec) {
    return storage::aggregate_prefix(series_id, spec.timeframe.count(), spec.align == Alignment::utc ? 0 : 1);
}

/// Deletes the aggregate's chunks whose first label is >= from, by key (none is read); adds
/// their count and bytes.
void delete_chunks_from(Txn& txn, MDB_dbi bins, const AggregatePrefix& prefix, i64 from, u64& count, u64& bytes) {
    ChunkCursor cur(txn, bins, prefix);
    for (bool ok = cur.seek(from); ok; ok = cur.next()) {
        ++count;
        bytes += cur.value().size();
        cur.del();
    }
}

void put_chunks(Txn& txn, MDB_dbi bins, const AggregatePrefix& prefix, const Built& b) {
    for (std::size_t i = 0; i < b.chunks.size(); ++i)
        txn.put(bins, storage::aggregate_chunk_key(prefix, b.chunk_labels[i]), b.chunks[i]);
}

std::string show_bin(const BarColumns& c, std::size_t i) {
    return format_time(at(c.ts[i])) + " " + std::to_string(c.open[i]) + "," + std::to_string(c.high[i]) + "," +
           std::to_string(c.low[i]) + "," + std::to_string(c.close[i]) + "," + std::to_string(c.volume[i]);
}

/// Why the bins of one chunk are not bins the Binner makes (out of order, not a bin's label,
/// OHLC out of order, a negative volume that is not the overflow mark); "" if they are.
std::string bin_problem(const BarColumns& c, aggregate::Binner& binner) {
    for (std::size_t i = 0; i < c.size(); ++i) {
        const std::string at_bin = "bin at " + format_time(at(c.ts[i])) + ": ";
        if (i > 0 && c.ts[i] <= c.ts[i - 1]) return at_bin + "labels not strictly increasing";
        if (c.high[i] < std::max(c.open[i], c.close[i]) || c.low[i] > std::min(c.open[i], c.close[i]))
            return at_bin + "high below open or close, or low above them";
        if (c.volume[i] < 0 && c.volume[i] != kVolumeOverflow) return at_bin + "negative volume";
        try {
            const auto b = binner.bin_of(c.ts[i]);
            if (!b.included || b.label != c.ts[i]) return at_bin + "not the label of a bin of this timeframe";
        } catch (const InvalidInput& e) {
            return at_bin + e.what();
        }
    }
    return "";
}

}  // namespace

PrewarmedInfo to_info(const AggregateSpec& spec, const Record& r, const Series& s) {
    PrewarmedInfo i;
    i.spec = spec;
    i.session = r.session;
    i.rows = r.rows;
    i.chunks = r.chunks;
    i.stored_bytes = r.stored_bytes;
    i.built_generation = r.built_generation;
    i.first = at(r.first_label);
    i.last = at(r.last_label);
    i.current = is_current(r, s);
    return i;
}

std::vector<Entry> Tables::list(const Txn& txn, std::uint32_t series_id) const {
    std::vector<Entry> out;
    if (!present) return out;
    const auto sp = storage::series_prefix(series_id);
    Cursor cur(txn, records);
    for (bool ok = cur.seek(sp); ok; ok = cur.move(MDB_NEXT)) {
        const auto k = cur.key();
        if (k.size() < sp.size() || std::memcmp(k.data(), sp.data(), sp.size()) != 0) break;
        // Any other key is no aggregate's (verify_orphans reports it).
        if (k.size() != sizeof(AggregatePrefix)) continue;
        const auto parts = storage::parse_aggregate_prefix(k);
        if (parts.timeframe_ns <= 0 || parts.align > 1) continue;
        Entry e;
        e.spec = {Duration{parts.timeframe_ns}, parts.align == 0 ? Alignment::utc : Alignment::session};
        try {
            e.record = decode_record(cur.value());
        } catch (const CorruptData& err) {
            e.damage = err.what();
        }
        out.push_back(std::move(e));
    }
    return out;
}

std::optional<Record> Tables::find(const Txn& txn, const Series& s, const AggregateSpec& spec) const {
    if (!present) return std::nullopt;
    const auto v = txn.get(records, prefix_of(s.id, spec));
    if (!v) return std::nullopt;
    try {
        return decode_record(*v);
    } catch (const CorruptData& e) {
        throw CorruptData(describe(s.name, spec) + ": " + e.what());
    }
}

std::vector<BaseChunk> Tables::base_from(const Txn& txn, std::uint32_t series_id, i64 from) const {
    std::vector<BaseChunk> out;
    ChunkCursor cur(txn, chunks, storage::series_prefix(series_id));
    for (bool ok = (from != kMinTs && cur.seek_floor(from)) || cur.first(); ok; ok = cur.next())
        out.push_back({cur.first_ts(), cur.value()});
    return out;
}

std::vector<Built> Tables::compute(const Txn& txn, const Series& s, const Session& session,
                                   std::span<const AggregateSpec> specs, unsigned threads, u64* bars) const {
    std::vector<Job> jobs;
    for (const auto& spec : specs) jobs.push_back({spec, kMinTs, {}});
    return build(s.key, s.name, session, base_from(txn, s.id, kMinTs), std::move(jobs), threads, bars);
}

void Tables::put_whole(Txn& txn, const Series& s, std::span<const AggregateSpec> specs, std::vector<Built> built) {
    for (std::size_t i = 0; i < specs.size(); ++i) {
        const auto prefix = prefix_of(s.id, specs[i]);
        u64 n = 0, bytes = 0;
        delete_chunks_from(txn, bins, prefix, kMinTs, n, bytes);
        const Built& b = built[i];
        put_chunks(txn, bins, prefix, b);
        Record r;
        r.scale = s.scale;
        r.built_generation = s.generation;
        r.rows = b.rows;
        r.chunks = b.chunks.size();
        r.stored_bytes = b.bytes;
        r.first_label = b.rows > 0 ? b.first : 0;
        r.last_label = b.rows > 0 ? b.last : 0;
        r.session = s.session_text;
        txn.put(records, prefix, encode_record(r));
    }
}

namespace {

/// How maintain() brings one aggregate up to date.
struct Plan {
    enum class Kind {
        touch,  ///< the bins stand: only the record is rewritten (new generation, session)
        tail,   ///< chunks from rewrite_from on are rewritten: head, then bins from job.from_label
        whole,  ///< every chunk is rewritten
    };
    Kind kind = Kind::whole;
    std::optional<Record> old;
    i64 rewrite_from = kMinTs;  ///< first chunk label to rewrite (tail)
    u64 kept_chunks = 0;        ///< chunks before it, all full (tail)
    i64 kept_last = 0;          ///< the last kept chunk's last label (tail, kept_chunks > 0)
    Job job;
    bool dropped = false;  ///< its base bars cannot be decoded: the aggregate goes
};

/// The tail plan for an aggregate that was current, or false when something stored stands in
/// its way (a damaged chunk, counts that disagree with the keys): then it is rebuilt whole.
bool plan_tail(const Txn& txn, MDB_dbi bins, const Series& s, const Session& session, i64 from, Plan& p) {
    const auto& spec = p.job.spec;
    i64 label = 0;
    try {
        // Bins before the one holding `from` keep their bars; outside every session, the first
        // bin that can change is the next session's (a week's bin may hold both sides of a gap).
        aggregate::Binner binner(s.key.base, spec.timeframe, spec.align, session, s.name);
        auto b = binner.bin_of(from);
        if (!b.included) b = binner.bin_of(b.until);
        label = b.label;
    } catch (const InvalidInput&) {
        return false;
    }
    ChunkCursor cur(txn, bins, prefix_of(s.id, spec));
    u64 rewritten = 0;
    if (cur.seek_floor(label)) {
        p.rewrite_from = cur.first_ts();
        if (p.rewrite_from < label) {
            BarColumns c;
            try {
                codec::decode_chunk(cur.value(), c);
            } catch (const CorruptData&) {
                return false;
            }
            const auto keep = std::lower_bound(c.ts.begin(), c.ts.end(), label) - c.ts.begin();
            p.job.head.append(c, 0, static_cast<std::size_t>(keep));
        }
        if (cur.prev()) {
            try {
                p.kept_last = codec::read_chunk_header(cur.value(), true).last_ts;
            } catch (const CorruptData&) {
                return false;
            }
        }
        for (bool ok = cur.seek(p.rewrite_from); ok; ok = cur.next()) ++rewritten;
    } else {
        p.rewrite_from = kMinTs;  // every stored bin is at or after the first changed one
        for (bool ok = cur.first(); ok; ok = cur.next()) ++rewritten;
    }
    if (rewritten > p.old->chunks) return false;
    p.kept_chunks = p.old->chunks - rewritten;
    if (p.old->rows < p.kept_chunks * kRows) return false;
    p.job.from_label = label;
    return true;
}

}  // namespace

void Tables::maintain(Txn& txn, const Series& s, const Session& session, const Change& c) {
    if (!present) return;
    auto entries = list(txn, s.id);
    if (entries.empty()) return;
    const bool session_changed = s.session_text != c.old_session_text;

    std::vector<Plan> plans(entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
        auto& e = entries[i];
        Plan& p = plans[i];
        p.old = std::move(e.record);
        p.job.spec = e.spec;
        const bool was_current = p.old && p.old->built_generation == c.old_generation &&
                                 p.old->session == c.old_session_text && p.old->scale == c.old_scale;
        const bool rebinned = session_changed && e.spec.align == Alignment::session;
        if (!was_current || rebinned || c.from == Change::kEverything)
            p.kind = Plan::Kind::whole;
        else if (c.from == Change::kNoBars)
            p.kind = Plan::Kind::touch;
        else
            p.kind = plan_tail(txn, bins, s, session, c.from, p) ? Plan::Kind::tail : Plan::Kind::whole;
        if (p.kind == Plan::Kind::whole) {
            p.job.from_label = kMinTs;
            p.job.head.clear();
        }
    }

    // Every aggregate from its first changed bin in one pass over the base bars from the
    // earliest of them; all reading done before the first write (a write may move the pages
    // the borrowed base chunks lie in).
    std::vector<std::size_t> todo;
    for (std::size_t i = 0; i < plans.size(); ++i)
        if (plans[i].kind != Plan::Kind::touch) todo.push_back(i);
    std::vector<Built> built(plans.size());
    auto build_some = [&](const std::vector<std::size_t>& which) {
        std::vector<Job> jobs;
        i64 from = std::numeric_limits<i64>::max();
        for (const auto i : which) {
            jobs.push_back(plans[i].job);
            from = std::min(from, plans[i].job.from_label);
        }
        auto out = build(s.key, s.name, session, base_from(txn, s.id, from), std::move(jobs), 0, nullptr);
        for (std::size_t k = 0; k < which.size(); ++k) built[which[k]] = std::move(out[k]);
    };
    if (!todo.empty()) {
        try {
            build_some(todo);
        } catch (const CorruptData&) {
            // A damaged base chunk must not fail the write that brought good bars: each aggregate
            // that needs it goes (readers aggregate the base bars; verify names the chunk).
            for (const auto i : todo) {
                try {
                    build_some({i});
                } catch (const CorruptData&) {
                    plans[i].dropped = true;
                }
            }
        }
    }

    for (std::size_t i = 0; i < plans.size(); ++i) {
        Plan& p = plans[i];
        const auto prefix = prefix_of(s.id, p.job.spec);
        u64 deleted = 0, deleted_bytes = 0;
        if (p.dropped) {
            delete_chunks_from(txn, bins, prefix, kMinTs, deleted, deleted_bytes);
            txn.del(records, prefix);
            continue;
        }
        Record r;
        if (p.kind == Plan::Kind::touch) {
            r = *p.old;
        } else {
            const Built& b = built[i];
            delete_chunks_from(txn, bins, prefix, p.kind == Plan::Kind::tail ? p.rewrite_from : kMinTs, deleted,
                               deleted_bytes);
            put_chunks(txn, bins, prefix, b);
            if (p.kind == Plan::Kind::whole) {
                r.rows = b.rows;
                r.chunks = b.chunks.size();
                r.stored_bytes = b.bytes;
                r.first_label = b.first;
                r.last_label = b.last;
            } else {
                r.rows = p.kept_chunks * kRows + b.rows;
                r.chunks = p.kept_chunks + b.chunks.size();
                r.stored_bytes = p.old->stored_bytes - std::min(p.old->stored_bytes, deleted_bytes) + b.bytes;
                r.first_label = p.kept_chunks > 0 ? p.old->first_label : b.first;
                r.last_label = b.rows > 0 ? b.last : p.kept_last;
            }
            if (r.rows == 0) r.first_label = r.last_label = 0;
        }
        r.scale = s.scale;
        r.built_generation = s.generation;
        r.session = s.session_text;
        txn.put(records, prefix, encode_record(r));
    }
}

std::size_t Tables::drop(Txn& txn, std::uint32_t series_id, std::optional<AggregateSpec> spec) {
    if (!present) return 0;
    std::vector<AggregateSpec> specs;
    if (spec)
        specs.push_back(*spec);
    else
        for (const auto& e : list(txn, series_id)) specs.push_back(e.spec);
    std::size_t dropped = 0;
    for (const auto& sp : specs) {
        const auto prefix = prefix_of(series_id, sp);
        u64 n = 0, bytes = 0;
        delete_chunks_from(txn, bins, prefix, kMinTs, n, bytes);
        if (txn.del(records, prefix) || n > 0) ++dropped;
    }
    return dropped;
}

bool Tables::scan(const Txn& txn, const Series& s, const AggregateSpec& spec, u64 generation, i64 lo, i64 hi,
                  ScanFn fn) const {
    if (s.generation != generation) return false;
    const auto r = find(txn, s, spec);
    if (!r || !is_current(*r, s)) return false;
    if (lo >= hi || r->rows == 0 || r->last_label < lo || r->first_label >= hi) return true;
    ChunkCursor cur(txn, bins, prefix_of(s.id, spec));
    chunk_reads::scan(cur, lo, hi, describe(s.name, spec), fn);
    return true;
}

std::optional<BarColumns> Tables::read_last(const Txn& txn, const Series& s, const AggregateSpec& spec,
                                            u64 generation, std::size_t n, i64 before) const {
    if (s.generation != generation) return std::nullopt;
    const auto r = find(txn, s, spec);
    if (!r || !is_current(*r, s)) return std::nullopt;
    if (n == 0 || r->rows == 0 || r->first_label >= before) return BarColumns{};
    ChunkCursor cur(txn, bins, prefix_of(s.id, spec));
    return chunk_reads::read_last(cur, n, before, r->rows, describe(s.name, spec));
}

void Tables::verify(const Txn& txn, const Series& s, const Session* session, bool deep, bool base_ok,
                    std::vector<VerifyProblem>& problems) const {
    if (!present) return;
    std::vector<AggregateSpec> deepen;
    for (const auto& e : list(txn, s.id)) {
        auto problem = [&](i64 first, i64 last, std::string why, bool undecodable) {
            VerifyProblem p;
            p.key = s.key;
            p.first = at(first);
            p.last = at(last);
            p.reason = std::move(why);
            p.undecodable = undecodable;
            p.aggregate = e.spec;
            problems.push_back(std::move(p));
        };
        const std::size_t before = problems.size();
        const auto& rec = e.record;
        if (!rec) problem(0, 0, e.damage, true);
        std::optional<aggregate::Binner> binner;
        try {
            binner.emplace(s.key.base, e.spec.timeframe, e.spec.align, session ? *session : Session{}, s.name);
        } catch (const InvalidInput& err) {
            problem(0, 0, std::string("not an aggregate this series can have: ") + err.what(), false);
        }
        ChunkCursor cur(txn, bins, prefix_of(s.id, e.spec));
        u64 rows = 0, n = 0, bytes = 0, undecodable = 0;
        i64 first_label = 0, prev_last = 0;
        BarColumns c;
        for (bool ok = cur.first(); ok; ok = cur.next()) {
            const i64 key_ts = cur.first_ts();
            ++n;
            bytes += cur.value().size();
            c.clear();
            try {
                codec::decode_chunk(cur.value(), c);
            } catch (const CorruptData& err) {
                problem(key_ts, key_ts, std::string("chunk: ") + err.what(), true);
                ++undecodable;
                continue;
            }
            const i64 first = c.ts.front(), last = c.ts.back();
            if (n == 1) first_label = first;
            if (first != key_ts) problem(first, last, "chunk key does not match its first bin", false);
            if (n > 1 && first <= prev_last) problem(first, last, "chunk overlaps the previous chunk", false);
            if (rec && n < rec->chunks && c.size() != kRows) problem(first, last, "chunk before the last is not full", false);
            // Session bins need the series' session (none if its text is damaged).
            if (binner && (session || e.spec.align == Alignment::utc))
                if (auto why = bin_problem(c, *binner); !why.empty()) problem(first, last, std::move(why), false);
            rows += c.size();
            prev_last = last;
        }
        if (rec && undecodable == 0) {
            if (rows != rec->rows || n != rec->chunks || bytes != rec->stored_bytes)
                problem(rec->first_label, rec->last_label, "record counts (bins, chunks, bytes) do not match the chunks",
                        false);
            else if (rows > 0 && (first_label != rec->first_label || prev_last != rec->last_label))
                problem(rec->first_label, rec->last_label, "record's first or last label does not match the chunks",
                        false);
        }
        if (rec && !is_current(*rec, s))
            problem(rec->first_label, rec->last_label,
                    "stale: built from generation " + std::to_string(rec->built_generation) + " for session '" +
                        rec->session + "', the series is at generation " + std::to_string(s.generation) +
                        " with session '" + s.session_text + "' (readers do not use it; prewarm it again)",
                    false);
        if (deep && session && base_ok && rec && problems.size() == before) deepen.push_back(e.spec);
    }
    if (deepen.empty()) return;

    // Deep: the stored chunks must be what a fresh aggregation encodes. Encoding is
    // deterministic, so equal bytes are equal bins; unequal bytes are decoded and compared, so
    // that only different bins are a problem (an encoder may change, the bins may not).
    std::vector<Built> fresh;
    try {
        fresh = compute(txn, s, *session, deepen, 0, nullptr);
    } catch (const Error& err) {
        VerifyProblem p;
        p.key = s.key;
        p.reason = std::string("cannot recompute its prewarmed aggregates: ") + err.what();
        problems.push_back(std::move(p));
        return;
    }
    for (std::size_t k = 0; k < deepen.size(); ++k) {
        const Built& f = fresh[k];
        ChunkCursor cur(txn, bins, prefix_of(s.id, deepen[k]));
        std::size_t i = 0;
        std::string why;
        i64 where = 0;
        for (bool ok = cur.first(); ok && why.empty(); ok = cur.next(), ++i) {
            const auto stored = cur.value();
            if (i < f.chunks.size() && stored.size() == f.chunks[i].size() &&
                std::memcmp(stored.data(), f.chunks[i].data(), stored.size()) == 0)
                continue;
            BarColumns got, want;
            codec::decode_chunk(stored, got);  // verified above
            if (i < f.chunks.size()) codec::decode_chunk(f.chunks[i], want);
            for (std::size_t r = 0; r < std::max(got.size(), want.size()); ++r) {
                if (r < got.size() && r < want.size() && got.row(r) == want.row(r)) continue;
                where = r < got.size() ? got.ts[r] : want.ts[r];
                why = "differs from a fresh aggregation of its base bars at the bin at " + format_time(at(where)) +
                      ": stored " + (r < got.size() ? show_bin(got, r) : "nothing") + ", fresh " +
                      (r < want.size() ? show_bin(want, r) : "nothing");
                break;
            }
        }
        if (why.empty() && i < f.chunks.size()) {
            where = f.chunk_labels[i];
            why = "ends before a fresh aggregation of its base bars, whose chunk at " + format_time(at(where)) +
                  " it lacks";
        }
        if (why.empty()) continue;
        VerifyProblem p;
        p.key = s.key;
        p.first = p.last = at(where);
        p.reason = std::move(why);
        p.aggregate = deepen[k];
        problems.push_back(std::move(p));
    }
}

void Tables::verify_orphans(const Txn& txn, const std::set<std::uint32_t>& series_ids,
                            std::vector<VerifyProblem>& problems) const {
    if (!present) return;
    auto orphan = [&](std::span<const std::byte> k, const std::string& what) {
        VerifyProblem p;
        if (k.size() >= sizeof(storage::SeriesPrefix))
            p.key.symbol = "(series id " + std::to_string(get_be<std::uint32_t>(k.data())) + ")";
        p.reason = what;
        problems.push_back(std::move(p));
    };
    {
        Cursor cur(txn, records);
        for (bool ok = cur.move(MDB_FIRST); ok; ok = cur.move(MDB_NEXT)) {
            const auto k = cur.key();
            if (k.size() != sizeof(AggregatePrefix)) {
                orphan(k, "a prewarm record under a key of " + std::to_string(k.size()) + " bytes, not 13");
                continue;
            }
            const auto parts = storage::parse_aggregate_prefix(k);
            if (parts.timeframe_ns <= 0 || parts.align > 1)
                orphan(k, "a prewarm record under a key with timeframe " + std::to_string(parts.timeframe_ns) +
                              " ns and alignment " + std::to_string(parts.align));
            else if (!series_ids.count(parts.series_id))
                orphan(k, "a prewarmed " + format_timeframe(Duration{parts.timeframe_ns}) +
                              " aggregate of a series the catalog no longer has");
        }
    }
    // Bin chunks need a record: the one under their first 13 bytes.
    Cursor cur(txn, bins);
    std::vector<std::byte> last_prefix;
    for (bool ok = cur.move(MDB_FIRST); ok; ok = cur.move(MDB_NEXT)) {
        const auto k = cur.key();
        if (k.size() != sizeof(storage::AggregateChunkKey)) {
            orphan(k, "an aggregate chunk under a key of " + std::to_string(k.size()) + " bytes, not 21");
            continue;
        }
        const auto prefix = k.first(sizeof(AggregatePrefix));
        if (last_prefix.size() == prefix.size() && std::equal(prefix.begin(), prefix.end(), last_prefix.begin())) continue;
        last_prefix.assign(prefix.begin(), prefix.end());
        if (!txn.get(records, prefix))
            orphan(k, "aggregate chunks without a prewarm record (from " +
                          format_time(at(storage::get_time_key(k.data() + sizeof(AggregatePrefix)))) + ")");
    }
}

}  // namespace barstore::prewarm
