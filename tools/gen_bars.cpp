// tools/gen_bars.cpp: the benchmark's synthetic market data and its CSV writer.
// Invariants: every bar has 1 <= low <= min(open, close), high >= max(open, close), volume >= 1,
// and ts strictly increasing on whole minutes. Our own PRNG and formatter make the bytes
// depend only on the seed (std:: distributions differ between standard libraries).
#include "gen_bars.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <numbers>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace barstore::tools {

namespace {

using i64 = std::int64_t;
using u64 = std::uint64_t;

u64 splitmix64(u64& x) {
    u64 z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/// xoshiro256** with a Box-Muller normal: small, fast, and identical on every platform.
class Rng {
public:
    Rng(u64 seed, u64 stream) {
        u64 x = seed ^ (stream * 0xD1B54A32D192ED03ull);
        for (auto& s : s_) s = splitmix64(x);
    }
    u64 next() {
        const u64 result = rotl(s_[1] * 5, 7) * 9;
        const u64 t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    /// Uniform in (0, 1]: never 0, so log() and pow(u, -a) stay finite.
    double uniform() { return static_cast<double>((next() >> 11) + 1) * 0x1.0p-53; }
    double normal() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        const double r = std::sqrt(-2.0 * std::log(uniform()));
        const double a = 2.0 * std::numbers::pi * uniform();
        spare_ = r * std::sin(a);
        has_spare_ = true;
        return r * std::cos(a);
    }

private:
    static u64 rotl(u64 x, int k) { return (x << k) | (x >> (64 - k)); }
    u64 s_[4]{};
    double spare_ = 0;
    bool has_spare_ = false;
};

/// A price path in cents. Volatility clusters (a slow AR(1) on log-volatility), as real minute
/// data does; without it every chunk would compress the same and the figures would flatter us.
class Walk {
public:
    Walk(Rng& rng, i64 start_cents, double sigma_per_min, double volume_scale)
        : rng_(rng), close_(start_cents), sigma_per_min_(sigma_per_min), volume_scale_(volume_scale) {}

    i64 last_close() const { return close_; }

    /// The next bar opening at `open`; `activity` scales volatility (by its root) and volume.
    RawBar bar(i64 ts_s, i64 open, double activity) {
        regime_ = 0.999 * regime_ + 0.03 * rng_.normal();
        const double vol = std::exp(regime_);
        const double sigma = std::max(0.6, static_cast<double>(open) * sigma_per_min_ * vol * std::sqrt(activity));
        RawBar b;
        b.ts_s = ts_s;
        b.open = open;
        b.close = std::max<i64>(1, open + std::llround(rng_.normal() * sigma));
        // Wicks beyond the body, half a sigma on average: most bars have small ones, some long.
        b.high = std::max(b.open, b.close) + std::llround(std::fabs(rng_.normal()) * sigma * 0.5);
        b.low = std::max<i64>(1, std::min(b.open, b.close) - std::llround(std::fabs(rng_.normal()) * sigma * 0.5));
        // Pareto volumes (alpha 1.6): the median is modest, a few bars carry 100x. Capped so a
        // freak draw cannot dominate a sum.
        const double pareto = std::pow(rng_.uniform(), -1.0 / 1.6);
        b.volume = std::clamp<i64>(std::llround(volume_scale_ * activity * vol * pareto), 1, 2'000'000'000);
        close_ = b.close;
        return b;
    }

    /// The next open: trades rarely print exactly the previous close, but usually within a tick.
    i64 next_open() {
        const double u = rng_.uniform();
        const i64 step = u < 0.075 ? -1 : u < 0.15 ? 1 : 0;
        return std::max<i64>(1, close_ + step);
    }

    /// An overnight or weekend gap: a jump of about `sigma_fraction` of the price.
    i64 gap_open(double sigma_fraction) {
        const double sigma = static_cast<double>(close_) * sigma_fraction;
        return std::max<i64>(1, close_ + std::llround(rng_.normal() * sigma));
    }

    Rng& rng() { return rng_; }

private:
    Rng& rng_;
    i64 close_;
    double sigma_per_min_, volume_scale_;
    double regime_ = 0;
};

/// Howard Hinnant's civil_from_days: y-m-d of a day count since 1970-01-01.
void civil_from_days(i64 z, i64& y, unsigned& m, unsigned& d) {
    z += 719468;
    const i64 era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<i64>(yoe) + era * 400 + (m <= 2);
}

char* put_2digits(char* p, unsigned v) {
    *p++ = static_cast<char>('0' + v / 10);
    *p++ = static_cast<char>('0' + v % 10);
    return p;
}

char* put_int(char* p, char* end, i64 v) {
    const auto r = std::to_chars(p, end, v);
    return r.ptr;
}

char* put_cents(char* p, char* end, i64 cents) {
    p = put_int(p, end, cents / 100);  // prices are >= 1 cent, so no sign to carry
    *p++ = '.';
    return put_2digits(p, static_cast<unsigned>(cents % 100));
}

char* put_text_ts(char* p, i64 ts_s) {
    const i64 days = ts_s >= 0 ? ts_s / 86400 : (ts_s - 86399) / 86400;
    const auto sod = static_cast<unsigned>(ts_s - days * 86400);
    i64 y;
    unsigned m, d;
    civil_from_days(days, y, m, d);
    const auto yy = static_cast<unsigned>(y);  // 2015..2025 here
    p = put_2digits(p, yy / 100);
    p = put_2digits(p, yy % 100);
    *p++ = '-';
    p = put_2digits(p, m);
    *p++ = '-';
    p = put_2digits(p, d);
    *p++ = ' ';
    p = put_2digits(p, sod / 3600);
    *p++ = ':';
    p = put_2digits(p, sod / 60 % 60);
    *p++ = ':';
    return put_2digits(p, sod % 60);
}

}  // namespace

std::vector<RawBar> gen_24x7(double years, std::uint64_t seed) {
    const auto n = static_cast<std::size_t>(std::llround(years * 365.25 * 1440));
    Rng rng(seed, 1);
    // 1.5% daily volatility spread over 1440 minutes; volumes in coins, tens per minute.
    Walk walk(rng, 10000, 0.015 / std::sqrt(1440.0), 20.0);
    std::vector<RawBar> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        const i64 ts = kStart2015_s + static_cast<i64>(i) * 60;
        // Busier while US and European desks overlap (13:00-21:00 UTC), as crypto is.
        const i64 hour = ts / 3600 % 24;
        const double activity = hour >= 13 && hour < 21 ? 1.6 : 0.8;
        const i64 open = i == 0 ? walk.last_close() : walk.next_open();
        out.push_back(walk.bar(ts, open, activity));
    }
    return out;
}

std::vector<RawBar> gen_equity_year(std::uint64_t seed) {
    Rng rng(seed, 2);
    // 1.5% daily volatility over 390 minutes; hundreds to thousands of shares a minute.
    Walk walk(rng, 10000, 0.015 / std::sqrt(390.0), 1500.0);
    std::vector<RawBar> out;
    out.reserve(261 * 390);
    const i64 first_day = kStart2015_s / 86400;
    for (i64 day = first_day; day < first_day + 365; ++day) {
        const i64 weekday = (day + 4) % 7;  // 1970-01-01 was a Thursday; 0 = Sunday
        if (weekday == 0 || weekday == 6) continue;
        const i64 session_s = day * 86400 + 14 * 3600 + 30 * 60;
        i64 open = walk.gap_open(0.008);
        for (int m = 0; m < 390; ++m) {
            // U-shaped activity: the open and the close auction dominate the day.
            const double activity = 0.6 + 2.5 * std::exp(-m / 15.0) + 1.5 * std::exp(-(389 - m) / 15.0);
            const RawBar b = walk.bar(session_s + m * 60, open, activity);
            // Thin minutes around midday sometimes print nothing: the bar is simply absent, and
            // the price still moved, so the next bar opens away from the last printed close.
            const double p_skip = 0.005 + 0.06 * std::sin(std::numbers::pi * m / 390.0);
            if (m == 0 || walk.rng().uniform() >= p_skip) out.push_back(b);
            open = walk.next_open();
        }
    }
    return out;
}

namespace {

/// A CSV file written through one buffer, each row formatted by hand into it: fprintf would make
/// generation slower than ingest.
class CsvOut {
public:
    CsvOut(const std::filesystem::path& path, std::string_view header)
        : path_(path), f_(std::fopen(path.c_str(), "wb"), &std::fclose), buf_(kFlushBytes + kMaxLine, '\0') {
        if (!f_) throw std::runtime_error(path.string() + ": cannot create");
        p_ = std::copy(header.begin(), header.end(), buf_.data());
    }
    /// One row; `symbol` empty: no symbol column (it comes second when present).
    void row(const RawBar& b, TsFormat ts_format, std::string_view symbol = {}) {
        char* const end = buf_.data() + buf_.size();
        char* p = ts_format == TsFormat::epoch_s ? put_int(p_, end, b.ts_s) : put_text_ts(p_, b.ts_s);
        *p++ = ',';
        if (!symbol.empty()) {  // names are short: kMaxLine leaves room for 64 bytes of them
            p = std::copy(symbol.begin(), symbol.end(), p);
            *p++ = ',';
        }
        for (const i64 cents : {b.open, b.high, b.low, b.close}) {
            p = put_cents(p, end, cents);
            *p++ = ',';
        }
        p = put_int(p, end, b.volume);
        *p++ = '\n';
        p_ = p;
        if (static_cast<std::size_t>(p_ - buf_.data()) >= kFlushBytes) flush();
    }
    /// Flushes and returns the file's size in bytes.
    std::uint64_t finish() {
        flush();
        if (std::fflush(f_.get()) != 0) throw std::runtime_error(path_.string() + ": write failed");
        return total_bytes_;
    }

private:
    static constexpr std::size_t kFlushBytes = 1 << 20, kMaxLine = 160;
    void flush() {
        const auto len = static_cast<std::size_t>(p_ - buf_.data());
        if (std::fwrite(buf_.data(), 1, len, f_.get()) != len) throw std::runtime_error(path_.string() + ": write failed");
        total_bytes_ += len;
        p_ = buf_.data();
    }
    std::filesystem::path path_;
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f_;
    std::string buf_;
    char* p_ = nullptr;
    std::uint64_t total_bytes_ = 0;
};

}  // namespace

std::uint64_t write_csv(const std::filesystem::path& path, const std::vector<RawBar>& bars, TsFormat ts_format) {
    CsvOut out(path, "ts,open,high,low,close,volume\n");
    for (const auto& b : bars) out.row(b, ts_format);
    return out.finish();
}

std::uint64_t write_long_csv(const std::filesystem::path& path, const std::vector<std::vector<RawBar>>& series,
                             const std::vector<std::string>& symbols, TsFormat ts_format) {
    if (symbols.size() != series.size()) throw std::runtime_error("write_long_csv: one symbol per series");
    for (const auto& s : symbols)
        if (s.empty() || s.size() > 64) throw std::runtime_error("write_long_csv: symbol names are 1-64 bytes");
    // A k-way merge on (ts, symbol's position): sorted by time, then symbol, for any series.
    std::vector<std::size_t> next(series.size(), 0);
    CsvOut out(path, "ts,symbol,open,high,low,close,volume\n");
    for (;;) {
        i64 ts = std::numeric_limits<i64>::max();
        for (std::size_t s = 0; s < series.size(); ++s)
            if (next[s] < series[s].size()) ts = std::min(ts, series[s][next[s]].ts_s);
        if (ts == std::numeric_limits<i64>::max()) break;
        for (std::size_t s = 0; s < series.size(); ++s)
            if (next[s] < series[s].size() && series[s][next[s]].ts_s == ts) out.row(series[s][next[s]++], ts_format, symbols[s]);
    }
    return out.finish();
}

}  // namespace barstore::tools
