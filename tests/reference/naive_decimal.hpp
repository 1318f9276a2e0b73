// tests/reference/naive_decimal.hpp: decimal text <-> scaled integers the slow, obvious way
// (__int128 arithmetic, digit by digit), as an oracle for barstore's decimal code and for the
// test loaders of the real CSV files.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace reference {

__extension__ typedef __int128 i128;

inline i128 pow10_128(int k) {
    i128 p = 1;
    for (int i = 0; i < k; ++i) p *= 10;
    return p;
}

/// The value of plain decimal `text` ([+-]digits[.digits]) scaled to `decimals`, rounded half
/// to even; nullopt if the text is not such a decimal or the result does not fit int64.
/// `*rounded` is set when digits were dropped.
inline std::optional<std::int64_t> scaled(std::string_view text, int decimals, bool* rounded = nullptr) {
    if (rounded) *rounded = false;
    std::size_t i = 0;
    bool neg = false;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) neg = text[i++] == '-';
    std::string int_digits, frac_digits;
    bool dot = false;
    for (; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '.') {
            if (dot) return std::nullopt;
            dot = true;
        } else if (c >= '0' && c <= '9') {
            (dot ? frac_digits : int_digits) += c;
        } else {
            return std::nullopt;
        }
    }
    if (int_digits.empty() && frac_digits.empty()) return std::nullopt;
    if (int_digits.size() > 30) return std::nullopt;
    i128 v = 0;
    for (char c : int_digits) v = v * 10 + (c - '0');
    for (int k = 0; k < decimals; ++k) {
        v = v * 10 + (k < static_cast<int>(frac_digits.size()) ? frac_digits[static_cast<std::size_t>(k)] - '0' : 0);
        if (v > pow10_128(30)) return std::nullopt;
    }
    if (static_cast<int>(frac_digits.size()) > decimals) {
        const std::string rest = frac_digits.substr(static_cast<std::size_t>(decimals));
        const bool any_nonzero = rest.find_first_not_of('0') != std::string::npos;
        if (rounded && any_nonzero) *rounded = true;
        const int first = rest[0] - '0';
        const bool more = rest.find_first_not_of('0', 1) != std::string::npos;
        if (first > 5 || (first == 5 && more) || (first == 5 && !more && v % 2 == 1)) v += 1;
    }
    if (neg) v = -v;
    if (v > INT64_MAX || v < INT64_MIN) return std::nullopt;
    return static_cast<std::int64_t>(v);
}

/// Exact text for mantissa / 10^decimals by integer division: no exponent, no trailing zeros.
inline std::string format(std::int64_t mantissa, int decimals) {
    i128 m = mantissa;
    const bool neg = m < 0;
    if (neg) m = -m;
    const i128 p = pow10_128(decimals);
    const i128 whole = m / p, frac = m % p;
    auto digits = [](i128 x) {
        if (x == 0) return std::string("0");
        std::string s;
        for (; x > 0; x /= 10) s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(x % 10)));
        return s;
    };
    std::string out = digits(whole);
    if (frac != 0) {
        std::string f = digits(frac);
        f.insert(0, static_cast<std::size_t>(decimals) - f.size(), '0');
        while (f.back() == '0') f.pop_back();
        out += "." + f;
    }
    return (neg && (whole != 0 || frac != 0) ? "-" : "") + out;
}

/// Smallest number of decimals that holds `text` exactly (ignores trailing zeros).
inline int decimals_needed(std::string_view text) {
    const auto dot = text.find('.');
    if (dot == std::string_view::npos) return 0;
    auto frac = text.substr(dot + 1);
    while (!frac.empty() && frac.back() == '0') frac.remove_suffix(1);
    return static_cast<int>(frac.size());
}

}  // namespace reference
