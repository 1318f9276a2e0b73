// ingest/dbn.cpp: Databento DBN v1-v3 (plain, or zstd in one or more frames) OHLCV records ->
// SeriesBatches, per docs in shared/docs/dbn-ohlcv.md. Guards: no read past a checked bound, the
// decompressed size is capped against the input, every bar passes check_bars, every error names
// its byte offset.
#include <zstd.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstring>
#include <iterator>
#include <map>
#include <memory>
#include <new>
#include <unordered_map>

#include "barstore/error.hpp"
#include "barstore/ingest.hpp"
#include "barstore/time.hpp"

namespace barstore {

namespace {

// DBN is little-endian on disk and we memcpy fields straight into integers.
static_assert(std::endian::native == std::endian::little, "the DBN decoder assumes a little-endian host");

using namespace std::chrono_literals;

constexpr std::size_t kPreludeBytes = 8;       // "DBN", version byte, u32 metadata length L
constexpr std::size_t kVariableMetadata = 112; // symbol lists start here in every version
constexpr std::size_t kHeaderBytes = 16;       // every record's header
constexpr std::size_t kOhlcvBytes = 56;        // OhlcvMsg, the same in v1, v2 and v3
constexpr std::int64_t kNsPerDay = 86'400'000'000'000;

// Decompression cap: zstd reaches ~32000:1 on runs of zeros, real DBN a few :1 up to maybe 50:1.
// Allow 1024x the input, never less than 64 MiB nor more than 64 GiB.
constexpr std::uint64_t kMaxRatio = 1024;
constexpr std::uint64_t kMinCapBytes = 64ull << 20;
constexpr std::uint64_t kMaxCapBytes = 64ull << 30;
constexpr int kWindowLogMax = 27;  // zstd's default streaming limit (128 MiB window), made explicit

constexpr std::uint64_t kProgressStepBytes = 4u << 20;

enum Rtype : std::uint8_t {
    kOhlcvLegacy = 0x11,
    kError = 0x15,
    kSymbolMapping = 0x16,
    kSystem = 0x17,
    kOhlcv1s = 0x20,
    kOhlcv1m = 0x21,
    kOhlcv1h = 0x22,
    kOhlcv1d = 0x23,
    kOhlcvEod = 0x24,
};

template <class T>
T load(const std::byte* p) {
    T v;
    std::memcpy(&v, p, sizeof v);  // DBN fields are often unaligned (v1/v2 records, u64 @26)
    return v;
}

// Text for the `(got '...')` part: printable ASCII as is, anything else as \xNN, so the
// message stays one line whatever the bytes are.
std::string escape(std::span<const std::byte> b, std::size_t max_bytes = 8) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < b.size() && i < max_bytes; ++i) {
        const auto c = static_cast<unsigned char>(b[i]);
        if (c >= 0x20 && c < 0x7F && c != '\'' && c != '\\') {
            s += static_cast<char>(c);
        } else {
            s += "\\x";
            s += kHex[c >> 4];
            s += kHex[c & 0xF];
        }
    }
    if (b.size() > max_bytes) s += "...";
    return s;
}
std::string escape(std::string_view s, std::size_t max_bytes = 80) {
    return escape(std::as_bytes(std::span<const char>(s.data(), s.size())), max_bytes);
}
std::string hex_byte(unsigned v) {
    static constexpr char kHex[] = "0123456789abcdef";
    return std::string("0x") + kHex[(v >> 4) & 0xF] + kHex[v & 0xF];
}

/// Builds and throws the one-line message `NAME:byte OFFSET: error: REASON (got 'TEXT')`.
class Failer {
public:
    explicit Failer(const std::string& name) : name_(name) {}
    [[noreturn]] void operator()(std::uint64_t offset, const std::string& reason,
                                 const std::string& got) const {
        throw InvalidInput(name_ + ":byte " + std::to_string(offset) + ": error: " + reason + " (got '" +
                           got + "')");
    }

private:
    const std::string& name_;
};

bool is_zstd_frame(std::span<const std::byte> b) {
    const auto u = [&](std::size_t i) { return static_cast<unsigned char>(b[i]); };
    return b.size() >= 4 && u(0) == 0x28 && u(1) == 0xB5 && u(2) == 0x2F && u(3) == 0xFD;
}
bool is_zstd_skippable(std::span<const std::byte> b) {
    const auto u = [&](std::size_t i) { return static_cast<unsigned char>(b[i]); };
    return b.size() >= 4 && (u(0) & 0xF0) == 0x50 && u(1) == 0x2A && u(2) == 0x4D && u(3) == 0x18;
}

// --- zstd -------------------------------------------------------------------------------------

// Concatenated frames are decoded until the input ends: Databento writes the metadata and the
// records as separate frames. Declared content sizes are never trusted for allocation: output
// grows by doubling up to a cap tied to the input size, so a small bomb cannot claim gigabytes.
// Offsets in these errors are into the compressed input: where zstd stood when it failed.
std::vector<std::byte> decompress(std::span<const std::byte> src, const Failer& fail,
                                  const ProgressFn& progress) {
    const std::uint64_t cap = std::clamp<std::uint64_t>(src.size() * kMaxRatio, kMinCapBytes, kMaxCapBytes);
    std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(ZSTD_createDCtx(), &ZSTD_freeDCtx);
    if (!dctx) throw std::bad_alloc();
    if (ZSTD_isError(ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, kWindowLogMax)))
        throw Error(Errc::internal, "zstd refused windowLogMax");

    std::vector<std::byte> out(std::min<std::uint64_t>(cap, std::max<std::uint64_t>(src.size() * 8, 64u << 10)));
    ZSTD_inBuffer in{src.data(), src.size(), 0};
    std::size_t produced = 0;
    bool frame_start = true;
    std::uint64_t next_report = kProgressStepBytes;
    for (;;) {
        if (frame_start) {
            // Cheap early refusal of a frame that admits to being too big; frames that don't
            // declare a size are still bounded by the growth cap below.
            const auto declared = ZSTD_getFrameContentSize(src.data() + in.pos, in.size - in.pos);
            if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR &&
                declared > cap - produced)
                fail(in.pos, "zstd frame declares more bytes than the decompression limit of " +
                                 std::to_string(cap) + " bytes", std::to_string(declared));
            frame_start = false;
        }
        if (produced == out.size()) {
            if (out.size() >= cap)
                fail(in.pos, "zstd data decompresses to more than " + std::to_string(cap) +
                                 " bytes (the limit: 1024x the input, 64 MiB to 64 GiB); refusing a likely "
                                 "decompression bomb",
                     std::to_string(produced) + "+ bytes");
            out.resize(std::min<std::uint64_t>(cap, out.size() * 2));
        }
        ZSTD_outBuffer ob{out.data(), out.size(), produced};
        const std::size_t before = in.pos;
        const std::size_t ret = ZSTD_decompressStream(dctx.get(), &ob, &in);
        if (ZSTD_isError(ret))
            fail(before, std::string("corrupt zstd data (") + ZSTD_getErrorName(ret) + ")",
                 escape(src.subspan(before)));
        produced = ob.pos;
        if (ret == 0) {  // a frame ended and is flushed; another may follow
            frame_start = true;
            if (in.pos == in.size) break;
            continue;
        }
        // Output room left and all input eaten, yet the frame is unfinished: zstd wants more input.
        if (in.pos == in.size && ob.pos < ob.size)
            fail(in.size, "truncated zstd frame: the data ends inside a frame",
                 escape(src.subspan(src.size() - std::min<std::size_t>(src.size(), 8))));
        if (progress && in.pos >= next_report) {
            progress(in.pos, in.size);
            next_report = in.pos + kProgressStepBytes;
        }
    }
    out.resize(produced);
    return out;
}

// --- metadata ---------------------------------------------------------------------------------

/// Bounds-checked reads of the metadata. The bound is 8 + L, so a lying count or width yields a
/// clean error, never a read of record bytes or past the buffer.
class MetadataReader {
public:
    MetadataReader(std::span<const std::byte> data, std::uint64_t end, const Failer& fail)
        : data_(data), end_(end), fail_(fail) {}

    void need(std::uint64_t off, std::uint64_t n, const char* field) const {
        if (off > end_ || n > end_ - off)
            fail_(off, std::string("metadata too short: ") + field + " runs past its end at byte " +
                           std::to_string(end_),
                  "metadata length " + std::to_string(end_ - kPreludeBytes));
    }
    template <class T>
    T get(std::uint64_t off, const char* field) const {
        need(off, sizeof(T), field);
        return load<T>(data_.data() + off);
    }
    /// A fixed-width NUL-padded string: the bytes before the first NUL. Spaces are kept: OPRA
    /// and ICE symbols contain runs of them.
    std::string_view cstr(std::uint64_t off, std::uint64_t width, const char* field) const {
        need(off, width, field);
        const auto* p = reinterpret_cast<const char*>(data_.data() + off);
        const auto* nul = static_cast<const char*>(std::memchr(p, 0, width));
        return {p, nul ? static_cast<std::size_t>(nul - p) : static_cast<std::size_t>(width)};
    }

private:
    std::span<const std::byte> data_;
    std::uint64_t end_;
    const Failer& fail_;
};

/// YYYYMMDD packed as a decimal number -> days since the epoch; nullopt if not a real date.
std::optional<std::int64_t> packed_date_to_days(std::uint32_t v) {
    const std::chrono::year_month_day ymd{std::chrono::year(static_cast<int>(v / 10000)),
                                          std::chrono::month(v / 100 % 100), std::chrono::day(v % 100)};
    if (!ymd.ok()) return std::nullopt;
    return std::chrono::sys_days(ymd).time_since_epoch().count();
}

std::optional<std::uint32_t> parse_instrument_id(std::string_view s) {
    std::uint32_t id = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
    if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return id;
}

/// instrument_id -> symbol. Metadata intervals are kept as day ranges, not expanded per day, so a
/// lying end date costs nothing; the live table is fed by 0x16 records in the stream.
class SymbolMap {
public:
    void add_interval(std::uint32_t id, std::int64_t first_day, std::int64_t end_day, std::string symbol) {
        intervals_[id].push_back({first_day, end_day, std::move(symbol)});
    }
    void set_live(std::uint32_t id, std::string symbol) {
        if (symbol.empty())
            live_.erase(id);
        else
            live_[id] = std::move(symbol);
    }
    /// The live table wins: it is the newest word in the stream (historical files have none).
    const std::string* find(std::uint32_t id, std::int64_t day) const {
        if (const auto it = live_.find(id); it != live_.end()) return &it->second;
        if (const auto it = intervals_.find(id); it != intervals_.end())
            for (const auto& iv : it->second)
                if (iv.first_day <= day && day < iv.end_day) return &iv.symbol;
        return nullptr;
    }

private:
    struct Interval {
        std::int64_t first_day, end_day;  // [first, end): end_date is exclusive
        std::string symbol;
    };
    std::unordered_map<std::uint32_t, std::vector<Interval>> intervals_;
    std::unordered_map<std::uint32_t, std::string> live_;
};

struct Metadata {
    unsigned version = 0;
    std::uint16_t schema = 0xFFFF;
    std::uint64_t records_begin = 0;  // 8 + L; v3 pads the metadata, so never "end of parsed"
    std::optional<std::uint64_t> first_other_data = std::nullopt;  // offset of the first non-bar data record
    SymbolMap symbols;
};

constexpr std::uint16_t kSchemaMixed = 0xFFFF;  // live data: each record's rtype says what it is

/// The name Databento gives a metadata schema (docs/dbn-ohlcv.md, "schema"), for error messages.
std::string schema_name(std::uint16_t schema) {
    static constexpr const char* kNames[] = {
        "mbo", "mbp-1", "mbp-10", "tbbo", "trades", "ohlcv-1s", "ohlcv-1m", "ohlcv-1h", "ohlcv-1d", "definition",
        "statistics", "status", "imbalance", "ohlcv-eod", "cmbp-1", "cbbo-1s", "cbbo-1m", "tcbbo", "bbo-1s", "bbo-1m"};
    if (schema < std::size(kNames)) return kNames[schema];
    return "unknown schema " + std::to_string(schema);
}

/// Interval of an OHLCV metadata schema (5-8, 13 eod) or nullopt.
std::optional<Duration> schema_interval(std::uint16_t schema, bool allow_eod) {
    switch (schema) {
        case 5: return 1s;
        case 6: return 1min;
        case 7: return 1h;
        case 8: return 24h;
        case 13: return allow_eod ? std::optional<Duration>(24h) : std::nullopt;
        default: return std::nullopt;
    }
}

Metadata parse_metadata(std::span<const std::byte> s, const Failer& fail) {
    if (s.empty()) fail(0, "empty file", "");
    if (is_zstd_skippable(s))
        fail(0, "legacy DBZ file (starts with a zstd skippable frame): not supported, convert it to DBN",
             escape(s.first(4)));
    if (s.size() < 3 || std::memcmp(s.data(), "DBN", 3) != 0)
        fail(0, "not a DBN file: bad magic (expected 'DBN' and a version byte, or a zstd frame)",
             escape(s.first(std::min<std::size_t>(s.size(), 4))));
    if (s.size() < 4) fail(3, "file ends before the DBN version byte", escape(s));
    Metadata m;
    m.version = static_cast<unsigned char>(s[3]);
    if (m.version == 0 || m.version > 3)
        fail(3, "unsupported DBN version " + std::to_string(m.version) + "; supported versions are 1-3",
             hex_byte(m.version));
    if (s.size() < kPreludeBytes) fail(4, "file ends inside the metadata length field", escape(s.subspan(4)));
    const auto length = load<std::uint32_t>(s.data() + 4);
    m.records_begin = kPreludeBytes + std::uint64_t{length};
    if (m.records_begin > s.size())
        fail(4, "metadata length runs past the end of the data (" + std::to_string(s.size()) + " bytes)",
             std::to_string(length));

    const MetadataReader r(s, m.records_begin, fail);
    m.schema = r.get<std::uint16_t>(24, "schema");
    // A trades or quotes file holds no bars: ingesting it as "0 bars" would look like success.
    if (m.schema != kSchemaMixed && !schema_interval(m.schema, true))
        fail(24, "schema is " + schema_name(m.schema) +
                     ", not OHLCV: barstore ingests bars (ohlcv-1s, ohlcv-1m, ohlcv-1h, ohlcv-1d, ohlcv-eod)",
             std::to_string(m.schema));
    // v1 spends 8 bytes on the deprecated record_count at 50, so its stype bytes sit at 58.
    const std::uint64_t stype_at = m.version == 1 ? 58 : 50;
    const auto stype_in = r.get<std::uint8_t>(stype_at, "stype_in");
    const auto stype_out = r.get<std::uint8_t>(stype_at + 1, "stype_out");
    const std::uint64_t width = m.version == 1 ? 22 : r.get<std::uint16_t>(53, "symbol_cstr_len");
    const auto sdl = r.get<std::uint32_t>(108, "schema_definition_length");
    if (sdl != 0)
        fail(108, "schema definitions are not supported (schema_definition_length must be 0)",
             std::to_string(sdl));

    std::uint64_t pos = kVariableMetadata;
    for (const char* list : {"symbols", "partial", "not_found"}) {
        const auto count = r.get<std::uint32_t>(pos, list);
        pos += 4;
        r.need(pos, count * width, list);  // u32 * u16: cannot overflow u64
        pos += count * width;
    }
    // Normal case (stype_out 0): raw_symbol is the name, each interval's symbol the id as text.
    // Inverse case (stype_in 0, stype_out not 0): the other way round. Otherwise neither side
    // is an id and the mappings cannot name bars.
    const bool by_id = stype_out == 0;
    const bool inverse = stype_in == 0 && stype_out != 0;
    const auto mappings = r.get<std::uint32_t>(pos, "mappings count");
    pos += 4;
    for (std::uint32_t i = 0; i < mappings; ++i) {  // each mapping takes >= 4 bytes: bounded by L
        const auto raw_at = pos;
        const auto raw = r.cstr(pos, width, "mapping raw_symbol");
        pos += width;
        const auto intervals = r.get<std::uint32_t>(pos, "mapping interval count");
        pos += 4;
        for (std::uint32_t k = 0; k < intervals; ++k) {
            const auto start = r.get<std::uint32_t>(pos, "mapping start_date");
            const auto end = r.get<std::uint32_t>(pos + 4, "mapping end_date");
            const auto sym_at = pos + 8;
            const auto sym = r.cstr(sym_at, width, "mapping symbol");
            const auto interval_at = pos;
            pos += 8 + width;
            if ((!by_id && !inverse) || sym.empty() || raw.empty()) continue;  // empty: unresolved
            const auto first_day = packed_date_to_days(start);
            if (!first_day) fail(interval_at, "mapping start_date is not a YYYYMMDD date", std::to_string(start));
            const auto end_day = packed_date_to_days(end);
            if (!end_day) fail(interval_at + 4, "mapping end_date is not a YYYYMMDD date", std::to_string(end));
            const auto id_text = inverse ? raw : sym;
            const auto id = parse_instrument_id(id_text);
            if (!id) fail(inverse ? raw_at : sym_at, "mapping symbol is not an instrument id", escape(id_text));
            m.symbols.add_interval(*id, *first_day, *end_day, std::string(inverse ? sym : raw));
        }
    }
    // Anything between here and 8 + L (v3's padding) is skipped on purpose.
    return m;
}

// --- records ----------------------------------------------------------------------------------

struct Series {
    SeriesBatch batch;
    std::vector<std::uint64_t> offsets;  // byte offset of each bar's record, for error messages
};

/// Routes each bar to its (symbol, base) series in order of first appearance. Resolving a symbol
/// costs a string build and a map lookup, so the answer is cached per (instrument, rtype) for the
/// UTC day it was resolved on; a 0x16 record clears the cache.
class SeriesRouter {
public:
    SeriesRouter(const SymbolMap& symbols, const Failer& fail) : symbols_(symbols), fail_(fail) {}

    Series& route(std::uint32_t id, std::uint8_t rtype, Duration base, std::int64_t ts, std::uint64_t offset) {
        const auto day = ts / kNsPerDay;  // ts >= 0 here, so this is floor
        const auto cache_key = std::uint64_t{id} << 8 | rtype;
        if (const auto it = cache_.find(cache_key); it != cache_.end() && it->second.day == day)
            return series_[it->second.index];
        const auto* found = symbols_.find(id, day);
        // Documented fallback: a bar with no mapping is filed under its instrument id as text.
        SeriesKey key{found ? *found : std::to_string(id), base};
        auto [it, inserted] = by_key_.try_emplace(key, series_.size());
        if (inserted) {
            try {
                validate_symbol(key.symbol);
            } catch (const InvalidInput&) {
                fail_(offset, "symbol of instrument " + std::to_string(id) +
                                  " is not 1 to 64 bytes of printable UTF-8", escape(key.symbol));
            }
            series_.push_back({SeriesBatch{std::move(key), Scale{9, 0}, {}, 0, std::nullopt}, {}});
        }
        cache_[cache_key] = {day, it->second};
        return series_[it->second];
    }
    void forget_cache() { cache_.clear(); }
    std::vector<Series>& series() { return series_; }

private:
    struct Cached {
        std::int64_t day;
        std::size_t index;
    };
    const SymbolMap& symbols_;
    const Failer& fail_;
    std::vector<Series> series_;
    std::map<SeriesKey, std::size_t> by_key_;
    std::unordered_map<std::uint64_t, Cached> cache_;
};

std::optional<Duration> rtype_base(std::uint8_t rtype) {
    switch (rtype) {
        case kOhlcv1s: return 1s;
        case kOhlcv1m: return 1min;
        case kOhlcv1h: return 1h;
        case kOhlcv1d: return 24h;
        case kOhlcvEod: return 24h;  // session days; stored as 1d, so they must land on 00:00 UTC
        default: return std::nullopt;
    }
}

/// One pass over the records from 8 + L. Every read is inside [pos, pos + n) after n was checked
/// against the end of the data.
std::vector<Series> decode_records(std::span<const std::byte> s, Metadata& meta, const Failer& fail,
                                   const ProgressFn& progress) {
    const std::optional<Duration> legacy_base = schema_interval(meta.schema, false);
    SeriesRouter router(meta.symbols, fail);
    std::uint64_t next_report = kProgressStepBytes;
    const std::byte* data = s.data();
    const std::uint64_t size = s.size();
    std::uint64_t pos = meta.records_begin;
    while (pos < size) {
        const auto length_byte = static_cast<unsigned char>(data[pos]);
        const std::uint64_t n = std::uint64_t{length_byte} * 4;  // the length counts 4-byte words
        if (length_byte == 0) fail(pos, "record length byte is 0", hex_byte(length_byte));
        if (n < kHeaderBytes)
            fail(pos, "record length " + std::to_string(n) + " bytes is shorter than the 16-byte record header",
                 hex_byte(length_byte));
        if (n > size - pos)
            fail(pos, "truncated record: it claims " + std::to_string(n) + " bytes but only " +
                          std::to_string(size - pos) + " remain", hex_byte(length_byte));
        const std::byte* rec = data + pos;
        const auto rtype = static_cast<std::uint8_t>(rec[1]);
        const auto id = load<std::uint32_t>(rec + 4);

        std::optional<Duration> base = rtype_base(rtype);
        if (rtype == kOhlcvLegacy) {
            if (!legacy_base)
                fail(pos + 1, "legacy OHLCV record (rtype 0x11) but metadata schema " +
                                  std::to_string(meta.schema) + " is not ohlcv-1s/1m/1h/1d",
                     hex_byte(rtype));
            base = legacy_base;
        }
        if (base) {
            if (n < kOhlcvBytes)
                fail(pos, "OHLCV record is " + std::to_string(n) + " bytes, shorter than 56", hex_byte(length_byte));
            const auto ts = load<std::uint64_t>(rec + 8);
            if (ts > static_cast<std::uint64_t>(INT64_MAX))
                fail(pos + 8, "ts_event does not fit int64 nanoseconds", std::to_string(ts));
            std::int64_t px[4];
            static constexpr const char* kPriceNames[4] = {"open", "high", "low", "close"};
            for (int k = 0; k < 4; ++k) {
                px[k] = load<std::int64_t>(rec + 16 + 8 * k);
                if (px[k] == INT64_MAX)  // UNDEF_PRICE: storing it would mean a 9.2e9 price
                    fail(pos + 16 + 8 * k, std::string("undefined ") + kPriceNames[k] + " price (UNDEF_PRICE)",
                         std::to_string(px[k]));
            }
            const auto volume = load<std::uint64_t>(rec + 48);
            if (volume > static_cast<std::uint64_t>(INT64_MAX))
                fail(pos + 48, "volume does not fit int64", std::to_string(volume));

            auto& series = router.route(id, rtype, *base, static_cast<std::int64_t>(ts), pos);
            auto& b = series.batch.bars;
            b.ts.push_back(static_cast<std::int64_t>(ts));
            b.open.push_back(px[0]);
            b.high.push_back(px[1]);
            b.low.push_back(px[2]);
            b.close.push_back(px[3]);
            b.volume.push_back(static_cast<std::int64_t>(volume));
            series.offsets.push_back(pos);
        } else if (rtype == kSymbolMapping) {
            // Only stype_in_symbol (what the user subscribed to) is used; its place and width
            // depend on the version.
            const std::uint64_t min_bytes = meta.version == 1 ? 80 : 176;
            if (n < min_bytes)
                fail(pos, "symbol mapping record is " + std::to_string(n) + " bytes, shorter than " +
                              std::to_string(min_bytes), hex_byte(length_byte));
            const std::size_t at = meta.version == 1 ? 16 : 17;
            const std::size_t width = meta.version == 1 ? 22 : 71;
            const auto* p = reinterpret_cast<const char*>(rec + at);
            const auto* nul = static_cast<const char*>(std::memchr(p, 0, width));
            meta.symbols.set_live(id, std::string(p, nul ? static_cast<std::size_t>(nul - p) : width));
            router.forget_cache();
        } else if (rtype != kError && rtype != kSystem && !meta.first_other_data) {
            meta.first_other_data = pos;
        }
        // Any other rtype (and ts_out's trailing 8 bytes) is skipped by its stated length.
        pos += n;
        if (progress && pos >= next_report) {
            progress(pos, size);
            next_report = pos + kProgressStepBytes;
        }
    }
    return std::move(router.series());
}

/// The values check_bars objected to: the prices when they are inconsistent, else the time.
std::string describe_bar(const BarColumns& b, std::size_t i) {
    const bool prices_bad = b.high[i] < b.low[i] || b.low[i] > std::min(b.open[i], b.close[i]) ||
                            b.high[i] < std::max(b.open[i], b.close[i]) || b.volume[i] < 0;
    if (!prices_bad) return "ts_event " + std::to_string(b.ts[i]);
    return "open " + std::to_string(b.open[i]) + ", high " + std::to_string(b.high[i]) + ", low " +
           std::to_string(b.low[i]) + ", close " + std::to_string(b.close[i]);
}

/// check_bars on each series; a failure names the offending record's offset.
void check_series(const std::vector<Series>& series, std::span<const std::byte> s, const Failer& fail) {
    for (const auto& ser : series) {
        const auto& b = ser.batch.bars;
        const auto problem = check_bars(b, ser.batch.key.base);
        if (!problem) continue;
        const auto i = problem->index;
        std::string reason = problem->reason + " in " + ser.batch.key.symbol + " " +
                             format_timeframe(ser.batch.key.base) + " bars";
        if (i > 0 && b.ts[i] == b.ts[i - 1]) {
            // Multi-venue feeds (OPRA, DBEQ) send one bar per publisher for the same instrument
            // and time. We neither pick one nor merge them: say so, and say whose they are.
            const auto pub_prev = load<std::uint16_t>(s.data() + ser.offsets[i - 1] + 2);
            const auto pub_this = load<std::uint16_t>(s.data() + ser.offsets[i] + 2);
            reason += " (same time as the record at byte " + std::to_string(ser.offsets[i - 1]);
            if (pub_prev != pub_this)
                reason += ", from publisher " + std::to_string(pub_prev) + " vs " + std::to_string(pub_this) +
                          ": multi-publisher files are not supported, filter to one publisher";
            reason += ")";
        }
        fail(ser.offsets[i], reason, describe_bar(b, i));
    }
}

/// opts.timeframe must match every series' base; opts.symbol renames a one-symbol file.
void apply_options(std::vector<Series>& series, const Metadata& meta, const ParseOptions& opts,
                   const Failer& fail) {
    if (opts.timeframe) {
        const auto want = format_timeframe(*opts.timeframe);
        for (const auto& ser : series)
            if (ser.batch.key.base != *opts.timeframe)
                fail(ser.offsets.front(), "bar interval " + format_timeframe(ser.batch.key.base) +
                                              " does not match the requested timeframe " + want,
                     format_timeframe(ser.batch.key.base));
        // No bars: the metadata schema is the only word on the interval.
        const auto schema_tf = schema_interval(meta.schema, true);
        if (series.empty() && schema_tf && *schema_tf != *opts.timeframe)
            fail(24, "schema interval " + format_timeframe(*schema_tf) +
                         " does not match the requested timeframe " + want,
                 std::to_string(meta.schema));
    }
    if (!opts.symbol.empty()) {
        try {
            validate_symbol(opts.symbol);
        } catch (const InvalidInput&) {
            fail(0, "symbol override is not 1 to 64 bytes of printable UTF-8", escape(opts.symbol));
        }
        for (const auto& ser : series)
            if (ser.batch.key.symbol != series.front().batch.key.symbol)
                fail(ser.offsets.front(), "a symbol override needs a file with exactly one symbol, but this one has "
                                          "more (the first is " + escape(series.front().batch.key.symbol) + ")",
                     escape(ser.batch.key.symbol));
        for (auto& ser : series) ser.batch.key.symbol = opts.symbol;
    }
}

}  // namespace

std::vector<SeriesBatch> parse_dbn(std::span<const std::byte> data, const std::string& name,
                                   const ParseOptions& opts) {
    const Failer fail(name);
    std::vector<std::byte> decompressed;
    std::span<const std::byte> s = data;
    const bool compressed = is_zstd_frame(data);
    if (compressed) {
        decompressed = decompress(data, fail, opts.progress);
        s = decompressed;
    }
    Metadata meta = parse_metadata(s, fail);
    // Plain input reports record progress; zstd input already reported compressed progress.
    auto series = decode_records(s, meta, fail, compressed ? ProgressFn{} : opts.progress);
    // A mixed-schema (live) file of trades or quotes only: as above, no bars is not success.
    if (series.empty() && meta.first_other_data) {
        const std::uint64_t at = *meta.first_other_data + 1;  // its rtype byte
        fail(at, "no OHLCV records in this mixed-schema file: the first data record's rtype is not a bar",
             hex_byte(static_cast<std::uint8_t>(s[at])));
    }
    check_series(series, s, fail);
    apply_options(series, meta, opts, fail);

    // A file without bars (e.g. the header-only ohlcv-1d samples) yields no batches, not an
    // empty one: there is no series to name.
    std::vector<SeriesBatch> out;
    out.reserve(series.size());
    for (auto& ser : series) out.push_back(std::move(ser.batch));
    if (opts.progress) opts.progress(data.size(), data.size());
    return out;
}

}  // namespace barstore
