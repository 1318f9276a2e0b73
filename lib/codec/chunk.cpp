// codec/chunk.cpp: encodes bars into self-describing chunks and decodes them back exactly.
// Invariant: decode(encode(x)) == x for any int64 columns (arithmetic wraps mod 2^64), and no
// byte of a chunk is trusted before its checksum and every size in its header are checked.
#include "codec/chunk.hpp"

#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <numeric>
#include <string>

#include "barstore/error.hpp"
#include "codec/checksum.hpp"
#include "codec/varint.hpp"
#include "core/bytes.hpp"

namespace barstore::codec {

namespace {

using u64 = std::uint64_t;
using i64 = std::int64_t;

// Field offsets in the fixed part and in a column descriptor (docs/format.md, "Fixed part" and
// "Column descriptor").
constexpr std::size_t kMagicAt = 0, kVersionAt = 4, kHeaderSizeAt = 6, kRowsAt = 8, kPayloadBytesAt = 12,
                      kFirstTsAt = 16, kLastTsAt = 24, kChecksumAt = 32;
static_assert(kChecksumAt + kChecksumBytes == kFixedHeaderBytes);
constexpr std::size_t kTransformAt = 0, kPackingAt = 1, kWidthAt = 2, kCompressionAt = 3, kStoredBytesAt = 4,
                      kPackedBytesAt = 8, kReservedAt = 12, kBaseAt = 16, kDivisorAt = 24;
static_assert(kDivisorAt + sizeof(u64) == kColumnDescriptorBytes);
/// A shuffle packing stores at most all 8 bytes of a value.
constexpr std::size_t kMaxWidth = sizeof(u64);
/// A varint of a u64 is 1..10 bytes (ceil(64 / 7)): this bounds what a decompression may claim.
constexpr std::size_t kMaxVarintBytes = 10;

[[noreturn]] void corrupt(const std::string& why) { throw CorruptData("corrupt chunk: " + why); }

/// Covers everything but the checksum field itself.
u64 checksum_of(std::span<const std::byte> chunk) { return checksum_without_field(chunk, kChecksumAt); }

// One context of each kind per thread, made on first use: creating one per chunk costs more
// than compressing a small chunk, and a thread that only decodes never pays for a compressor.
ZSTD_CCtx* compression_context() {
    thread_local const std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> ctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
    if (!ctx) throw Error(Errc::internal, "zstd: cannot create a compression context");
    return ctx.get();
}
ZSTD_DCtx* decompression_context() {
    thread_local const std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
    if (!ctx) throw Error(Errc::internal, "zstd: cannot create a decompression context");
    return ctx.get();
}

u64 magnitude(i64 r) { return r < 0 ? 0 - static_cast<u64>(r) : static_cast<u64>(r); }

// Residuals of one column, computed with wrapping arithmetic so any int64 input round-trips.
void residuals(Transform t, const BarColumns& b, std::size_t first, std::size_t n, i64 base,
               const std::vector<i64>& x, std::vector<i64>& r) {
    r.resize(n);
    auto sub = [](i64 a, i64 c) { return static_cast<i64>(static_cast<u64>(a) - static_cast<u64>(c)); };
    switch (t) {
        case Transform::plain:
            for (std::size_t i = 0; i < n; ++i) r[i] = sub(x[first + i], base);
            break;
        case Transform::delta: {
            i64 prev = base;
            for (std::size_t i = 0; i < n; ++i) r[i] = sub(x[first + i], prev), prev = x[first + i];
            break;
        }
        case Transform::delta2: {
            i64 prev = base, prev_d = 0;
            for (std::size_t i = 0; i < n; ++i) {
                const i64 d = sub(x[first + i], prev);
                r[i] = sub(d, prev_d);
                prev = x[first + i];
                prev_d = d;
            }
            break;
        }
        case Transform::from_prev_close: {
            i64 prev_close = base;
            for (std::size_t i = 0; i < n; ++i)
                r[i] = sub(b.open[first + i], prev_close), prev_close = b.close[first + i];
            break;
        }
        case Transform::above_body:
            for (std::size_t i = 0; i < n; ++i)
                r[i] = sub(b.high[first + i], std::max(b.open[first + i], b.close[first + i]));
            break;
        case Transform::below_body:
            for (std::size_t i = 0; i < n; ++i)
                r[i] = sub(std::min(b.open[first + i], b.close[first + i]), b.low[first + i]);
            break;
        case Transform::from_open:
            for (std::size_t i = 0; i < n; ++i) r[i] = sub(b.close[first + i], b.open[first + i]);
            break;
    }
}

// Which transforms a column may use; the decoder rejects others (docs/format.md).
bool allowed(std::size_t col, Transform t) {
    switch (t) {
        case Transform::plain:
        case Transform::delta: return true;
        case Transform::delta2: return col == column::ts;
        case Transform::from_prev_close: return col == column::open;
        case Transform::above_body: return col == column::high;
        case Transform::below_body: return col == column::low;
        case Transform::from_open: return col == column::close;
    }
    return false;
}

}  // namespace

std::vector<std::byte> encode_chunk(const BarColumns& b, std::size_t first, std::size_t last,
                                    const EncodeOptions& opts) {
    const std::size_t n = last - first;
    if (last <= first || last > b.size() || n > kMaxChunkRows)
        throw InvalidInput("encode_chunk: bad row range");

    for (std::size_t c = 0; c < kColumns; ++c)
        if (!allowed(c, opts.transforms[c])) throw InvalidInput("encode_chunk: transform not allowed");
    const auto cols = b.columns();

    ChunkHeader h;
    h.rows = static_cast<std::uint32_t>(n);
    h.first_ts = b.ts[first];
    h.last_ts = b.ts[last - 1];

    std::vector<std::byte> out(kHeaderBytes);
    std::vector<i64> r;
    std::vector<u64> q(n);
    std::vector<std::byte> packed;
    ZSTD_CCtx* const cctx = compression_context();
    for (std::size_t c = 0; c < kColumns; ++c) {
        auto& d = h.columns[c];
        d.transform = opts.transforms[c];
        const auto& x = *cols[c];
        if (d.transform == Transform::plain) {
            d.base = *std::min_element(x.begin() + static_cast<std::ptrdiff_t>(first),
                                       x.begin() + static_cast<std::ptrdiff_t>(last));
        } else if (d.transform == Transform::delta || d.transform == Transform::delta2) {
            d.base = x[first];
        } else if (d.transform == Transform::from_prev_close) {
            d.base = b.open[first];
        }
        residuals(d.transform, b, first, n, d.base, x, r);
        // A common divisor removes the scale's unused decimals (whole-dollar prices at 2
        // decimals, minute timestamps in ns) before any bytes are spent on them.
        u64 g = 0;
        bool non_negative = true;
        for (auto v : r) {
            non_negative &= v >= 0;
            // Most values are multiples of the running divisor: one modulo, no Euclid.
            const u64 m = magnitude(v);
            if (g != 1 && m != 0 && (g == 0 || m % g != 0)) g = std::gcd(g, m);
        }
        d.divisor = g == 0 ? 1 : g;
        for (std::size_t i = 0; i < n; ++i) {
            const u64 m = magnitude(r[i]) / d.divisor;
            q[i] = non_negative ? m : zigzag(r[i] < 0 ? static_cast<i64>(0 - m) : static_cast<i64>(m));
        }
        packed.clear();
        if (opts.varint) {
            d.packing = non_negative ? Packing::varint_unsigned : Packing::varint_zigzag;
            varint_pack(q, packed);
        } else {
            d.packing = non_negative ? Packing::shuffle_unsigned : Packing::shuffle_zigzag;
            d.width = static_cast<std::uint8_t>(byte_width(q));
            shuffle_pack(q, d.width, packed);
        }
        d.packed_bytes = static_cast<std::uint32_t>(packed.size());
        const std::size_t pos = out.size();
        out.resize(pos + ZSTD_compressBound(packed.size()));
        const std::size_t z = !opts.zstd ? packed.size()
                              : ZSTD_compressCCtx(cctx, out.data() + pos, out.size() - pos, packed.data(),
                                                  packed.size(), opts.zstd_level);
        if (ZSTD_isError(z)) throw Error(Errc::internal, std::string("zstd: ") + ZSTD_getErrorName(z));
        // Tiny or incompressible columns are stored as is: a zstd frame costs more than it saves.
        if (z >= packed.size()) {
            d.compression = Compression::none;
            // A width-0 column packs to nothing: memcpy from an empty vector's null data() is UB.
            if (!packed.empty()) std::memcpy(out.data() + pos, packed.data(), packed.size());
            out.resize(pos + packed.size());
        } else {
            d.compression = Compression::zstd;
            out.resize(pos + z);
        }
        d.stored_bytes = static_cast<std::uint32_t>(out.size() - pos);
    }
    h.payload_bytes = static_cast<std::uint32_t>(out.size() - kHeaderBytes);

    std::byte* p = out.data();
    put_le<std::uint32_t>(p + kMagicAt, kChunkMagic);
    put_le<std::uint16_t>(p + kVersionAt, h.version);
    put_le<std::uint16_t>(p + kHeaderSizeAt, static_cast<std::uint16_t>(kHeaderBytes));
    put_le<std::uint32_t>(p + kRowsAt, h.rows);
    put_le<std::uint32_t>(p + kPayloadBytesAt, h.payload_bytes);
    put_le<i64>(p + kFirstTsAt, h.first_ts);
    put_le<i64>(p + kLastTsAt, h.last_ts);
    for (std::size_t c = 0; c < kColumns; ++c) {
        std::byte* q2 = p + kFixedHeaderBytes + c * kColumnDescriptorBytes;
        const auto& d = h.columns[c];
        q2[kTransformAt] = static_cast<std::byte>(d.transform);
        q2[kPackingAt] = static_cast<std::byte>(d.packing);
        q2[kWidthAt] = static_cast<std::byte>(d.width);
        q2[kCompressionAt] = static_cast<std::byte>(d.compression);
        put_le<std::uint32_t>(q2 + kStoredBytesAt, d.stored_bytes);
        put_le<std::uint32_t>(q2 + kPackedBytesAt, d.packed_bytes);
        put_le<std::uint32_t>(q2 + kReservedAt, 0);  // reserved, must be zero
        put_le<i64>(q2 + kBaseAt, d.base);
        put_le<u64>(q2 + kDivisorAt, d.divisor);
    }
    put_le<u64>(p + kChecksumAt, checksum_of(out));
    return out;
}


ChunkHeader read_chunk_header(std::span<const std::byte> chunk, bool verify_checksum) {
    if (chunk.size() < kHeaderBytes)
        corrupt("shorter than its header (" + std::to_string(chunk.size()) + " bytes)");
    const std::byte* p = chunk.data();
    // Checksum first: a flipped bit is reported as what it is, not as whichever field it hit.
    if (verify_checksum && checksum_of(chunk) != get_le<u64>(p + kChecksumAt)) corrupt("checksum mismatch");
    if (get_le<std::uint32_t>(p + kMagicAt) != kChunkMagic) corrupt("bad magic");
    ChunkHeader h;
    h.version = get_le<std::uint16_t>(p + kVersionAt);
    if (h.version != kFormatVersion)
        corrupt("format version " + std::to_string(h.version) + " (this build reads " +
                std::to_string(kFormatVersion) + ")");
    if (get_le<std::uint16_t>(p + kHeaderSizeAt) != kHeaderBytes) corrupt("bad header size");
    h.rows = get_le<std::uint32_t>(p + kRowsAt);
    h.payload_bytes = get_le<std::uint32_t>(p + kPayloadBytesAt);
    h.first_ts = get_le<i64>(p + kFirstTsAt);
    h.last_ts = get_le<i64>(p + kLastTsAt);
    h.checksum = get_le<u64>(p + kChecksumAt);
    if (h.rows == 0 || h.rows > kMaxChunkRows) corrupt("bad row count " + std::to_string(h.rows));
    if (kHeaderBytes + std::size_t{h.payload_bytes} != chunk.size()) corrupt("payload size mismatch");
    std::size_t stored_total = 0;
    for (std::size_t c = 0; c < kColumns; ++c) {
        const std::byte* q = p + kFixedHeaderBytes + c * kColumnDescriptorBytes;
        auto& d = h.columns[c];
        const auto t = static_cast<unsigned>(q[kTransformAt]);
        const auto pk = static_cast<unsigned>(q[kPackingAt]);
        const auto cm = static_cast<unsigned>(q[kCompressionAt]);
        if (t > static_cast<unsigned>(Transform::from_open) || !allowed(c, static_cast<Transform>(t)))
            corrupt("bad transform id " + std::to_string(t));
        if (pk < static_cast<unsigned>(Packing::shuffle_zigzag) || pk > static_cast<unsigned>(Packing::varint_unsigned))
            corrupt("bad packing id " + std::to_string(pk));
        if (cm > static_cast<unsigned>(Compression::zstd)) corrupt("bad compression id " + std::to_string(cm));
        d.transform = static_cast<Transform>(t);
        d.packing = static_cast<Packing>(pk);
        d.width = static_cast<std::uint8_t>(q[kWidthAt]);
        d.compression = static_cast<Compression>(cm);
        d.stored_bytes = get_le<std::uint32_t>(q + kStoredBytesAt);
        d.packed_bytes = get_le<std::uint32_t>(q + kPackedBytesAt);
        if (get_le<std::uint32_t>(q + kReservedAt) != 0) corrupt("reserved bytes not zero");
        d.base = get_le<i64>(q + kBaseAt);
        d.divisor = get_le<u64>(q + kDivisorAt);
        if (d.divisor == 0) corrupt("zero divisor");
        const bool shuffle = d.packing == Packing::shuffle_zigzag || d.packing == Packing::shuffle_unsigned;
        if (shuffle && (d.width > kMaxWidth || std::size_t{d.packed_bytes} != std::size_t{h.rows} * d.width))
            corrupt("bad column width");
        if (!shuffle &&
            (d.packed_bytes < h.rows || std::size_t{d.packed_bytes} > std::size_t{h.rows} * kMaxVarintBytes))
            corrupt("bad varint column size");
        if (d.compression == Compression::none && d.stored_bytes != d.packed_bytes) corrupt("bad stored size");
        stored_total += d.stored_bytes;
    }
    if (stored_total != h.payload_bytes) corrupt("column sizes do not add up to the payload");
    return h;
}

namespace {

/// Rows decoded at a time: every column's residuals for one block (6 x 256 x 8 bytes) stay in
/// L1 between being unpacked and being undone, instead of a pass of 32 KiB per column per step.
constexpr std::size_t kBlockRows = 256;

/// One column's packed values, ready to be read a block of rows at a time.
struct PackedColumn {
    const unsigned char* planes = nullptr;  ///< shuffle packings: `width` planes of n bytes
    const u64* values = nullptr;            ///< varint packings: unpacked up front
    unsigned width = 0;
    bool zigzag = false;
    u64 divisor = 1;
};

/// Residuals of rows [first, first + m) of a column of n rows, multiplied back by the divisor
/// (wrapping). Each loop is a plain pass over the block, which the compiler vectorises.
[[gnu::always_inline]] inline void residual_block(const PackedColumn& p, std::size_t n, std::size_t first, std::size_t m, u64* r) noexcept {
    if (p.values) {
        std::memcpy(r, p.values + first, m * sizeof(u64));
    } else if (p.width == 0) {
        std::fill_n(r, m, u64{0});
    } else {
        const unsigned char* plane = p.planes + first;
        for (std::size_t k = 0; k < m; ++k) r[k] = plane[k];
        for (unsigned b = 1; b < p.width; ++b) {
            plane += n;
            const unsigned shift = 8 * b;
            for (std::size_t k = 0; k < m; ++k) r[k] |= u64{plane[k]} << shift;
        }
    }
    if (p.zigzag)
        for (std::size_t k = 0; k < m; ++k) r[k] = (r[k] >> 1) ^ (0 - (r[k] & 1));
    if (p.divisor != 1)
        for (std::size_t k = 0; k < m; ++k) r[k] *= p.divisor;
}

/// A column whose values follow from its own residuals alone (plain, delta, delta2), undone
/// block by block; `prev` and `prev_d` carry the running value and delta across blocks.
struct SimpleUndo {
    Transform transform;
    u64 base, prev, prev_d = 0;
    explicit SimpleUndo(const ColumnDescriptor& d)
        : transform(d.transform), base(static_cast<u64>(d.base)), prev(static_cast<u64>(d.base)) {}
    static bool applies(Transform t) noexcept {
        return t == Transform::plain || t == Transform::delta || t == Transform::delta2;
    }
    [[gnu::always_inline]] void run(const u64* r, std::size_t m, i64* x) noexcept {
        switch (transform) {
            case Transform::plain:
                for (std::size_t k = 0; k < m; ++k) x[k] = static_cast<i64>(r[k] + base);
                break;
            case Transform::delta:
                for (std::size_t k = 0; k < m; ++k) x[k] = static_cast<i64>(prev += r[k]);
                break;
            default:  // delta2
                for (std::size_t k = 0; k < m; ++k) {
                    prev_d += r[k];
                    x[k] = static_cast<i64>(prev += prev_d);
                }
                break;
        }
    }
};

/// decode_chunk's body: appends the rows to `out`, or with `replace` overwrites its rows.
/// Every check that can fail on the payload (sizes, zstd, varints) runs before `out` is touched;
/// only the final time-range check can fail after, and it undoes the rows.
[[gnu::always_inline]] inline void decode_body(std::span<const std::byte> chunk, BarColumns& out, bool replace) {
    const ChunkHeader h = read_chunk_header(chunk, true);
    const std::size_t n = h.rows;

    // Decompressed columns and unpacked varints live per thread: a range read decodes thousands
    // of chunks and must not allocate each time. An uncompressed column is read in place.
    struct Scratch {
        std::array<std::vector<unsigned char>, kColumns> packed;
        std::array<std::vector<u64>, kColumns> values;
    };
    thread_local Scratch scratch;
    std::array<PackedColumn, kColumns> cols;
    const std::byte* src = chunk.data() + kHeaderBytes;
    for (std::size_t c = 0; c < kColumns; ++c) {
        const auto& d = h.columns[c];
        auto bytes = reinterpret_cast<const unsigned char*>(src);
        src += d.stored_bytes;
        if (d.compression == Compression::zstd) {
            auto& packed = scratch.packed[c];
            // Grown, never shrunk: resize() past the old size would zero-fill what zstd overwrites.
            if (packed.size() < d.packed_bytes) packed.resize(std::max<std::size_t>(d.packed_bytes, kChunkRows * 2));
            const std::size_t z =
                ZSTD_decompressDCtx(decompression_context(), packed.data(), d.packed_bytes, bytes, d.stored_bytes);
            if (ZSTD_isError(z) || z != d.packed_bytes) corrupt("zstd: column " + std::to_string(c));
            bytes = packed.data();
        }
        auto& p = cols[c];
        p.zigzag = d.packing == Packing::shuffle_zigzag || d.packing == Packing::varint_zigzag;
        p.divisor = d.divisor;
        if (d.packing == Packing::shuffle_zigzag || d.packing == Packing::shuffle_unsigned) {
            p.planes = bytes;
            p.width = d.width;
        } else {
            auto& q = scratch.values[c];
            q.resize(n);
            if (!varint_unpack(std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes), d.packed_bytes), q))
                corrupt("bad varint in column " + std::to_string(c));
            p.values = q.data();
        }
    }

    // Rows go straight into the tails of `out`; undone below if the final check fails.
    const auto dst = out.columns();
    const std::size_t old_size = replace ? 0 : out.ts.size();
    std::array<i64*, kColumns> x;
    for (std::size_t c = 0; c < kColumns; ++c) {
        dst[c]->resize(old_size + n);
        x[c] = dst[c]->data() + old_size;
    }
    using namespace column;
    const auto& hd = h.columns;
    SimpleUndo u_ts(hd[ts]), u_volume(hd[volume]), u_open(hd[open]), u_close(hd[close]), u_high(hd[high]),
        u_low(hd[low]);
    const bool open_simple = SimpleUndo::applies(hd[open].transform);
    const bool close_simple = SimpleUndo::applies(hd[close].transform);
    const bool high_simple = SimpleUndo::applies(hd[high].transform);
    const bool low_simple = SimpleUndo::applies(hd[low].transform);
    // open may depend on the previous close and close on this open: rebuilt row by row, with the
    // previous row's close carried across blocks.
    u64 prev_close = static_cast<u64>(hd[open].base);
    alignas(64) u64 r[kColumns][kBlockRows];
    for (std::size_t at = 0; at < n; at += kBlockRows) {
        const std::size_t m = std::min(kBlockRows, n - at);
        for (std::size_t c = 0; c < kColumns; ++c) residual_block(cols[c], n, at, m, r[c]);
        u_ts.run(r[ts], m, x[ts] + at);
        u_volume.run(r[volume], m, x[volume] + at);
        i64* xo = x[open] + at;
        i64* xc = x[close] + at;
        if (open_simple) u_open.run(r[open], m, xo);
        if (close_simple) u_close.run(r[close], m, xc);
        if (!open_simple && !close_simple) {
            // The stored layout (from_prev_close, from_open): close[i] = close[i-1] + r_o + r_c,
            // one add per row in the running sum (not two), and open[i] = close[i-1] + r_o
            // after it, row by row independent.
            const u64* ro = r[open];
            u64* step = r[close];
            for (std::size_t k = 0; k < m; ++k) step[k] += ro[k];
            const u64 before = prev_close;
            for (std::size_t k = 0; k < m; ++k) xc[k] = static_cast<i64>(prev_close += step[k]);
            xo[0] = static_cast<i64>(before + ro[0]);
            for (std::size_t k = 1; k < m; ++k) xo[k] = static_cast<i64>(static_cast<u64>(xc[k - 1]) + ro[k]);
        } else if (!open_simple) {
            for (std::size_t k = 0; k < m; ++k) {
                xo[k] = static_cast<i64>(prev_close + r[open][k]);
                prev_close = static_cast<u64>(xc[k]);
            }
        } else if (!close_simple) {
            for (std::size_t k = 0; k < m; ++k) xc[k] = static_cast<i64>(static_cast<u64>(xo[k]) + r[close][k]);
        }
        if (m > 0) prev_close = static_cast<u64>(xc[m - 1]);
        i64* xh = x[high] + at;
        i64* xl = x[low] + at;
        if (high_simple) {
            u_high.run(r[high], m, xh);
        } else {
            for (std::size_t k = 0; k < m; ++k)
                xh[k] = static_cast<i64>(static_cast<u64>(std::max(xo[k], xc[k])) + r[high][k]);
        }
        if (low_simple) {
            u_low.run(r[low], m, xl);
        } else {
            for (std::size_t k = 0; k < m; ++k)
                xl[k] = static_cast<i64>(static_cast<u64>(std::min(xo[k], xc[k])) - r[low][k]);
        }
    }

    if (x[ts][0] != h.first_ts || x[ts][n - 1] != h.last_ts) {
        for (auto* col : dst) col->resize(old_size);
        corrupt("time range differs from header");
    }
}

#if defined(__x86_64__)
// The same body compiled twice: the block loops (byte planes to 64-bit values, zigzag, divisor)
// are vectorised 4 wide with AVX2 instead of 2 wide with the SSE2 of the x86-64 baseline, a
// third less time besides zstd. Chosen once per process by a plain test, not by an ifunc
// (target_clones): an ifunc's resolver runs before ThreadSanitizer is set up and crashes it.
[[gnu::target("avx2")]] void decode_avx2(std::span<const std::byte> chunk, BarColumns& out, bool replace) {
    decode_body(chunk, out, replace);
}
void decode_baseline(std::span<const std::byte> chunk, BarColumns& out, bool replace) { decode_body(chunk, out, replace); }
void decode_into(std::span<const std::byte> chunk, BarColumns& out, bool replace) {
    static const bool avx2 = __builtin_cpu_supports("avx2");
    if (avx2)
        decode_avx2(chunk, out, replace);
    else
        decode_baseline(chunk, out, replace);
}
#else
void decode_into(std::span<const std::byte> chunk, BarColumns& out, bool replace) { decode_body(chunk, out, replace); }
#endif

}  // namespace

void decode_chunk(std::span<const std::byte> chunk, BarColumns& out) { decode_into(chunk, out, false); }

void decode_chunk_replacing(std::span<const std::byte> chunk, BarColumns& out) { decode_into(chunk, out, true); }

}  // namespace barstore::codec
