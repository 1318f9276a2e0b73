// tests/reference/naive_csv.hpp: a deliberately plain CSV reader, the oracle for test_csv.
// std::getline + split + decimal strings + date::sys_days; it shares no code with lib/ingest,
// is slow, and handles only the dialects the tests feed it (stated per function).
#pragma once
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <date/date.h>

#include "barstore/types.hpp"

namespace reference {

__extension__ using Int128 = __int128;  // exact room for any 19-digit decimal times 10^18

/// A decimal as text parts: value = digits / 10^decimals (digits without sign).
struct NaiveDecimal {
    bool negative = false;
    Int128 digits = 0;
    int decimals = 0;
};

/// `46319.0` -> 46319 at 0, `130.23` -> 13023 at 2. Fractions with more than 15 significant
/// digits (a double printed in full, `218102.59507500002`) are rounded half-even to 15
/// significant digits, the rule barstore documents; done here on strings and __int128.
inline NaiveDecimal naive_decimal(std::string s) {
    NaiveDecimal d;
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
        d.negative = s[0] == '-';
        s.erase(0, 1);
    }
    const auto dot = s.find('.');
    std::string whole = dot == std::string::npos ? s : s.substr(0, dot);
    std::string frac = dot == std::string::npos ? "" : s.substr(dot + 1);
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    std::string all = whole + frac;
    const auto first_nonzero = all.find_first_not_of('0');
    const std::size_t significant = first_nonzero == std::string::npos ? 0 : all.size() - first_nonzero;
    std::string dropped;
    if (significant > 15 && !frac.empty()) {
        const std::size_t cut = std::min(significant - 15, frac.size());
        dropped = frac.substr(frac.size() - cut);
        frac.resize(frac.size() - cut);
    }
    for (const char c : whole + frac) d.digits = d.digits * 10 + (c - '0');
    d.decimals = static_cast<int>(frac.size());
    if (!dropped.empty()) {
        const std::string half = "5" + std::string(dropped.size() - 1, '0');
        if (dropped > half || (dropped == half && d.digits % 2 == 1)) d.digits += 1;
        while (d.decimals > 0 && d.digits % 10 == 0) {
            d.digits /= 10;
            --d.decimals;
        }
    }
    return d;
}

inline std::vector<std::string> naive_split(const std::string& line, char delim) {
    std::vector<std::string> out;
    std::string field;
    std::istringstream in(line);
    while (std::getline(in, field, delim)) out.push_back(field);
    if (!line.empty() && line.back() == delim) out.push_back("");
    return out;
}

/// Seconds since the epoch for `2021-12-31 23:01:00[.000000]` or `20110103 090100` (UTC), or
/// an epoch integer of at most 10 digits (seconds).
inline std::int64_t naive_seconds(const std::string& t) {
    using namespace date;
    int y, m, d, hh, mm, ss;
    if (t.size() >= 19 && t[4] == '-') {
        y = std::stoi(t.substr(0, 4)), m = std::stoi(t.substr(5, 2)), d = std::stoi(t.substr(8, 2));
        hh = std::stoi(t.substr(11, 2)), mm = std::stoi(t.substr(14, 2)), ss = std::stoi(t.substr(17, 2));
    } else if (t.size() == 15 && t[8] == ' ') {
        y = std::stoi(t.substr(0, 4)), m = std::stoi(t.substr(4, 2)), d = std::stoi(t.substr(6, 2));
        hh = std::stoi(t.substr(9, 2)), mm = std::stoi(t.substr(11, 2)), ss = std::stoi(t.substr(13, 2));
    } else {
        return std::stoll(t);
    }
    const sys_days civil = year{y} / month{static_cast<unsigned>(m)} / day{static_cast<unsigned>(d)};
    return civil.time_since_epoch().count() * 86400LL + hh * 3600 + mm * 60 + ss;
}

struct NaiveResult {
    barstore::BarColumns bars;
    barstore::Scale scale;
};

/// Rows `ts,open,high,low,close,volume` (any delimiter, optional header, LF or CRLF, blank lines
/// skipped). Each ts has `shift_s` subtracted (a stamp-end file). Every row must be valid.
inline NaiveResult naive_parse(const std::string& text, char delim, bool header, std::int64_t shift_s = 0) {
    std::istringstream in(text);
    std::string line;
    if (header) std::getline(in, line);
    std::vector<std::int64_t> ts;
    std::vector<NaiveDecimal> cols[5];
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        const auto f = naive_split(line, delim);
        if (f.size() != 6) throw std::runtime_error("naive_parse: bad line " + line);
        ts.push_back((naive_seconds(f[0]) - shift_s) * 1'000'000'000LL);
        for (int c = 0; c < 5; ++c) cols[c].push_back(naive_decimal(f[static_cast<std::size_t>(c) + 1]));
    }
    NaiveResult r;
    for (int c = 0; c < 4; ++c)
        for (const auto& d : cols[c]) r.scale.price_decimals = std::max(r.scale.price_decimals, d.decimals);
    for (const auto& d : cols[4]) r.scale.volume_decimals = std::max(r.scale.volume_decimals, d.decimals);
    const auto scaled = [](const NaiveDecimal& d, int to) {
        Int128 v = d.digits;
        for (int k = d.decimals; k < to; ++k) v *= 10;
        if (v > INT64_MAX) throw std::runtime_error("naive_parse: value too big");
        return static_cast<std::int64_t>(d.negative ? -v : v);
    };
    r.bars.ts = ts;
    std::vector<std::int64_t>* out[5] = {&r.bars.open, &r.bars.high, &r.bars.low, &r.bars.close, &r.bars.volume};
    for (int c = 0; c < 5; ++c)
        for (const auto& d : cols[c]) out[c]->push_back(scaled(d, c < 4 ? r.scale.price_decimals : r.scale.volume_decimals));
    return r;
}

}  // namespace reference
