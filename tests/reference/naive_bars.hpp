// tests/reference/naive_bars.hpp: loads the two real CSV files of ../shared/data/csv with plain
// string splitting and the day-counting calendar, independent of barstore's ingest code.
#pragma once
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "reference/naive_decimal.hpp"
#include "reference/naive_time.hpp"

namespace reference {

/// One CSV row: bar start in ns since the epoch, and the five number fields as written.
struct TextBar {
    std::int64_t ts = 0;
    std::string field[5];  // open, high, low, close, volume
};

struct IntBar {
    std::int64_t ts = 0, open = 0, high = 0, low = 0, close = 0, volume = 0;
};

inline std::vector<std::string> split(const std::string& line, char sep) {
    std::vector<std::string> out(1);
    for (char c : line) {
        if (c == sep) out.emplace_back();
        else out.back() += c;
    }
    return out;
}

inline int num(const std::string& s, std::size_t at, std::size_t len) { return std::stoi(s.substr(at, len)); }

/// BTC: header line, then `YYYY-MM-DD HH:MM:SS.ffffff,o,h,l,c,v` (naive UTC, bar start), LF.
inline std::vector<TextBar> load_btc(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    std::vector<TextBar> out;
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        const auto f = split(line, ',');
        if (f.size() != 6 || f[0].size() != 26) throw std::runtime_error("bad BTC line: " + line);
        TextBar b;
        const std::string& t = f[0];
        b.ts = epoch_ns(num(t, 0, 4), num(t, 5, 2), num(t, 8, 2), num(t, 11, 2), num(t, 14, 2), num(t, 17, 2),
                        static_cast<std::int64_t>(num(t, 20, 6)) * 1000);
        for (int k = 0; k < 5; ++k) b.field[k] = f[static_cast<std::size_t>(k) + 1];
        out.push_back(b);
    }
    return out;
}

/// SPY: `YYYYMMDD HHMMSS;o;h;l;c;v` CRLF, no header; the stamp is the bar's END (UTC), so the
/// bar starts one minute earlier.
inline std::vector<TextBar> load_spy(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    std::vector<TextBar> out;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        const auto f = split(line, ';');
        if (f.size() != 6 || f[0].size() != 15) throw std::runtime_error("bad SPY line: " + line);
        const std::string& t = f[0];
        TextBar b;
        b.ts = epoch_ns(num(t, 0, 4), num(t, 4, 2), num(t, 6, 2), num(t, 9, 2), num(t, 11, 2), num(t, 13, 2)) -
               60 * kNsPerSec;
        for (int k = 0; k < 5; ++k) b.field[k] = f[static_cast<std::size_t>(k) + 1];
        out.push_back(b);
    }
    return out;
}

/// Largest number of decimals any price (fields 0..3) or volume (field 4) needs.
inline std::pair<int, int> decimals_needed(const std::vector<TextBar>& bars) {
    int p = 0, v = 0;
    for (const auto& b : bars) {
        for (int k = 0; k < 4; ++k) p = std::max(p, decimals_needed(b.field[k]));
        v = std::max(v, decimals_needed(b.field[4]));
    }
    return {p, v};
}

/// Fixed-point bars at the given decimals, rounding half to even; throws if a value overflows.
/// `rounded` counts values that lost digits.
inline std::vector<IntBar> to_int(const std::vector<TextBar>& bars, int price_decimals, int volume_decimals,
                                  std::size_t* rounded = nullptr) {
    std::vector<IntBar> out;
    out.reserve(bars.size());
    std::size_t n_rounded = 0;
    for (const auto& b : bars) {
        std::int64_t v[5];
        for (int k = 0; k < 5; ++k) {
            bool r = false;
            const auto x = scaled(b.field[k], k < 4 ? price_decimals : volume_decimals, &r);
            if (!x) throw std::runtime_error("value does not fit: " + b.field[k]);
            v[k] = *x;
            n_rounded += r;
        }
        out.push_back({b.ts, v[0], v[1], v[2], v[3], v[4]});
    }
    if (rounded) *rounded = n_rounded;
    return out;
}

}  // namespace reference
