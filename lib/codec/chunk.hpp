// codec/chunk.hpp: one chunk = up to kChunkRows bars of one series as six encoded, compressed,
// checksummed columns. Layout and codec ids are specified in docs/format.md.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <tuple>
#include <vector>

#include "barstore/types.hpp"

namespace barstore::codec {

inline constexpr std::uint32_t kChunkMagic = 0x4B435342;  // bytes "BSCK"
inline constexpr std::uint16_t kFormatVersion = 1;
/// Rows per full chunk; chosen from the measurement in docs/format.md.
inline constexpr std::size_t kChunkRows = 4096;
/// Readers refuse more rows than this: with width-0 columns a tiny chunk could otherwise make a
/// decoder allocate for 4 billion rows. Encoders may choose any size up to it.
inline constexpr std::size_t kMaxChunkRows = 65536;
inline constexpr std::size_t kColumns = 6;  // ts, open, high, low, close, volume
/// Column numbers in chunk order, the order of BarColumns::columns() (docs/format.md, "Chunk layout").
namespace column {
inline constexpr std::size_t ts = 0, open = 1, high = 2, low = 3, close = 4, volume = 5;
}
static_assert(kColumns == std::tuple_size_v<decltype(BarColumns{}.columns())>);
inline constexpr std::size_t kFixedHeaderBytes = 40;
inline constexpr std::size_t kColumnDescriptorBytes = 32;
inline constexpr std::size_t kHeaderBytes = kFixedHeaderBytes + kColumns * kColumnDescriptorBytes;

/// How a column's residuals are computed from its values (docs/format.md, "Decoding a column",
/// step 4, which lists the columns each may serve).
enum class Transform : std::uint8_t {
    plain = 0,            ///< r = x - base
    delta = 1,            ///< r = x[i] - x[i-1], x[-1] = base
    delta2 = 2,           ///< r = d[i] - d[i-1], d[i] = x[i] - x[i-1], x[-1] = base, d[-1] = 0
    from_prev_close = 3,  ///< open only: r = open[i] - close[i-1], close[-1] = base
    above_body = 4,       ///< high only: r = high - max(open, close)
    below_body = 5,       ///< low only: r = min(open, close) - low
    from_open = 6,        ///< close only: r = close - open
};

/// How residuals (divided by the column's divisor) become bytes.
enum class Packing : std::uint8_t {
    shuffle_zigzag = 1,    ///< zigzag, then `width` little-endian byte planes
    shuffle_unsigned = 2,  ///< residuals all >= 0: byte planes without zigzag
    varint_zigzag = 3,     ///< zigzag LEB128
    varint_unsigned = 4,   ///< LEB128
};

enum class Compression : std::uint8_t { none = 0, zstd = 1 };

struct ColumnDescriptor {
    Transform transform = Transform::plain;
    Packing packing = Packing::shuffle_zigzag;
    std::uint8_t width = 0;  ///< bytes per value for shuffle packings
    Compression compression = Compression::zstd;
    std::uint32_t stored_bytes = 0;  ///< in the payload
    std::uint32_t packed_bytes = 0;  ///< after decompression
    std::int64_t base = 0;
    std::uint64_t divisor = 1;
};

struct ChunkHeader {
    std::uint16_t version = kFormatVersion;
    std::uint32_t rows = 0;
    std::uint32_t payload_bytes = 0;
    std::int64_t first_ts = 0, last_ts = 0;
    std::uint64_t checksum = 0;
    std::array<ColumnDescriptor, kColumns> columns{};
};

struct EncodeOptions {
    int zstd_level = 1;
    /// false: every column stored packed but uncompressed (Compression::none). For the spill,
    /// where re-hydration speed matters more than bytes: tiny zstd frames cost more to open
    /// than their rows take to unpack.
    bool zstd = true;
    /// Per column (ts, open, high, low, close, volume); must be allowed for the column.
    std::array<Transform, kColumns> transforms = {Transform::delta2,     Transform::from_prev_close,
                                                  Transform::above_body, Transform::below_body,
                                                  Transform::from_open,  Transform::plain};
    /// Packing for every column; the format allows any, the encoder uses one.
    bool varint = false;
};

/// Encodes rows [first, last) of `bars` (1 <= last - first <= kMaxChunkRows). Deterministic:
/// the same rows and options give the same bytes.
std::vector<std::byte> encode_chunk(const BarColumns& bars, std::size_t first, std::size_t last,
                                    const EncodeOptions& opts = {});

/// Parses and sanity-checks the header only (magic, version, sizes); no checksum unless
/// `verify_checksum`. Throws CorruptData with the reason.
ChunkHeader read_chunk_header(std::span<const std::byte> chunk, bool verify_checksum = false);

/// Verifies the checksum, decodes and appends the rows to `out`. Throws CorruptData.
/// On throw `out` is left as it was.
void decode_chunk(std::span<const std::byte> chunk, BarColumns& out);
/// As decode_chunk, but the rows replace out's: its columns are resized to the chunk's rows,
/// which neither allocates nor zero-fills when they already hold that many (a buffer reused
/// chunk after chunk: full chunks all hold kChunkRows). On throw `out` holds its old rows or none.
void decode_chunk_replacing(std::span<const std::byte> chunk, BarColumns& out);

}  // namespace barstore::codec
