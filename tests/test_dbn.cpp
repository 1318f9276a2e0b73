// tests/test_dbn.cpp: the DBN decoder against the doc's worked examples (shared/docs/dbn-ohlcv.md
// §7, typed in by hand), every documented bad input built by mutating a real sample, and a
// random-mutation loop that may only ever see InvalidInput.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "barstore/time.hpp"
#include "dbn_fixtures.hpp"
#include "support/bars.hpp"
#include "support/util.hpp"

using namespace dbn_test;
using namespace std::chrono_literals;
using barstore::Duration;
using barstore::InvalidInput;
using barstore::ParseOptions;
using barstore::SeriesBatch;
using test::rows;

namespace {

void check_matches_doc(const std::vector<SeriesBatch>& got, const Expected& e) {
    if (e.bars.empty()) {
        // Decision: a file without bars yields no batches at all (not one empty batch).
        CHECK(got.empty());
        return;
    }
    REQUIRE(got.size() == 1);
    CHECK(got[0].key.symbol == "ESH1");
    CHECK(got[0].key.base == Duration{e.base_ns});
    CHECK(got[0].scale == barstore::Scale{9, 0});
    CHECK(rows(got[0].bars) == e.bars);
}

/// Decoding `b` throws InvalidInput whose one-line message names `offset` and contains `reason`.
void check_error(const Bytes& b, std::uint64_t offset, const std::string& reason, const ParseOptions& opts = {}) {
    CHECK_THROWS_AS(decode(b, opts), InvalidInput);
    const auto msg = error_of(b, opts);
    CAPTURE(msg);
    CHECK(msg.rfind("mem.dbn:byte " + std::to_string(offset) + ": error: ", 0) == 0);
    CHECK(msg.find(reason) != std::string::npos);
    CHECK(msg.find(" (got '") != std::string::npos);
    CHECK(msg.back() == ')');
    CHECK(msg.find('\n') == std::string::npos);
}

std::size_t second_record(std::size_t first) { return first + kRecordBytes; }

}  // namespace

// ---- the 20 sample files ---------------------------------------------------------------------

TEST_CASE("all 20 sample files decode to the doc's worked examples, via parse_file and parse_dbn") {
    int files = 0;
    for (const auto& e : expected()) {
        for (const auto& f : variants(e.schema)) {
            CAPTURE(f);
            const auto path = dbn_dir() / f;
            check_matches_doc(barstore::parse_file(path, barstore::FileFormat::auto_detect, {}), e);
            check_matches_doc(barstore::parse_file(path, barstore::FileFormat::dbn, {}), e);
            check_matches_doc(barstore::parse_dbn(read_bytes(path), f, {}), e);
            ++files;
        }
    }
    CHECK(files == 20);
}

TEST_CASE("plain and zstd, v1, v2 and v3 decode identically") {
    for (const auto& e : expected()) {
        const auto names = variants(e.schema);
        const auto first = decode(read_bytes(dbn_dir() / names[0]));
        for (const auto& f : names) {
            CAPTURE(f);
            const auto got = decode(read_bytes(dbn_dir() / f));
            REQUIRE(got.size() == first.size());
            for (std::size_t i = 0; i < got.size(); ++i) {
                CHECK(got[i].key == first[i].key);
                CHECK(got[i].bars == first[i].bars);
            }
        }
    }
}

TEST_CASE("the records start at 8 + L in every version (v3 pads its metadata)") {
    CHECK(get<std::uint32_t>(v1_1m(), 4) + 8 == kV1Records);
    CHECK(get<std::uint32_t>(v2_1m(), 4) + 8 == kV2Records);
    CHECK(get<std::uint32_t>(v3_1m(), 4) + 8 == kV3Records);
    check_matches_doc(decode(v3_1m()), expected()[1]);
}

// ---- zstd ------------------------------------------------------------------------------------

TEST_CASE("zstd: metadata and records in two concatenated frames decode to both bars") {
    for (const auto& plain : {v1_1m(), v2_1m(), v3_1m()}) {
        const auto begin = get<std::uint32_t>(plain, 4) + 8;
        const std::span<const std::byte> all(plain);
        const auto two = concat(zstd_compress(all.first(begin)), zstd_compress(all.subspan(begin)));
        check_matches_doc(decode(two), expected()[1]);
        // Three frames, one per record, and a frame that records its content size: the same.
        const auto three = concat(concat(zstd_compress(all.first(begin)),
                                         zstd_compress(all.subspan(begin, kRecordBytes))),
                                  zstd_compress(all.subspan(begin + kRecordBytes)));
        check_matches_doc(decode(three), expected()[1]);
        CHECK(ZSTD_getFrameContentSize(zstd_compress(all).data(), 32) == plain.size());
        check_matches_doc(decode(zstd_compress(all)), expected()[1]);
    }
}

TEST_CASE("zstd: corrupt, checksum-failing and truncated frames are InvalidInput") {
    const auto zst = read_bytes(dbn_dir() / "test_data.ohlcv-1m.v2.dbn.zst");
    SUBCASE("bad checksum") {
        auto b = zst;
        b.back() ^= std::byte{0x01};  // the last 4 bytes are the XXH64 content checksum
        check_error(b, 0, "corrupt zstd data (Restored data doesn't match checksum)");
    }
    SUBCASE("garbage after the first frame is a bad second frame") {
        auto b = zst;
        for (unsigned char c : {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}) b.push_back(std::byte{c});
        check_error(b, zst.size(), "corrupt zstd data (Unknown frame descriptor)");
    }
    SUBCASE("reserved bit set in the frame header") {
        auto b = zst;
        b[4] |= std::byte{0x08};
        check_error(b, 0, "corrupt zstd data");
    }
    SUBCASE("truncated frame") {
        auto b = zst;
        b.resize(b.size() - 10);
        check_error(b, b.size(), "truncated zstd frame");
        b.resize(6);
        check_error(b, 6, "truncated zstd frame");
    }
    SUBCASE("a second frame cut short") {
        const auto plain = v2_1m();
        const std::span<const std::byte> all(plain);
        auto second = zstd_compress(all.subspan(kV2Records));
        second.resize(second.size() - 3);
        const auto b = concat(zstd_compress(all.first(kV2Records)), second);
        check_error(b, b.size(), "truncated zstd frame");
    }
}

TEST_CASE("zstd: a frame claiming 2^40 bytes fails at once, without allocating it") {
    // magic, descriptor 0xC0 (8-byte content size, windowed), window 2^20, size 2^40, then one
    // last raw block of 4 bytes.
    Bytes b;
    for (unsigned c : {0x28u, 0xB5u, 0x2Fu, 0xFDu, 0xC0u, 0x50u}) b.push_back(std::byte(c));
    for (int i = 0; i < 8; ++i) b.push_back(std::byte((1ull << 40) >> (8 * i)));
    const std::uint32_t block = (4u << 3) | 1u;  // raw block, last
    for (int i = 0; i < 3; ++i) b.push_back(std::byte(block >> (8 * i)));
    for (char c : {'D', 'B', 'N', '\x01'}) b.push_back(std::byte(c));
    check_error(b, 0, "zstd frame declares more bytes than the decompression limit", {});
    CHECK(error_of(b).find("(got '1099511627776')") != std::string::npos);

    // The same frame after a valid one: the offset is where the second frame starts.
    const auto first = zstd_compress(std::span<const std::byte>(v1_1m()));
    check_error(concat(first, b), first.size(), "zstd frame declares more bytes");

    // Single-segment variant (descriptor 0xE0: no window byte, window = content size).
    Bytes single = b;
    single[4] = std::byte{0xE0};
    single.erase(single.begin() + 5);
    check_error(single, 0, "zstd frame declares more bytes");
}

TEST_CASE("zstd: a decompression bomb without a declared size stops at the cap") {
    // 8192 RLE blocks of 128 KiB of zeros = 1 GiB from 32 KiB; the cap is max(64 MiB, 1024x input).
    Bytes b;
    for (unsigned c : {0x28u, 0xB5u, 0x2Fu, 0xFDu, 0x00u, 0x50u}) b.push_back(std::byte(c));
    for (int k = 0; k < 8192; ++k) {
        const std::uint32_t block = (131072u << 3) | (1u << 1) | (k == 8191 ? 1u : 0u);  // RLE
        for (int i = 0; i < 3; ++i) b.push_back(std::byte(block >> (8 * i)));
        b.push_back(std::byte{0});
    }
    const auto msg = error_of(b);
    CAPTURE(msg);
    CHECK(msg.find("refusing a likely decompression bomb") != std::string::npos);
    CHECK(msg.find("more than 67108864 bytes") != std::string::npos);
    CHECK_THROWS_AS(decode(b), InvalidInput);
}

// ---- bad DBN bytes, one case each --------------------------------------------------------------

TEST_CASE("container and metadata errors name their byte and reason") {
    const auto v1 = v1_1m();
    SUBCASE("empty file") {
        check_error({}, 0, "empty file");
        // and a zstd frame of nothing
        check_error(zstd_compress({}), 0, "empty file");
    }
    SUBCASE("bad magic") {
        auto b = v1;
        b[0] = std::byte{'X'};
        check_error(b, 0, "bad magic");
        CHECK(error_of(b).find("(got 'XBN\\x01')") != std::string::npos);
        check_error(Bytes{std::byte{'D'}}, 0, "bad magic");
    }
    SUBCASE("version 0 and 4") {
        auto b = v1;
        b[3] = std::byte{0};
        check_error(b, 3, "unsupported DBN version 0; supported versions are 1-3");
        CHECK(error_of(b).find("(got '0x00')") != std::string::npos);
        b[3] = std::byte{4};
        check_error(b, 3, "supported versions are 1-3");
    }
    SUBCASE("legacy DBZ: a skippable zstd frame") {
        auto b = v1;
        put<std::uint32_t>(b, 0, 0x184D2A50);
        check_error(b, 0, "legacy DBZ");
        put<std::uint32_t>(b, 0, 0x184D2A5F);
        check_error(b, 0, "legacy DBZ");
    }
    SUBCASE("prelude cut short") {
        check_error(Bytes(v1.begin(), v1.begin() + 6), 4, "file ends inside the metadata length");
    }
    SUBCASE("metadata length 0xFFFFFFFF and one byte too many") {
        auto b = v1;
        put<std::uint32_t>(b, 4, 0xFFFFFFFF);
        check_error(b, 4, "metadata length runs past the end of the data (318 bytes)");
        CHECK(error_of(b).find("(got '4294967295')") != std::string::npos);
        put<std::uint32_t>(b, 4, 318 - 8 + 1);
        check_error(b, 4, "metadata length runs past the end");
    }
    SUBCASE("metadata length too short for its own fields") {
        auto b = v1;
        put<std::uint32_t>(b, 4, 40);  // ends at 48, before stype_in at 58
        check_error(b, 58, "metadata too short: stype_in");
        put<std::uint32_t>(b, 4, 150);  // the symbol lists fit, the mapping does not
        check_error(b, 150, "metadata too short: mapping raw_symbol");
    }
    SUBCASE("schema_definition_length != 0") {
        auto b = v1;
        put<std::uint32_t>(b, 108, 1);
        check_error(b, 108, "schema_definition_length must be 0");
    }
    SUBCASE("a symbol count past the metadata") {
        auto b = v2_1m();
        put<std::uint32_t>(b, 112, 1000);
        check_error(b, 116, "metadata too short: symbols");
    }
    SUBCASE("a bad mapping date") {
        auto b = v1;
        put<std::uint32_t>(b, 176, 20201332);
        check_error(b, 176, "mapping start_date is not a YYYYMMDD date");
    }
    SUBCASE("a mapping whose id side is not a number") {
        auto b = v1;
        put_text(b, 184, 22, "54x2");
        check_error(b, 184, "mapping symbol is not an instrument id");
    }
}

TEST_CASE("record errors name the record's byte and reason") {
    const auto v1 = v1_1m();
    const std::size_t r0 = kV1Records, r1 = second_record(kV1Records);
    SUBCASE("length byte 0") {
        auto b = v1;
        b[r0] = std::byte{0};
        check_error(b, r0, "record length byte is 0");
        CHECK(error_of(b).find("(got '0x00')") != std::string::npos);
    }
    SUBCASE("length below the 16-byte header") {
        auto b = v1;
        b[r1] = std::byte{3};
        check_error(b, r1, "shorter than the 16-byte record header");
    }
    SUBCASE("truncated record") {
        auto b = v1;
        b.resize(b.size() - 10);
        check_error(b, r1, "truncated record");
        b.resize(r1 + 3);  // even the header is cut
        check_error(b, r1, "truncated record");
        auto c = v1;
        c[r1] = std::byte{0xFF};
        check_error(c, r1, "truncated record");
    }
    SUBCASE("OHLCV record shorter than 56 bytes") {
        auto b = v1;
        b[r0] = std::byte{12};
        check_error(b, r0, "OHLCV record is 48 bytes, shorter than 56");
    }
    SUBCASE("ts_event not aligned to the bar interval") {
        auto b = v1;
        put<std::uint64_t>(b, r0 + 8, get<std::uint64_t>(b, r0 + 8) + 1);
        check_error(b, r0, "timestamp not aligned to the 1m timeframe");
    }
    SUBCASE("ts_event past INT64_MAX") {
        auto b = v1;
        put<std::uint64_t>(b, r1 + 8, 0x8000000000000000ull);
        check_error(b, r1 + 8, "ts_event does not fit int64");
    }
    SUBCASE("UNDEF_PRICE") {
        auto b = v1;
        put<std::int64_t>(b, r0 + 16 + 24, INT64_MAX);
        check_error(b, r0 + 40, "undefined close price (UNDEF_PRICE)");
    }
    SUBCASE("volume past INT64_MAX") {
        auto b = v1;
        put<std::uint64_t>(b, r1 + 48, 1ull << 63);
        check_error(b, r1 + 48, "volume does not fit int64");
        CHECK(error_of(b).find("(got '9223372036854775808')") != std::string::npos);
    }
    SUBCASE("high below low") {
        auto b = v1;
        put<std::int64_t>(b, r1 + 24, 1);
        check_error(b, r1, "high below low");
    }
    SUBCASE("bars out of order") {
        auto b = v1;
        put<std::uint64_t>(b, r1 + 8, get<std::uint64_t>(b, r0 + 8) - 60'000'000'000);
        check_error(b, r1, "timestamp goes backwards");
    }
    SUBCASE("the same (symbol, ts) from two publishers") {
        auto b = v1;
        put<std::uint64_t>(b, r1 + 8, get<std::uint64_t>(b, r0 + 8));
        put<std::uint16_t>(b, r1 + 2, 2);
        check_error(b, r1, "duplicate timestamp");
        const auto msg = error_of(b);
        CHECK(msg.find("same time as the record at byte 206") != std::string::npos);
        CHECK(msg.find("from publisher 1 vs 2") != std::string::npos);
    }
    SUBCASE("a legacy 0x11 record in a file whose schema has no interval") {
        // Mixed (live) and ohlcv-eod are the schemas that pass the metadata check yet name no
        // interval for 0x11 (any other non-OHLCV schema is refused at byte 24 first).
        for (std::uint16_t schema : {0xFFFF, 13}) {
            CAPTURE(schema);
            auto b = v1;
            b[r0 + 1] = std::byte{0x11};
            put<std::uint16_t>(b, 24, schema);
            check_error(b, r0 + 1, "legacy OHLCV record (rtype 0x11)");
        }
    }
    SUBCASE("offsets in a v3 stream that came through zstd are decompressed offsets") {
        auto b = v3_1m();
        b[kV3Records] = std::byte{0};
        check_error(zstd_compress(b), kV3Records, "record length byte is 0");
    }
}

// ---- records and symbols ---------------------------------------------------------------------

TEST_CASE("legacy 0x11 takes its interval from the schema; eod 0x24 is a 1d series") {
    auto b = v1_1m();
    b[kV1Records + 1] = b[second_record(kV1Records) + 1] = std::byte{0x11};
    check_matches_doc(decode(b), expected()[1]);  // schema 6: 1m

    auto eod = v1_1m();
    for (std::size_t r : {kV1Records, second_record(kV1Records)}) eod[r + 1] = std::byte{0x24};
    put<std::uint64_t>(eod, kV1Records + 8, 1609113600000000000);  // 2020-12-28 00:00 UTC
    put<std::uint64_t>(eod, second_record(kV1Records) + 8, 1609200000000000000);  // 12-29
    put<std::uint32_t>(eod, 180, 20201230);  // the mapping now covers both days
    const auto got = decode(eod);
    REQUIRE(got.size() == 1);
    CHECK(got[0].key == barstore::SeriesKey{"ESH1", 24h});
    CHECK(got[0].bars.size() == 2);
}

TEST_CASE("a file of another schema is refused, naming the schema; a mixed file needs a bar") {
    // The sample files' metadata say ohlcv-1m (6); the records are bars either way, so the refusal
    // can only come from the schema field.
    auto b = v1_1m();
    put<std::uint16_t>(b, 24, 4);
    check_error(b, 24, "schema is trades, not OHLCV");
    CHECK(error_of(b).find("(got '4')") != std::string::npos);
    put<std::uint16_t>(b, 24, 1);
    check_error(b, 24, "schema is mbp-1, not OHLCV");
    put<std::uint16_t>(b, 24, 300);
    check_error(b, 24, "schema is unknown schema 300, not OHLCV");

    // Every OHLCV schema, and mixed (0xFFFF), still decodes the bars by their rtype.
    for (std::uint16_t schema : {5, 6, 7, 8, 13, 0xFFFF}) {
        CAPTURE(schema);
        put<std::uint16_t>(b, 24, schema);
        check_matches_doc(decode(b), expected()[1]);
    }
    // Mixed, but the records are trades (rtype 0x00): no bars is an error, not "0 bars".
    for (std::size_t r : {kV1Records, second_record(kV1Records)}) b[r + 1] = std::byte{0x00};
    check_error(b, kV1Records + 1, "no OHLCV records in this mixed-schema file");
    // A system record first is not the one named.
    auto sys = b;
    Bytes rec(40);
    rec[0] = std::byte{10};
    rec[1] = std::byte{0x17};
    sys.insert(sys.begin() + kV1Records, rec.begin(), rec.end());
    check_error(sys, kV1Records + 40 + 1, "no OHLCV records");
}

TEST_CASE("unknown rtypes are skipped by length, and ts_out records by their longer length") {
    SUBCASE("a 0x17 system record between the bars") {
        auto b = v2_1m();
        Bytes sys(40);
        sys[0] = std::byte{10};
        sys[1] = std::byte{0x17};
        b.insert(b.begin() + second_record(kV2Records), sys.begin(), sys.end());
        check_matches_doc(decode(b), expected()[1]);
    }
    SUBCASE("ts_out: 8 more bytes per record, length byte 16") {
        const auto plain = v2_1m();
        Bytes b(plain.begin(), plain.begin() + kV2Records);
        b[52] = std::byte{1};
        for (std::size_t r : {kV2Records, second_record(kV2Records)}) {
            b.insert(b.end(), plain.begin() + r, plain.begin() + r + kRecordBytes);
            b[b.size() - kRecordBytes] = std::byte{16};
            for (int i = 0; i < 8; ++i) b.push_back(std::byte{0xAB});
        }
        check_matches_doc(decode(b), expected()[1]);
    }
}

TEST_CASE("symbols: metadata mappings by UTC date, inverse mappings, and the id fallback") {
    const std::size_t r1 = second_record(kV1Records);
    SUBCASE("an unmapped id is named by its number") {
        auto b = v1_1m();
        put<std::uint32_t>(b, kV1Records + 4, 77);
        put<std::uint32_t>(b, r1 + 4, 77);
        const auto got = decode(b);
        REQUIRE(got.size() == 1);
        CHECK(got[0].key.symbol == "77");
    }
    SUBCASE("the mapping's end date is exclusive") {
        auto b = v1_1m();
        put<std::uint32_t>(b, 180, 20201228);  // [20201228, 20201228): empty
        const auto got = decode(b);
        REQUIRE(got.size() == 1);
        CHECK(got[0].key.symbol == "5482");
    }
    SUBCASE("a bar on a day the mapping does not cover") {
        auto b = v1_1m();
        put<std::uint64_t>(b, r1 + 8, 1609160460000000000 + 86'400'000'000'000);  // next day
        const auto got = decode(b);
        REQUIRE(got.size() == 2);  // order of first appearance
        CHECK(got[0].key.symbol == "ESH1");
        CHECK(got[1].key.symbol == "5482");
        CHECK(got[0].bars.size() == 1);
        CHECK(got[1].bars.size() == 1);
    }
    SUBCASE("inverse: stype_in 0, raw_symbol is the id, the interval symbol the name") {
        auto b = v1_1m();
        b[58] = std::byte{0};  // stype_in instrument_id
        b[59] = std::byte{1};  // stype_out raw_symbol
        put_text(b, 150, 22, "5482");
        put_text(b, 184, 22, "ESH1");
        check_matches_doc(decode(b), expected()[1]);
    }
    SUBCASE("symbols with inner spaces are kept as they are") {
        auto b = v1_1m();
        put_text(b, 150, 22, "SPY   240119C00470000");
        const auto got = decode(b);
        REQUIRE(got.size() == 1);
        CHECK(got[0].key.symbol == "SPY   240119C00470000");
    }
}

namespace {
/// A symbol mapping record (rtype 0x16) in the v1 (80 bytes) or v2/v3 (176 bytes) layout.
Bytes mapping_record(int version, std::uint32_t id, const std::string& in_symbol, const std::string& out_symbol) {
    Bytes r(version == 1 ? 80 : 176);
    r[0] = std::byte(r.size() / 4);
    r[1] = std::byte{0x16};
    put<std::uint16_t>(r, 2, 1);
    put<std::uint32_t>(r, 4, id);
    put<std::uint64_t>(r, 8, 1609160400000000000);
    if (version == 1) {
        put_text(r, 16, 22, in_symbol);
        put_text(r, 38, 22, out_symbol);
    } else {
        r[16] = std::byte{1};
        put_text(r, 17, 71, in_symbol);
        r[88] = std::byte{0};
        put_text(r, 89, 71, out_symbol);
    }
    return r;
}
}  // namespace

TEST_CASE("symbols: live symbol mapping records rename the bars that follow") {
    for (int version : {1, 2, 3}) {
        CAPTURE(version);
        auto b = version == 1 ? v1_1m() : version == 2 ? v2_1m() : v3_1m();
        const std::size_t begin = get<std::uint32_t>(b, 4) + 8;
        // Live data has no metadata mappings; drop ours by giving the file stype_out = 0xFF.
        b[version == 1 ? 59 : 51] = std::byte{0xFF};
        const auto m1 = mapping_record(version, 5482, "ES.c.0", "ESH1");
        const auto m2 = mapping_record(version, 5482, "ESM1", "5482");
        b.insert(b.begin() + begin + kRecordBytes, m2.begin(), m2.end());
        b.insert(b.begin() + begin, m1.begin(), m1.end());
        const auto got = decode(b);
        REQUIRE(got.size() == 2);
        CHECK(got[0].key.symbol == "ES.c.0");
        CHECK(got[1].key.symbol == "ESM1");
        CHECK(got[0].bars.row(0) == expected()[1].bars[0]);
        CHECK(got[1].bars.row(0) == expected()[1].bars[1]);

        auto short_map = b;
        short_map[begin] = std::byte(version == 1 ? 19 : 40);
        check_error(short_map, begin, "symbol mapping record is");
    }
}

// ---- options ---------------------------------------------------------------------------------

TEST_CASE("options: symbol renames a one-symbol file only; timeframe must match") {
    const auto v1 = v1_1m();
    SUBCASE("rename") {
        ParseOptions o;
        o.symbol = "ES";
        const auto got = decode(v1, o);
        REQUIRE(got.size() == 1);
        CHECK(got[0].key.symbol == "ES");
        CHECK(decode(read_bytes(dbn_dir() / "test_data.ohlcv-1d.v1.dbn"), o).empty());
    }
    SUBCASE("two symbols cannot take one name") {
        auto b = v1;
        put<std::uint32_t>(b, second_record(kV1Records) + 4, 9999);
        const auto plain = decode(b);
        REQUIRE(plain.size() == 2);
        CHECK(plain[0].key.symbol == "ESH1");
        CHECK(plain[1].key.symbol == "9999");
        ParseOptions o;
        o.symbol = "ES";
        check_error(b, second_record(kV1Records), "a symbol override needs a file with exactly one symbol", o);
    }
    SUBCASE("a bad override symbol") {
        ParseOptions o;
        o.symbol = std::string(65, 'x');
        check_error(v1, 0, "symbol override is not 1 to 64 bytes", o);
    }
    SUBCASE("timeframe") {
        ParseOptions o;
        o.timeframe = 1min;
        check_matches_doc(decode(v1, o), expected()[1]);
        o.timeframe = 1h;
        check_error(v1, kV1Records, "bar interval 1m does not match the requested timeframe 1h", o);
        // Zero bars: the schema (8, ohlcv-1d) is what says the interval.
        check_error(read_bytes(dbn_dir() / "test_data.ohlcv-1d.v1.dbn"), 24, "schema interval 1d", o);
        o.timeframe = 24h;
        CHECK(decode(read_bytes(dbn_dir() / "test_data.ohlcv-1d.v1.dbn"), o).empty());
    }
}

TEST_CASE("progress ends at (total, total)") {
    for (const char* f : {"test_data.ohlcv-1m.v1.dbn", "test_data.ohlcv-1m.v3.dbn.zst"}) {
        CAPTURE(f);
        const auto b = read_bytes(dbn_dir() / f);
        std::vector<std::pair<std::uint64_t, std::uint64_t>> calls;
        ParseOptions o;
        o.progress = [&](std::uint64_t done, std::uint64_t total) { calls.emplace_back(done, total); };
        decode(b, o);
        REQUIRE(!calls.empty());
        CHECK(calls.back() == std::pair<std::uint64_t, std::uint64_t>{b.size(), b.size()});
    }
}

// ---- robustness --------------------------------------------------------------------------------

TEST_CASE("random mutations of the samples throw InvalidInput or decode to valid batches") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    std::vector<Bytes> plain, packed;
    for (const auto& e : expected())
        for (const auto& f : variants(e.schema)) {
            const auto b = read_bytes(dbn_dir() / f);
            (f.ends_with(".zst") ? packed : plain).push_back(b);
            if (f.ends_with(".zst")) plain.push_back(zstd_decompress(b));
        }
    const auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    // Length bytes, rtypes and sign bits the decoder branches on.
    static constexpr unsigned char kSpecial[] = {0x00, 0xFF, 0x0E, 0x10, 0x11, 0x16, 0x17,
                                                 0x20, 0x24, 0x7F, 0x80, 0x03, 0x01};

    int invalid = 0, decoded = 0;
    for (int iter = 0; iter < 4000; ++iter) {
        CAPTURE(iter);
        const bool mutate_packed = pick(6) == 0;
        Bytes b = mutate_packed ? packed[pick(packed.size())] : plain[pick(plain.size())];
        for (std::size_t k = 0, n = 1 + pick(4); k < n && !b.empty(); ++k) {
            switch (pick(6)) {
                case 0: b[pick(b.size())] ^= std::byte(1u << pick(8)); break;
                case 1: b[pick(b.size())] = std::byte{kSpecial[pick(sizeof kSpecial)]}; break;
                case 2: b.resize(pick(b.size() + 1)); break;
                case 3:
                    if (b.size() >= 8) put<std::uint64_t>(b, pick(b.size() - 7), pick(2) ? ~0ull : 1ull << 63);
                    break;
                case 4: {  // repeat a chunk somewhere else
                    const auto from = pick(b.size());
                    const auto len = std::min<std::size_t>(b.size() - from, 1 + pick(80));
                    const Bytes chunk(b.begin() + from, b.begin() + from + len);
                    b.insert(b.begin() + pick(b.size() + 1), chunk.begin(), chunk.end());
                    break;
                }
                default: {
                    const auto at = pick(b.size() + 1);
                    Bytes noise(1 + pick(16));
                    for (auto& x : noise) x = std::byte(rng());
                    b.insert(b.begin() + at, noise.begin(), noise.end());
                }
            }
        }
        if (!mutate_packed && pick(3) == 0) {
            // Through zstd too, sometimes split into two frames.
            const std::span<const std::byte> all(b);
            const auto cut = pick(b.size() + 1);
            b = pick(2) ? zstd_compress(all, 1)
                        : concat(zstd_compress(all.first(cut), 1), zstd_compress(all.subspan(cut), 1));
        }
        ParseOptions o;
        if (pick(4) == 0) o.timeframe = 1min;
        if (pick(4) == 0) o.symbol = "X";
        try {
            for (const auto& s : decode(b, o)) {
                CHECK(!barstore::check_bars(s.bars, s.key.base));
                CHECK(s.scale == barstore::Scale{9, 0});
                CHECK(!s.bars.empty());
            }
            ++decoded;
        } catch (const InvalidInput& e) {
            const std::string msg = e.what();
            CHECK(msg.rfind("mem.dbn:byte ", 0) == 0);
            CHECK(msg.find('\n') == std::string::npos);
            ++invalid;
        } catch (const std::exception& e) {
            FAIL("not InvalidInput: " << e.what());
        }
    }
    MESSAGE("random mutations: " << invalid << " rejected, " << decoded << " decoded");
    CHECK(invalid > 0);
    CHECK(decoded > 0);
}
