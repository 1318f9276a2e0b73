// cache/spill_format.cpp: the spill's keys and values, encoded and checked (docs/cache.md).
// Invariant guarded: a value decodes only if its checksum, its chunks' checksums, its sizes, the
// order of its rows and its name (series, generation, session, timeframe, alignment) all check out.
#include "cache/spill_format.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "barstore/error.hpp"
#include "codec/chunk.hpp"
#include "codec/checksum.hpp"
#include "core/bytes.hpp"

namespace barstore::cache {

namespace {

constexpr std::uint32_t kSpillMagic = 0x50535342;  // bytes "BSSP"
constexpr std::uint16_t kSpillVersion = 1;
constexpr std::size_t kHeaderBytes = 96;
constexpr std::size_t kChecksumAt = 88;

void put_be64(std::string& out, u64 v) {
    std::byte b[8];
    put_be(b, v);
    out.append(reinterpret_cast<const char*>(b), sizeof b);
}

/// The whole value but the checksum field itself, as a chunk's (codec/checksum.hpp).
u64 checksum(std::span<const std::byte> value) { return codec::checksum_without_field(value, kChecksumAt); }

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

std::string spill_series_prefix(const SeriesKey& key) {
    std::string prefix = key.symbol;
    prefix.push_back('\0');
    put_be64(prefix, static_cast<u64>(key.base.count()));
    return prefix;
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

}  // namespace barstore::cache
