// tests/test_core.cpp: exact decimals, the symbol rule and BarColumns helpers, each checked
// against a plain reference (tests/reference/naive_decimal.hpp, a strict UTF-8 validator here).
#include <doctest/doctest.h>

#include <algorithm>
#include <climits>
#include <random>
#include <string>
#include <vector>

#include "barstore/decimal.hpp"
#include "barstore/error.hpp"
#include "barstore/types.hpp"
#include "reference/naive_decimal.hpp"
#include "support/util.hpp"

using barstore::Decimal;
using barstore::format_decimal;
using barstore::parse_decimal;
using barstore::rescale;

namespace {

/// "mantissa@decimals" or "nullopt", so failures print both fields.
std::string show(const std::optional<Decimal>& d) {
    return d ? std::to_string(d->mantissa) + "@" + std::to_string(d->decimals) : "nullopt";
}
std::string show(std::int64_t m, int dec) { return std::to_string(m) + "@" + std::to_string(dec); }

/// Strict RFC 3629 UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF) of printable
/// characters: no C0 controls, no DEL, no C1 controls (U+0080..U+009F).
bool reference_symbol_ok(const std::string& s) {
    if (s.empty() || s.size() > 64) return false;
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b0 = static_cast<unsigned char>(s[i]);
        std::uint32_t cp = 0;
        std::size_t len = 0;
        std::uint32_t min = 0;
        if (b0 < 0x80) cp = b0, len = 1, min = 0;
        else if (b0 >= 0xC0 && b0 < 0xE0) cp = b0 & 0x1Fu, len = 2, min = 0x80;
        else if (b0 >= 0xE0 && b0 < 0xF0) cp = b0 & 0x0Fu, len = 3, min = 0x800;
        else if (b0 >= 0xF0 && b0 < 0xF8) cp = b0 & 0x07u, len = 4, min = 0x10000;
        else return false;
        if (i + len > s.size()) return false;
        for (std::size_t k = 1; k < len; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (b & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) return false;
        i += len;
    }
    return true;
}

bool accepts(const std::string& s) {
    try {
        barstore::validate_symbol(s);
        return true;
    } catch (const barstore::InvalidInput&) {
        return false;
    }
}

}  // namespace

// ---- parse_decimal / format_decimal ------------------------------------------------------------

TEST_CASE("parse_decimal reads plain decimals exactly") {
    struct Case {
        const char* text;
        std::int64_t mantissa;
        int decimals;
    };
    for (const Case c : {Case{"130.23", 13023, 2}, Case{"46319.0", 463190, 1}, Case{"-0.5", -5, 1},
                         Case{"0", 0, 0}, Case{"-0", 0, 0}, Case{"+7", 7, 0}, Case{"127", 127, 0},
                         Case{"0.000000000000000001", 1, 18}, Case{"1.", 1, 0}, Case{".5", 5, 1},
                         Case{"2300413.7295", 23004137295, 4}, Case{"00012.340", 12340, 3},
                         Case{"9223372036854775807", INT64_MAX, 0}, Case{"-9223372036854775808", INT64_MIN, 0},
                         Case{"922337203.6854775807", INT64_MAX, 10}, Case{"-9.223372036854775808", INT64_MIN, 18}}) {
        const std::string text_s = c.text;
        CAPTURE(text_s);
        CHECK(show(parse_decimal(c.text)) == show(c.mantissa, c.decimals));
    }
}

TEST_CASE("parse_decimal rejects everything that is not an exact plain decimal") {
    for (const char* t : {"", ".", "-", "+", "-.", "nan", "NaN", "inf", "-inf", "Infinity", "1e5", "1E5", "1e-3",
                          "0x10", "1.2.3", "1,5", " 1", "1 ", "--1", "+-1", "1-", "12a", "\xC2\xB5", "1_000",
                          "9223372036854775808", "-9223372036854775809", "92233720368547758070",
                          "18446744073709551616", "99999999999999999999999", "0.0000000000000000001"}) {
        const std::string text_s = t;
        CAPTURE(text_s);
        CHECK(show(parse_decimal(t)) == "nullopt");
    }
}

TEST_CASE("format_decimal prints exactly, without trailing zeros or exponent") {
    CHECK(format_decimal(13023, 2) == "130.23");
    CHECK(format_decimal(463190, 1) == "46319");
    CHECK(format_decimal(-5, 1) == "-0.5");
    CHECK(format_decimal(0, 0) == "0");
    CHECK(format_decimal(0, 18) == "0");
    CHECK(format_decimal(100, 0) == "100");
    CHECK(format_decimal(100, 2) == "1");
    CHECK(format_decimal(1, 18) == "0.000000000000000001");
    CHECK(format_decimal(-1, 18) == "-0.000000000000000001");
    CHECK(format_decimal(INT64_MAX, 0) == "9223372036854775807");
    CHECK(format_decimal(INT64_MIN, 0) == "-9223372036854775808");
    CHECK(format_decimal(INT64_MIN, 18) == "-9.223372036854775808");
    CHECK(format_decimal(INT64_MAX, 18) == "9.223372036854775807");
    CHECK(format_decimal(INT64_MIN, 3) == "-9223372036854775.808");
}

TEST_CASE("format_decimal and parse_decimal round-trip random mantissas at every scale") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    std::vector<std::int64_t> specials = {0, 1, -1, 9, 10, -10, INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1,
                                          1000000000000000000, -1000000000000000000};
    for (int iter = 0; iter < 20000; ++iter) {
        std::int64_t m;
        if (iter < static_cast<int>(specials.size()) * 19) {
            m = specials[static_cast<std::size_t>(iter / 19)];
        } else {
            // Mixed magnitudes: a random number of significant bits, then trailing zeros.
            const int bits = static_cast<int>(rng() % 64);
            m = static_cast<std::int64_t>(rng() >> (63 - bits));
            if (rng() & 1) m = -m;
            const int zeros = static_cast<int>(rng() % 6);
            for (int z = 0; z < zeros; ++z)
                if (m > INT64_MIN / 10 && m < INT64_MAX / 10) m *= 10;
        }
        const int dec = iter % 19;
        CAPTURE(m);
        CAPTURE(dec);
        const std::string text = format_decimal(m, dec);
        CHECK(text == reference::format(m, dec));
        const auto back = parse_decimal(text);
        REQUIRE(back.has_value());
        CHECK(back->decimals <= dec);
        // The parsed value rescaled to `dec` is the mantissa we started from.
        CHECK(reference::scaled(text, dec) == m);
        const auto up = rescale(back->mantissa, back->decimals, dec);
        REQUIRE(up.has_value());
        CHECK(*up == m);
        // No trailing zero after a decimal point, no exponent, at most one sign.
        if (text.find('.') != std::string::npos) CHECK(text.back() != '0');
        CHECK(text.find_first_of("eE+") == std::string::npos);
    }
}

TEST_CASE("parse_decimal agrees with the reference on random digit strings") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const std::string alphabet = "0123456789.-+e";
    for (int iter = 0; iter < 20000; ++iter) {
        std::string t;
        const std::size_t len = rng() % 24;
        for (std::size_t i = 0; i < len; ++i)
            t += rng() % 8 == 0 ? alphabet[rng() % alphabet.size()] : static_cast<char>('0' + rng() % 10);
        CAPTURE(t);
        const auto got = parse_decimal(t);
        // Reference: a sign only in front, one dot, digits otherwise; exact at its own decimals.
        bool plain = !t.empty();
        std::size_t dots = 0, digits = 0;
        for (std::size_t i = 0; i < t.size(); ++i) {
            const char c = t[i];
            if (c == '.') ++dots;
            else if (c >= '0' && c <= '9') ++digits;
            else if (!((c == '-' || c == '+') && i == 0)) plain = false;
        }
        plain = plain && dots <= 1 && digits > 0;
        const int dec = plain ? static_cast<int>(t.size() - t.find('.') - 1) : 0;
        const int decimals = plain && dots == 1 ? dec : 0;
        std::optional<std::int64_t> want;
        if (plain && decimals <= 18) want = reference::scaled(t, decimals);
        if (!want) {
            CHECK(show(got) == "nullopt");
        } else {
            CHECK(show(got) == show(*want, decimals));
        }
    }
}

TEST_CASE("rescale multiplies exactly or reports overflow") {
    CHECK(rescale(13023, 2, 4) == 1302300);
    CHECK(rescale(-5, 1, 1) == -5);
    CHECK(rescale(0, 0, 18) == 0);
    CHECK(rescale(1, 0, 18) == 1000000000000000000);
    CHECK(rescale(9, 0, 18) == 9000000000000000000);
    CHECK(rescale(10, 0, 18) == std::nullopt);
    CHECK(rescale(-9, 0, 18) == -9000000000000000000);
    CHECK(rescale(-10, 0, 18) == std::nullopt);
    CHECK(rescale(INT64_MAX, 3, 3) == INT64_MAX);
    CHECK(rescale(INT64_MIN, 0, 0) == INT64_MIN);
    CHECK(rescale(INT64_MAX, 0, 1) == std::nullopt);
    CHECK(rescale(INT64_MIN, 0, 1) == std::nullopt);
    CHECK(rescale(922337203685477580, 0, 1) == 9223372036854775800);
    CHECK(rescale(922337203685477581, 0, 1) == std::nullopt);
    CHECK(rescale(-922337203685477580, 0, 1) == -9223372036854775800);
    CHECK(rescale(-922337203685477581, 0, 1) == std::nullopt);
    CHECK(rescale(1, 3, 2) == std::nullopt);  // fewer decimals is not a rescale
    CHECK(rescale(1, 0, 19) == std::nullopt);

    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int iter = 0; iter < 20000; ++iter) {
        const int bits = static_cast<int>(rng() % 64);
        std::int64_t m = static_cast<std::int64_t>(rng() >> (63 - bits));
        if (rng() & 1) m = -m;
        const int from = static_cast<int>(rng() % 19), to = from + static_cast<int>(rng() % (19 - from));
        CAPTURE(m);
        CAPTURE(from);
        CAPTURE(to);
        const reference::i128 exact = static_cast<reference::i128>(m) * reference::pow10_128(to - from);
        const bool fits = exact >= INT64_MIN && exact <= INT64_MAX;
        const auto got = rescale(m, from, to);
        REQUIRE(got.has_value() == fits);
        if (fits) CHECK(*got == static_cast<std::int64_t>(exact));
    }
}

// ---- validate_symbol ---------------------------------------------------------------------------

TEST_CASE("validate_symbol accepts 1..64 bytes of printable UTF-8") {
    for (const std::string& s : {std::string("A"), std::string("BTC-PERP"), std::string("ES.FUT"), std::string("a b"),
                                std::string("~!@#$%^&*()"), std::string(64, 'x'), std::string("\xC3\xA9t\xC3\xA9"),
                                std::string("\xE2\x82\xAC"), std::string("\xF0\x9F\x9A\x80"),
                                std::string("\xEF\xBF\xBD"), std::string("\xF4\x8F\xBF\xBF"),
                                std::string("\xC2\xA0"), std::string(16, 'Z')}) {
        CAPTURE(s);
        CHECK(accepts(s));
        CHECK(reference_symbol_ok(s));
    }
}

TEST_CASE("validate_symbol rejects empty, too long, control bytes and bad UTF-8") {
    std::vector<std::string> bad = {"", std::string(65, 'x'), std::string("a\0b", 3), std::string(1, '\0'),
                                    "a\tb", "a\nb", "\r", "\x1F", "\x7F", "ab\x1B[0m",
                                    // bad UTF-8: stray continuation, invalid lead, cut sequences
                                    "\x80", "a\xBF", "\xFF", "\xFE", "\xF8\x88\x80\x80\x80", "\xC3", "\xE2\x82",
                                    "\xF0\x9F\x9A", "\xC3\x28", "\xE2\x28\xA1",
                                    // 64 bytes of which the last char is cut
                                    std::string(63, 'x') + "\xC3"};
    // 65 bytes of valid multi-byte text
    std::string long_utf8;
    while (long_utf8.size() < 65) long_utf8 += "\xC3\xA9";
    bad.push_back(long_utf8.substr(0, 66));
    for (const auto& s : bad) {
        CAPTURE(s);
        CHECK_FALSE(reference_symbol_ok(s));
        CHECK_THROWS_AS(barstore::validate_symbol(s), barstore::InvalidInput);
        // The message quotes the symbol with every byte outside printable ASCII as \xNN.
        try {
            barstore::validate_symbol(s);
        } catch (const barstore::InvalidInput& e) {
            const std::string what = e.what();
            CHECK(std::all_of(what.begin(), what.end(), [](char c) { return c >= 0x20 && c < 0x7F; }));
        }
    }
    CHECK_THROWS_WITH(barstore::validate_symbol("ab\x1B[0m"), "symbol must be printable UTF-8 (got 'ab\\x1b[0m')");
}

TEST_CASE("validate_symbol rejects ill-formed UTF-8 that only a strict decoder catches") {
    // Overlong forms (C0 80 is an overlong NUL), UTF-16 surrogates, code points past U+10FFFF,
    // and the leads F5..F7 that can only start such code points: none of these is UTF-8.
    for (const char* text : {"\xC0\x80", "\xC1\xBF", "\xE0\x80\xAF", "\xE0\x9F\xBF", "\xF0\x80\x80\x80",
                                "\xF0\x8F\xBF\xBF", "\xED\xA0\x80", "\xED\xBF\xBF", "\xF4\x90\x80\x80",
                                "\xF5\x80\x80\x80", "\xF7\xBF\xBF\xBF"}) {
        const std::string s = text;
        CAPTURE(s);
        CHECK_FALSE(reference_symbol_ok(s));
        CHECK_THROWS_AS(barstore::validate_symbol("X" + s), barstore::InvalidInput);
    }
}

TEST_CASE("validate_symbol rejects C1 control characters (not printable)") {
    for (const char* text : {"\xC2\x80", "\xC2\x85", "\xC2\x9B", "\xC2\x9F"}) {
        const std::string s = text;
        CAPTURE(s);
        CHECK_FALSE(reference_symbol_ok(s));
        CHECK_THROWS_AS(barstore::validate_symbol("X" + s), barstore::InvalidInput);
    }
}

TEST_CASE("validate_symbol agrees with a strict reference on random byte strings") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    // Byte pool biased to UTF-8 structure so that valid and invalid both occur often.
    const std::vector<unsigned char> pool = {'a', 'Z', '0', ' ', '~', 0x00, 0x1F, 0x7F, 0x80, 0x9F, 0xA0, 0xBF,
                                             0xC0, 0xC1, 0xC2, 0xC3, 0xDF, 0xE0, 0xE2, 0xED, 0xEF, 0xF0, 0xF4,
                                             0xF5, 0xF8, 0xFF, 0x8F, 0x90};
    int accepted = 0;
    for (int iter = 0; iter < 50000; ++iter) {
        std::string s;
        const std::size_t len = iter % 100 == 0 ? 60 + rng() % 10 : rng() % 8;
        for (std::size_t i = 0; i < len; ++i)
            s += static_cast<char>(rng() % 3 == 0 ? pool[rng() % pool.size()] : 'a' + rng() % 26);
        CAPTURE(s);
        const bool want = reference_symbol_ok(s);
        accepted += want;
        CHECK(accepts(s) == want);
    }
    CHECK(accepted > 1000);
}

// ---- BarColumns --------------------------------------------------------------------------------

TEST_CASE("BarColumns push_back, row, append, clear and equality keep the columns in step") {
    using barstore::Bar;
    using barstore::BarColumns;
    using barstore::Duration;
    using barstore::Timestamp;
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    std::vector<Bar> rows;
    for (int i = 0; i < 100; ++i) {
        rows.push_back(Bar{Timestamp{Duration{static_cast<std::int64_t>(rng())}}, static_cast<std::int64_t>(rng()),
                           static_cast<std::int64_t>(rng()), static_cast<std::int64_t>(rng()),
                           static_cast<std::int64_t>(rng()), static_cast<std::int64_t>(rng())});
    }
    rows[0] = Bar{Timestamp{Duration{INT64_MIN}}, INT64_MIN, INT64_MAX, INT64_MIN, INT64_MAX, 0};
    BarColumns c;
    CHECK(c.empty());
    CHECK(c.size() == 0);
    c.reserve(rows.size());
    CHECK(c.empty());
    for (const auto& r : rows) c.push_back(r);
    REQUIRE(c.size() == rows.size());
    CHECK_FALSE(c.empty());
    for (auto* col : {&c.ts, &c.open, &c.high, &c.low, &c.close, &c.volume}) CHECK(col->size() == rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        CAPTURE(i);
        CHECK(c.row(i) == rows[i]);
        CHECK(c.ts[i] == rows[i].ts.time_since_epoch().count());
        CHECK(c.open[i] == rows[i].open);
        CHECK(c.high[i] == rows[i].high);
        CHECK(c.low[i] == rows[i].low);
        CHECK(c.close[i] == rows[i].close);
        CHECK(c.volume[i] == rows[i].volume);
    }

    for (int iter = 0; iter < 200; ++iter) {
        const std::size_t a = rng() % (rows.size() + 1), b = a + rng() % (rows.size() + 1 - a);
        BarColumns prefix;
        for (std::size_t i = 0; i < 3; ++i) prefix.push_back(rows[(i * 7) % rows.size()]);
        BarColumns want = prefix;
        for (std::size_t i = a; i < b; ++i) want.push_back(rows[i]);
        prefix.append(c, a, b);
        CAPTURE(a);
        CAPTURE(b);
        CHECK(prefix == want);
        CHECK(prefix.size() == 3 + (b - a));
    }

    BarColumns d = c;
    CHECK(d == c);
    d.volume[50] += 1;
    CHECK_FALSE(d == c);
    d = c;
    d.ts[99] ^= 1;
    CHECK_FALSE(d == c);
    d.clear();
    CHECK(d.empty());
    for (auto* col : {&d.ts, &d.open, &d.high, &d.low, &d.close, &d.volume}) CHECK(col->empty());
    CHECK(d == BarColumns{});
}
