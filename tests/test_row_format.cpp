// tests/test_row_format.cpp: the library's printers of decimals and times, write_decimal and
// write_time (query's cells, through cli/row_format) and format_decimal/format_time (the same
// code as strings), against hand-worked edges and against the naive oracles of tests/reference
// (integer division; calendar counted year by year) on random values (seed printed on failure,
// BARSTORE_SEED replays). Then query's output buffer.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <random>
#include <string>

#include "barstore/decimal.hpp"
#include "barstore/time.hpp"
#include "reference/naive_decimal.hpp"
#include "reference/naive_time.hpp"
#include "row_format.hpp"
#include "support/util.hpp"

using barstore::cli::kMaxDecimalChars;
using barstore::cli::kMaxTimeChars;

namespace {

/// write_decimal's text, checked to stay inside its stated bound, and equal to format_decimal's.
std::string dec(std::int64_t m, int d) {
    char buf[64];
    const char* end = barstore::cli::write_decimal(buf, m, d);
    REQUIRE(static_cast<std::size_t>(end - buf) <= kMaxDecimalChars);
    std::string text(buf, static_cast<std::size_t>(end - buf));
    REQUIRE(text == barstore::format_decimal(m, d));
    return text;
}

/// write_time's text (through the CLI's ns overload), bounded, and equal to format_time's.
std::string tim(std::int64_t ns) {
    char buf[64];
    const char* end = barstore::cli::write_time(buf, ns);
    REQUIRE(static_cast<std::size_t>(end - buf) <= kMaxTimeChars);
    std::string text(buf, static_cast<std::size_t>(end - buf));
    REQUIRE(text == barstore::format_time(barstore::Timestamp{barstore::Duration{ns}}));
    return text;
}

constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

}  // namespace

TEST_CASE("write_decimal: edges worked by hand") {
    CHECK(dec(0, 0) == "0");
    CHECK(dec(0, 18) == "0");
    CHECK(dec(7, 0) == "7");
    CHECK(dec(-7, 0) == "-7");
    CHECK(dec(13023, 2) == "130.23");
    CHECK(dec(13020, 2) == "130.2");
    CHECK(dec(13000, 2) == "130");
    CHECK(dec(-13000, 2) == "-130");
    CHECK(dec(5, 2) == "0.05");
    CHECK(dec(-5, 2) == "-0.05");
    CHECK(dec(50, 2) == "0.5");
    CHECK(dec(100, 2) == "1");
    CHECK(dec(1, 18) == "0.000000000000000001");
    CHECK(dec(-1, 18) == "-0.000000000000000001");
    CHECK(dec(1'000'000'000'000'000'000, 18) == "1");
    CHECK(dec(kMax, 0) == "9223372036854775807");
    CHECK(dec(kMin, 0) == "-9223372036854775808");
    CHECK(dec(kMax, 18) == "9.223372036854775807");
    CHECK(dec(kMin, 18) == "-9.223372036854775808");
    CHECK(dec(kMin, 10) == "-922337203.6854775808");
    CHECK(dec(10, 1) == "1");
    CHECK(dec(99, 1) == "9.9");
    CHECK(dec(100, 3) == "0.1");
}

TEST_CASE("write_time: edges worked by hand") {
    CHECK(tim(0) == "1970-01-01T00:00:00Z");
    CHECK(tim(1) == "1970-01-01T00:00:00.000000001Z");
    CHECK(tim(-1) == "1969-12-31T23:59:59.999999999Z");
    CHECK(tim(-1'000'000'000) == "1969-12-31T23:59:59Z");
    CHECK(tim(1'500'000'000) == "1970-01-01T00:00:01.5Z");
    CHECK(tim(1'641'081'600'000'000'000) == "2022-01-02T00:00:00Z");
    CHECK(tim(951'782'400'000'000'000) == "2000-02-29T00:00:00Z");
    CHECK(tim(kMin) == "1677-09-21T00:12:43.145224192Z");
    CHECK(tim(kMax) == "2262-04-11T23:47:16.854775807Z");
}

TEST_CASE("format_decimal: scales no series has print as they always did") {
    // Negative: the mantissa as it is. Beyond 18: "0." and zeros; longer than kMaxDecimalChars.
    CHECK(barstore::format_decimal(12345, -3) == "12345");
    CHECK(barstore::format_decimal(-12345, -1) == "-12345");
    CHECK(barstore::format_decimal(0, -1) == "0");
    CHECK(barstore::format_decimal(0, 30) == "0");
    CHECK(barstore::format_decimal(1, 19) == "0.0000000000000000001");
    CHECK(barstore::format_decimal(kMin, 19) == "-0.9223372036854775808");
    CHECK(barstore::format_decimal(-120, 30) == "-0.00000000000000000000000000012");
    CHECK(barstore::format_decimal(kMax, 40) == "0.0000000000000000000009223372036854775807");
}

TEST_CASE("write_decimal and write_time equal the naive oracles on random values") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    // Mantissas of every length (a random bit count), signs, and every scale; times anywhere in
    // int64, and near round seconds and days, where the fraction and the date roll over.
    for (int k = 0; k < 200'000; ++k) {
        const int bits = static_cast<int>(rng() % 64);
        std::int64_t m = static_cast<std::int64_t>(rng() >> (63 - bits));
        if (rng() % 2) m = m == kMin ? m : -m;
        if (rng() % 50 == 0) m = rng() % 2 ? kMin : kMax;
        const int d = static_cast<int>(rng() % 19);
        CAPTURE(m);
        CAPTURE(d);
        REQUIRE(dec(m, d) == reference::format(m, d));
        if (k % 20 == 0) {
            // Scales outside 0..18 (format_decimal's own branch): the oracle reads a negative
            // scale as 0.
            const int odd = static_cast<int>(rng() % 40) - 10;
            if (odd < 0 || odd > 18) REQUIRE(barstore::format_decimal(m, odd) == reference::format(m, odd < 0 ? 0 : odd));
        }

        std::int64_t t = static_cast<std::int64_t>(rng());
        switch (rng() % 4) {
            case 0: break;
            case 1: t = t / 1'000'000'000 * 1'000'000'000; break;
            case 2: t = t / 86'400'000'000'000 * 86'400'000'000'000 + static_cast<std::int64_t>(rng() % 3) - 1; break;
            default: t = t / 60'000'000'000 * 60'000'000'000; break;
        }
        CAPTURE(t);
        REQUIRE(tim(t) == reference::iso(t));
    }
}

TEST_CASE("OutBuffer: what is written comes out in order, across flushes, and unflushed bytes are dropped") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    std::FILE* f = std::tmpfile();
    REQUIRE(f);
    std::string expected;
    {
        auto out = std::make_unique<barstore::cli::OutBuffer>(f);
        for (int k = 0; k < 2000; ++k) {
            if (rng() % 2) {
                // put(): pieces up to twice the buffer.
                const std::string piece(rng() % (2 * barstore::cli::OutBuffer::kBufferBytes), static_cast<char>('a' + k % 26));
                out->put(piece);
                expected += piece;
            } else {
                char* p = out->room(kMaxDecimalChars);
                char* e = barstore::cli::write_decimal(p, static_cast<std::int64_t>(rng()), 2);
                expected.append(p, e);
                out->end(e);
            }
        }
        out->flush();
        out->put("never flushed");  // dropped with the buffer
    }
    std::fflush(f);
    std::rewind(f);
    std::string got(expected.size() + 100, '\0');
    got.resize(std::fread(got.data(), 1, got.size(), f));
    std::fclose(f);
    CHECK(got.size() == expected.size());
    CHECK(got == expected);
}
