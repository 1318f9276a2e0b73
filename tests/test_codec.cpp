// tests/test_codec.cpp: the chunk codec and its kernels. Round trips are checked against the
// input and against a decoder written from docs/format.md alone (tests/reference/naive_chunk.hpp);
// every single-byte flip and every truncation must be CorruptData; golden chunks keep decoding.
#include <doctest/doctest.h>

#include <xxhash.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "barstore/error.hpp"
#include "codec/chunk.hpp"
#include "codec/varint.hpp"
#include "reference/naive_chunk.hpp"
#include "support/bars.hpp"
#include "support/time.hpp"
#include "support/util.hpp"

using barstore::BarColumns;
using barstore::CorruptData;
using barstore::InvalidInput;
namespace codec = barstore::codec;
using codec::EncodeOptions;
using codec::kChunkRows;
using codec::Transform;
using Bytes = std::vector<std::byte>;
using test::diff, test::kMin;

namespace {

// ---- generators -----------------------------------------------------------------------------------

/// A price walk with consistent bars, random ts gaps (sometimes huge), volume up to 1e12.
BarColumns random_walk(std::mt19937_64& rng, std::size_t n, std::int64_t price0 = 4631900) {
    BarColumns b;
    std::int64_t ts = (static_cast<std::int64_t>(rng() % 20000000) - 10000000) * kMin;  // +-19 years
    std::int64_t px = price0;
    const std::int64_t tick = rng() % 2 ? 100 : 1;
    for (std::size_t i = 0; i < n; ++i) {
        const int gap_kind = static_cast<int>(rng() % 50);
        ts += kMin * (gap_kind == 0 ? static_cast<std::int64_t>(rng() % 100'000) : gap_kind < 5 ? 1 + static_cast<std::int64_t>(rng() % 30) : 1);
        const std::int64_t open = px + tick * (static_cast<std::int64_t>(rng() % 5) - 2);
        const std::int64_t close = open + tick * (static_cast<std::int64_t>(rng() % 41) - 20);
        const std::int64_t high = std::max(open, close) + tick * static_cast<std::int64_t>(rng() % 10);
        const std::int64_t low = std::min(open, close) - tick * static_cast<std::int64_t>(rng() % 10);
        b.ts.push_back(ts);
        b.open.push_back(open);
        b.high.push_back(high);
        b.low.push_back(low);
        b.close.push_back(close);
        b.volume.push_back(static_cast<std::int64_t>(rng() % 1'000'000'000'000));
        px = close;
    }
    return b;
}

/// Arbitrary int64 in every column, edge values over-represented; no ordering at all.
BarColumns random_edges(std::mt19937_64& rng, std::size_t n) {
    const std::int64_t specials[] = {INT64_MIN, INT64_MAX, 0, -1, 1, INT64_MIN + 1, INT64_MAX - 1, 1LL << 62};
    BarColumns b;
    for (auto* c : {&b.ts, &b.open, &b.high, &b.low, &b.close, &b.volume})
        for (std::size_t i = 0; i < n; ++i)
            c->push_back(rng() % 3 == 0 ? specials[rng() % std::size(specials)] : static_cast<std::int64_t>(rng()));
    return b;
}

BarColumns constant(std::size_t n, std::int64_t v) {
    BarColumns b;
    for (auto* c : {&b.ts, &b.open, &b.high, &b.low, &b.close, &b.volume}) c->assign(n, v);
    return b;
}

/// Negative prices (spreads, some energy futures), monotonic ts before and after 1970.
BarColumns negative_prices(std::mt19937_64& rng, std::size_t n) {
    auto b = random_walk(rng, n, -3700);
    for (std::size_t i = 0; i < n; ++i) b.ts[i] = -static_cast<std::int64_t>(n) * kMin + static_cast<std::int64_t>(i) * kMin;
    return b;
}

/// All options a column may take: every allowed (column, transform), both packings.
std::vector<EncodeOptions> option_sets(std::mt19937_64& rng) {
    std::vector<EncodeOptions> out;
    for (bool varint : {false, true}) {
        EncodeOptions d;
        d.varint = varint;
        out.push_back(d);
        EncodeOptions plain = d, delta = d;
        plain.transforms.fill(Transform::plain);
        delta.transforms.fill(Transform::delta);
        out.push_back(plain);
        out.push_back(delta);
        // A random allowed mix.
        const Transform special[6] = {Transform::delta2, Transform::from_prev_close, Transform::above_body,
                                      Transform::below_body, Transform::from_open, Transform::plain};
        EncodeOptions mix = d;
        for (std::size_t c = 0; c < 6; ++c) {
            const auto k = rng() % 3;
            mix.transforms[c] = k == 0 ? Transform::plain : k == 1 ? Transform::delta : special[c];
        }
        mix.zstd_level = 1 + static_cast<int>(rng() % 5);
        out.push_back(mix);
    }
    return out;
}

BarColumns slice(const BarColumns& b, std::size_t first, std::size_t last) {
    BarColumns s;
    s.append(b, first, last);
    return s;
}

BarColumns from_spec(const reference::SpecColumns& s) {
    BarColumns b;
    b.ts = s.col[0];
    b.open = s.col[1];
    b.high = s.col[2];
    b.low = s.col[3];
    b.close = s.col[4];
    b.volume = s.col[5];
    return b;
}


/// Recomputes the checksum after a deliberate edit (docs/format.md: XXH3-64 of [0,32) ++ [40,end)).
void reseal(Bytes& b) {
    Bytes covered(b.begin(), b.begin() + 32);
    covered.insert(covered.end(), b.begin() + 40, b.end());
    const std::uint64_t h = XXH3_64bits(covered.data(), covered.size());
    for (int i = 0; i < 8; ++i) b[32 + static_cast<std::size_t>(i)] = static_cast<std::byte>(h >> (8 * i));
}

/// A few rows that must survive any failed decode untouched.
BarColumns sentinel() {
    BarColumns s;
    s.push_back({barstore::Timestamp{barstore::Duration{7}}, 1, 2, 3, 4, 5});
    s.push_back({barstore::Timestamp{barstore::Duration{8}}, -1, -2, -3, -4, -5});
    return s;
}

/// decode_chunk must throw CorruptData and leave `out` as it was.
void check_rejected(const Bytes& b) {
    BarColumns out = sentinel();
    CHECK_THROWS_AS(codec::decode_chunk(b, out), CorruptData);
    CHECK(out == sentinel());
}

/// Encodes rows [first, last) twice, decodes into a non-empty output with the product and with
/// the spec reference, and checks all of it.
void check_round_trip(const BarColumns& b, std::size_t first, std::size_t last, const EncodeOptions& o) {
    const Bytes e1 = codec::encode_chunk(b, first, last, o);
    const Bytes e2 = codec::encode_chunk(b, first, last, o);
    CHECK(e1 == e2);  // deterministic
    const auto want = slice(b, first, last);
    const auto h = codec::read_chunk_header(e1);
    CHECK(h.rows == last - first);
    CHECK(h.first_ts == b.ts[first]);
    CHECK(h.last_ts == b.ts[last - 1]);
    for (std::size_t c = 0; c < 6; ++c) CHECK(h.columns[c].transform == o.transforms[c]);

    BarColumns out = sentinel();
    codec::decode_chunk(e1, out);
    BarColumns expect = sentinel();
    expect.append(want, 0, want.size());
    CHECK(diff(out, expect) == "");

    BarColumns spec;
    try {
        spec = from_spec(reference::decode_chunk_per_spec(e1));
    } catch (const std::exception& e) {
        FAIL_CHECK("spec decoder rejected the chunk: " << e.what());
    }
    CHECK(diff(spec, want) == "");
}

Bytes read_file(const std::filesystem::path& p) {
    const auto s = test::read_text(p);
    Bytes b(s.size());
    std::memcpy(b.data(), s.data(), s.size());
    return b;
}

BarColumns read_expected_csv(const std::filesystem::path& p) {
    std::istringstream in(test::read_text(p));
    std::string line;
    std::getline(in, line);
    REQUIRE(line == "ts,open,high,low,close,volume");
    BarColumns b;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        std::istringstream f(line);
        std::string cell;
        std::vector<std::int64_t> v;
        while (std::getline(f, cell, ',')) v.push_back(std::stoll(cell));
        REQUIRE(v.size() == 6);
        b.push_back({barstore::Timestamp{barstore::Duration{v[0]}}, v[1], v[2], v[3], v[4], v[5]});
    }
    return b;
}

}  // namespace

// ---- kernels ---------------------------------------------------------------------------------------

TEST_CASE("zigzag maps small magnitudes to small values and round-trips every int64") {
    CHECK(codec::zigzag(0) == 0u);
    CHECK(codec::zigzag(-1) == 1u);
    CHECK(codec::zigzag(1) == 2u);
    CHECK(codec::zigzag(-2) == 3u);
    CHECK(codec::zigzag(2) == 4u);
    CHECK(codec::zigzag(INT64_MAX) == UINT64_MAX - 1);
    CHECK(codec::zigzag(INT64_MIN) == UINT64_MAX);
    static_assert(codec::unzigzag(UINT64_MAX) == INT64_MIN);
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 100000; ++i) {
        const auto v = static_cast<std::int64_t>(rng() >> (rng() % 64));
        const std::int64_t s = rng() % 2 ? v : -v;
        // Reference: 2s for s >= 0, 2|s| - 1 = 2(-(s + 1)) + 1 below (no overflow at INT64_MIN).
        const std::uint64_t want = s >= 0 ? 2 * static_cast<std::uint64_t>(s) : 2 * static_cast<std::uint64_t>(-(s + 1)) + 1;
        CHECK(codec::zigzag(s) == want);
        CHECK(codec::unzigzag(codec::zigzag(s)) == s);
    }
}

TEST_CASE("byte_width and shuffle_pack lay out little-endian byte planes, and unpack inverts") {
    const std::vector<std::uint64_t> none;
    CHECK(codec::byte_width(none) == 0);
    CHECK(codec::byte_width(std::vector<std::uint64_t>{0, 0}) == 0);
    CHECK(codec::byte_width(std::vector<std::uint64_t>{1}) == 1);
    CHECK(codec::byte_width(std::vector<std::uint64_t>{255, 3}) == 1);
    CHECK(codec::byte_width(std::vector<std::uint64_t>{256}) == 2);
    CHECK(codec::byte_width(std::vector<std::uint64_t>{1ull << 56}) == 8);
    CHECK(codec::byte_width(std::vector<std::uint64_t>{UINT64_MAX}) == 8);
    {
        Bytes out{std::byte{0xAA}};  // appends after what is there
        codec::shuffle_pack(std::vector<std::uint64_t>{0x0102, 0x0304, 0x05}, 2, out);
        const Bytes want = {std::byte{0xAA}, std::byte{0x02}, std::byte{0x04}, std::byte{0x05},
                            std::byte{0x01}, std::byte{0x03}, std::byte{0x00}};
        CHECK(out == want);
    }
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int iter = 0; iter < 300; ++iter) {
        const std::size_t n = rng() % 300;
        const unsigned bits = static_cast<unsigned>(rng() % 65);
        std::vector<std::uint64_t> v(n);
        for (auto& x : v) x = bits == 0 ? 0 : rng() >> (64 - bits);
        const unsigned w = codec::byte_width(v);
        std::uint64_t all = 0;
        for (auto x : v) all |= x;
        unsigned want_w = 0;
        while (want_w < 8 && (all >> (8 * want_w)) != 0) ++want_w;
        CHECK(w == want_w);
        Bytes packed;
        codec::shuffle_pack(v, w, packed);
        REQUIRE(packed.size() == n * w);
        for (std::size_t i = 0; i < n; ++i)
            for (unsigned p = 0; p < w; ++p)
                CHECK(packed[p * n + i] == static_cast<std::byte>(v[i] >> (8 * p)));
        std::vector<std::uint64_t> back(n, 0xDEADBEEF);
        codec::shuffle_unpack(packed, w, back);
        CHECK(back == v);
    }
}

TEST_CASE("varint_pack writes LEB128 and varint_unpack accepts exactly well-formed input") {
    auto pack = [](std::vector<std::uint64_t> v) {
        Bytes out;
        codec::varint_pack(v, out);
        std::vector<int> r;
        for (auto b : out) r.push_back(static_cast<int>(b));
        return r;
    };
    CHECK(pack({0}) == std::vector<int>{0x00});
    CHECK(pack({1}) == std::vector<int>{0x01});
    CHECK(pack({127}) == std::vector<int>{0x7F});
    CHECK(pack({128}) == std::vector<int>{0x80, 0x01});
    CHECK(pack({300}) == std::vector<int>{0xAC, 0x02});
    CHECK(pack({16384}) == std::vector<int>{0x80, 0x80, 0x01});
    CHECK(pack({UINT64_MAX}) == std::vector<int>{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01});
    CHECK(pack({1, 128}) == std::vector<int>{0x01, 0x80, 0x01});

    auto unpack = [](std::vector<int> bytes, std::size_t n) -> std::optional<std::vector<std::uint64_t>> {
        Bytes in;
        for (int b : bytes) in.push_back(static_cast<std::byte>(b));
        std::vector<std::uint64_t> v(n);
        if (!codec::varint_unpack(in, v)) return std::nullopt;
        return v;
    };
    CHECK(unpack({0xAC, 0x02}, 1) == std::vector<std::uint64_t>{300});
    CHECK(unpack({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, 1) == std::vector<std::uint64_t>{UINT64_MAX});
    CHECK(unpack({}, 0) == std::vector<std::uint64_t>{});
    CHECK(unpack({0x80}, 1) == std::nullopt);              // cut inside a value
    CHECK(unpack({0x01}, 2) == std::nullopt);              // too few values
    CHECK(unpack({0x01, 0x02}, 1) == std::nullopt);        // bytes left over
    CHECK(unpack({}, 1) == std::nullopt);
    CHECK(unpack({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0x01}, 1) == std::nullopt);  // 11 bytes
    // A 10th byte carrying more than bit 63 describes a value past 2^64: not a u64 varint.
    CHECK(unpack({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02}, 1) == std::nullopt);
    CHECK(unpack({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7F}, 1) == std::nullopt);

    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int iter = 0; iter < 300; ++iter) {
        std::vector<std::uint64_t> v(rng() % 200);
        for (auto& x : v) x = rng() >> (rng() % 64);
        Bytes packed;
        codec::varint_pack(v, packed);
        // Reference size: ceil(bits / 7), at least 1.
        std::size_t want_size = 0;
        for (auto x : v) {
            std::size_t k = 1;
            while (k < 10 && (x >> (7 * k)) != 0) ++k;
            want_size += k;
        }
        CHECK(packed.size() == want_size);
        std::vector<std::uint64_t> back(v.size());
        CHECK(codec::varint_unpack(packed, back));
        CHECK(back == v);
        if (!packed.empty()) {
            Bytes cut(packed.begin(), packed.end() - 1);
            CHECK_FALSE(codec::varint_unpack(cut, back));
        }
    }
}

// ---- chunk round trips ---------------------------------------------------------------------------

TEST_CASE("encode_chunk/decode_chunk round-trip random walks at every interesting size") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto opts = option_sets(rng);
    for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{127}, kChunkRows - 1, kChunkRows,
                          kChunkRows + 1, std::size_t{5000}}) {
        CAPTURE(n);
        // Rows [3, 3 + n) of a longer series: the encoder must honour `first`.
        const auto b = random_walk(rng, n + 5);
        for (std::size_t k = 0; k < opts.size(); ++k) {
            CAPTURE(k);
            check_round_trip(b, 3, 3 + n, opts[k]);
        }
    }
}

TEST_CASE("encode_chunk/decode_chunk round-trip INT64_MIN/MAX, constants, negatives and huge gaps") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto opts = option_sets(rng);
    std::vector<std::pair<std::string, BarColumns>> cases;
    for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{64}, kChunkRows + 1}) {
        cases.emplace_back("edges " + std::to_string(n), random_edges(rng, n));
        cases.emplace_back("negative prices " + std::to_string(n), negative_prices(rng, n));
        for (std::int64_t v : {std::int64_t{0}, INT64_MIN, INT64_MAX, std::int64_t{-1}, std::int64_t{4631900}})
            cases.emplace_back("constant " + std::to_string(v) + " x" + std::to_string(n), constant(n, v));
    }
    // Every column holding only INT64_MIN and INT64_MAX, alternating.
    BarColumns alt;
    for (int i = 0; i < 100; ++i)
        for (auto* c : {&alt.ts, &alt.open, &alt.high, &alt.low, &alt.close, &alt.volume})
            c->push_back(i % 2 ? INT64_MAX : INT64_MIN);
    cases.emplace_back("alternating extremes", alt);
    // Timestamps spanning the whole int64 range in two steps.
    BarColumns gaps = constant(3, 5);
    gaps.ts = {INT64_MIN, 0, INT64_MAX};
    cases.emplace_back("gaps of 2^63", gaps);
    for (const auto& [name, b] : cases) {
        CAPTURE(name);
        for (std::size_t k = 0; k < opts.size(); ++k) {
            CAPTURE(k);
            check_round_trip(b, 0, b.size(), opts[k]);
        }
    }
}

TEST_CASE("every open/close/high/low transform combination round-trips across decode blocks, appended or replacing") {
    // The decoder works in blocks of rows and rebuilds open and close row by row when they
    // depend on each other: every combination, at sizes around the block size, both packings,
    // each decoded into a buffer that held another chunk (the replacing path a read reuses).
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const Transform opens[] = {Transform::plain, Transform::delta, Transform::from_prev_close};
    const Transform closes[] = {Transform::plain, Transform::delta, Transform::from_open};
    const Transform highs[] = {Transform::plain, Transform::delta, Transform::above_body};
    const Transform lows[] = {Transform::plain, Transform::delta, Transform::below_body};
    BarColumns reused;
    for (std::size_t n : {std::size_t{1}, std::size_t{255}, std::size_t{256}, std::size_t{257}, std::size_t{1000},
                          kChunkRows - 1, kChunkRows}) {
        CAPTURE(n);
        const auto b = rng() % 2 ? random_walk(rng, n) : negative_prices(rng, n);
        for (const bool varint : {false, true})
            for (const auto o : opens)
                for (const auto c : closes)
                    for (const auto h : highs)
                        for (const auto l : lows) {
                            EncodeOptions opts;
                            opts.varint = varint;
                            opts.transforms = {rng() % 2 ? Transform::delta2 : Transform::delta, o, h, l, c,
                                               rng() % 2 ? Transform::plain : Transform::delta};
                            const std::string what = "varint " + std::to_string(varint) + " transforms " +
                                                     std::to_string(static_cast<int>(o)) + std::to_string(static_cast<int>(h)) +
                                                     std::to_string(static_cast<int>(l)) + std::to_string(static_cast<int>(c));
                            CAPTURE(what);
                            check_round_trip(b, 0, n, opts);
                            codec::decode_chunk_replacing(codec::encode_chunk(b, 0, n, opts), reused);
                            CHECK(diff(reused, b) == "");
                        }
    }
}

TEST_CASE("the default encoder writes what docs/format.md says version 1 writes") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto b = random_walk(rng, 1000);
    const auto bytes = codec::encode_chunk(b, 0, b.size());
    const auto h = codec::read_chunk_header(bytes);
    const Transform want[6] = {Transform::delta2,     Transform::from_prev_close, Transform::above_body,
                               Transform::below_body, Transform::from_open,       Transform::plain};
    for (std::size_t c = 0; c < 6; ++c) {
        CAPTURE(c);
        CHECK(h.columns[c].transform == want[c]);
        CHECK(h.columns[c].divisor >= 1);
        CHECK((h.columns[c].packing == codec::Packing::shuffle_zigzag ||
               h.columns[c].packing == codec::Packing::shuffle_unsigned));
        CHECK(h.columns[c].packed_bytes == b.size() * h.columns[c].width);
    }
    CHECK(h.columns[0].base == b.ts[0]);
    CHECK(h.columns[1].base == b.open[0]);
    CHECK(h.columns[5].base == *std::min_element(b.volume.begin(), b.volume.end()));
    // high >= max(open, close) always: above_body residuals are >= 0, so no zigzag.
    CHECK(h.columns[2].packing == codec::Packing::shuffle_unsigned);
    CHECK(h.columns[3].packing == codec::Packing::shuffle_unsigned);
    CHECK(h.columns[0].divisor % static_cast<std::uint64_t>(kMin) == 0);
    CHECK(bytes.size() == codec::kHeaderBytes + h.payload_bytes);
    CHECK(std::memcmp(bytes.data(), "BSCK", 4) == 0);
}

TEST_CASE("encode_chunk rejects empty or out-of-range row ranges and disallowed transforms") {
    std::mt19937_64 rng(1);
    const auto b = random_walk(rng, 10);
    CHECK_THROWS_AS(codec::encode_chunk(b, 0, 0), InvalidInput);
    CHECK_THROWS_AS(codec::encode_chunk(b, 5, 5), InvalidInput);
    CHECK_THROWS_AS(codec::encode_chunk(b, 6, 5), InvalidInput);
    CHECK_THROWS_AS(codec::encode_chunk(b, 0, 11), InvalidInput);
    CHECK_THROWS_AS(codec::encode_chunk(BarColumns{}, 0, 1), InvalidInput);
    const Transform special[6] = {Transform::delta2,     Transform::from_prev_close, Transform::above_body,
                                  Transform::below_body, Transform::from_open,       Transform::plain};
    for (std::size_t c = 0; c < 6; ++c) {
        for (std::size_t t = 2; t <= 6; ++t) {
            EncodeOptions o;
            o.transforms[c] = static_cast<Transform>(t);
            const bool allowed = special[c] == static_cast<Transform>(t);
            CAPTURE(c);
            CAPTURE(t);
            if (allowed) CHECK_NOTHROW(codec::encode_chunk(b, 0, 10, o));
            else CHECK_THROWS_AS(codec::encode_chunk(b, 0, 10, o), InvalidInput);
        }
    }
}

// ---- corruption ---------------------------------------------------------------------------------------

TEST_CASE("flipping any byte of a small chunk is CorruptData and leaves the output unchanged") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    std::vector<Bytes> chunks;
    const auto walk = random_walk(rng, 40);
    chunks.push_back(codec::encode_chunk(walk, 0, 40));
    EncodeOptions v;
    v.varint = true;
    chunks.push_back(codec::encode_chunk(walk, 0, 40, v));
    const auto edges = random_edges(rng, 5);
    chunks.push_back(codec::encode_chunk(edges, 0, 5));
    chunks.push_back(codec::encode_chunk(constant(1, 0), 0, 1));
    for (std::size_t k = 0; k < chunks.size(); ++k) {
        const auto& good = chunks[k];
        CAPTURE(k);
        for (std::size_t pos = 0; pos < good.size(); ++pos) {
            for (unsigned mask : {0x01u, 0x80u, 0xFFu, static_cast<unsigned>(1 + rng() % 255)}) {
                CAPTURE(pos);
                CAPTURE(mask);
                Bytes bad = good;
                bad[pos] ^= static_cast<std::byte>(mask);
                check_rejected(bad);
            }
        }
    }
}

TEST_CASE("flipping sampled bytes of a full chunk is CorruptData and leaves the output unchanged") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto b = random_walk(rng, kChunkRows + 1);
    for (bool varint : {false, true}) {
        EncodeOptions o;
        o.varint = varint;
        const Bytes good = codec::encode_chunk(b, 0, b.size(), o);
        std::vector<std::size_t> positions;
        for (std::size_t p = 0; p < codec::kHeaderBytes; ++p) positions.push_back(p);  // every header byte
        for (int i = 0; i < 1500; ++i) positions.push_back(rng() % good.size());
        positions.push_back(good.size() - 1);
        for (std::size_t pos : positions) {
            CAPTURE(pos);
            Bytes bad = good;
            bad[pos] ^= static_cast<std::byte>(1u << (rng() % 8));
            check_rejected(bad);
        }
    }
}

TEST_CASE("every truncation and any extension of a chunk is CorruptData") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto small = random_walk(rng, 30);
    const Bytes s = codec::encode_chunk(small, 0, small.size());
    for (std::size_t len = 0; len < s.size(); ++len) {
        CAPTURE(len);
        check_rejected(Bytes(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(len)));
        if (len >= codec::kHeaderBytes) continue;
        CHECK_THROWS_AS(codec::read_chunk_header(Bytes(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(len))),
                        CorruptData);
    }
    const auto big = random_walk(rng, kChunkRows);
    const Bytes g = codec::encode_chunk(big, 0, big.size());
    for (int i = 0; i < 300; ++i) {
        const std::size_t len = rng() % g.size();
        CAPTURE(len);
        check_rejected(Bytes(g.begin(), g.begin() + static_cast<std::ptrdiff_t>(len)));
    }
    for (const Bytes* c : {&s, &g}) {
        Bytes longer = *c;
        longer.push_back(std::byte{0});
        check_rejected(longer);
        Bytes doubled = *c;
        doubled.insert(doubled.end(), c->begin(), c->end());
        check_rejected(doubled);
    }
}

TEST_CASE("header edits with a valid checksum are still caught by the structural checks") {
    std::mt19937_64 rng(7);
    const auto b = random_walk(rng, 20);
    EncodeOptions v;
    v.varint = true;
    const Bytes good = codec::encode_chunk(b, 0, b.size());
    const Bytes good_varint = codec::encode_chunk(b, 0, b.size(), v);
    auto edit = [](Bytes c, std::size_t pos, std::uint8_t value) {
        c[pos] = static_cast<std::byte>(value);
        reseal(c);
        return c;
    };
    auto add_to_i64 = [](Bytes c, std::size_t pos, std::int64_t delta) {
        std::int64_t x;
        std::memcpy(&x, c.data() + pos, 8);
        x += delta;
        std::memcpy(c.data() + pos, &x, 8);
        reseal(c);
        return c;
    };
    const std::size_t d0 = codec::kFixedHeaderBytes;  // ts descriptor
    SUBCASE("a resealed copy of a good chunk still decodes") {
        Bytes same = good;
        reseal(same);
        CHECK(same == good);
    }
    SUBCASE("first or last ts that the data does not reproduce") {
        check_rejected(add_to_i64(good, 16, 1));
        check_rejected(add_to_i64(good, 24, -1));
        check_rejected(add_to_i64(good_varint, 16, kMin));
    }
    SUBCASE("ids out of range or not allowed for the column") {
        check_rejected(edit(good, 4, 2));                       // version 2
        check_rejected(edit(good, 6, 231));                     // header size
        check_rejected(edit(good, d0 + 0, 3));                  // from_prev_close on ts
        check_rejected(edit(good, d0 + 0, 7));                  // no such transform
        check_rejected(edit(good, d0 + 32 * 5 + 0, 2));         // delta2 on volume
        check_rejected(edit(good, d0 + 32 * 2 + 0, 5));         // below_body on high
        check_rejected(edit(good, d0 + 1, 0));                  // packing 0
        check_rejected(edit(good, d0 + 1, 5));                  // packing 5
        check_rejected(edit(good, d0 + 3, 2));                  // compression 2
        check_rejected(edit(good, d0 + 12, 1));                 // reserved
        check_rejected(edit(good, d0 + 2, 9));                  // width 9
    }
    SUBCASE("sizes that disagree") {
        Bytes zero_rows = good;
        std::memset(zero_rows.data() + 8, 0, 4);
        reseal(zero_rows);
        check_rejected(zero_rows);
        Bytes zero_div = good;
        std::memset(zero_div.data() + d0 + 24, 0, 8);
        reseal(zero_div);
        check_rejected(zero_div);
        check_rejected(edit(good, 8, 21));  // rows 21 with 20 rows of data
        Bytes bad_payload = good;
        bad_payload[12] = static_cast<std::byte>(static_cast<unsigned>(bad_payload[12]) + 1);
        reseal(bad_payload);
        check_rejected(bad_payload);
    }
    SUBCASE("a varint column whose last value never ends") {
        // Find a column stored raw (compression 0) and set the continuation bit on its last byte.
        std::size_t pos = codec::kHeaderBytes;
        bool found = false;
        for (std::size_t c = 0; c < 6 && !found; ++c) {
            const auto h = codec::read_chunk_header(good_varint);
            const auto& d = h.columns[c];
            pos += d.stored_bytes;
            if (d.compression == codec::Compression::none) {
                Bytes bad = good_varint;
                bad[pos - 1] |= std::byte{0x80};
                reseal(bad);
                check_rejected(bad);
                found = true;
            }
        }
        CHECK(found);
    }
}

TEST_CASE("random resealed header mutations either decode or throw CorruptData, never anything else") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto b = random_walk(rng, 64);
    std::vector<Bytes> goods = {codec::encode_chunk(b, 0, b.size())};
    EncodeOptions v;
    v.varint = true;
    goods.push_back(codec::encode_chunk(b, 0, b.size(), v));
    int rejected = 0;
    for (int iter = 0; iter < 4000; ++iter) {
        Bytes bad = goods[static_cast<std::size_t>(iter % 2)];
        const int edits = 1 + static_cast<int>(rng() % 3);
        for (int e = 0; e < edits; ++e) {
            // Skip the rows field's high bytes: a resealed chunk claiming 4e9 rows of width 0
            // is a legal (huge) chunk, not a corrupt one.
            std::size_t pos = 4 + rng() % (codec::kHeaderBytes - 4);
            if (pos >= 9 && pos < 12) pos = 16 + rng() % 16;
            bad[pos] ^= static_cast<std::byte>(1 + rng() % 255);
        }
        reseal(bad);
        CAPTURE(iter);
        BarColumns out = sentinel();
        try {
            codec::decode_chunk(bad, out);
        } catch (const CorruptData&) {
            ++rejected;
            CHECK(out == sentinel());
        } catch (const std::exception& e) {
            FAIL_CHECK("unexpected exception: " << e.what());
        }
    }
    CHECK(rejected > 3000);
}

// ---- golden chunks -----------------------------------------------------------------------------------

TEST_CASE("golden chunks keep decoding to their recorded values") {
    const auto dir = test::tests_dir() / "golden";
    int checked = 0;
    for (const char* name : {"chunk-v1-btc", "chunk-v1-edge", "chunk-v1-varint"}) {
        const std::string n = name;
        CAPTURE(n);
        const auto bin = dir / (n + ".bin"), csv = dir / (n + ".csv");
        REQUIRE(std::filesystem::exists(bin));
        REQUIRE(std::filesystem::exists(csv));
        const Bytes bytes = read_file(bin);
        const BarColumns want = read_expected_csv(csv);
        REQUIRE(want.size() > 0);
        const auto h = codec::read_chunk_header(bytes);
        CHECK(h.version == 1);
        CHECK(h.rows == want.size());
        CHECK(h.first_ts == want.ts.front());
        CHECK(h.last_ts == want.ts.back());
        BarColumns got = sentinel();
        codec::decode_chunk(bytes, got);
        BarColumns expect = sentinel();
        expect.append(want, 0, want.size());
        CHECK(diff(got, expect) == "");
        CHECK(diff(from_spec(reference::decode_chunk_per_spec(bytes)), want) == "");
        ++checked;
    }
    CHECK(checked == 3);
}

TEST_CASE("every golden chunk has its expected values, and the folder stays small") {
    // A new format version adds files here; this guards against an accidental rewrite or bloat.
    std::uintmax_t total = 0;
    int bins = 0;
    for (const auto& e : std::filesystem::directory_iterator(test::tests_dir() / "golden")) {
        total += e.file_size();
        bins += e.path().extension() == ".bin";
        if (e.path().extension() == ".bin") {
            auto csv = e.path();
            csv.replace_extension(".csv");
            CHECK(std::filesystem::exists(csv));
        }
    }
    CHECK(bins >= 3);
    CHECK(total < 100 * 1024);
}
