// cli/chart_layout.cpp: nice axis steps, tick and volume labels, and which bars get a time label.
// Pure functions over integers and local times: no zone lookups, no drawing, no I/O. Prices stay
// fixed-point here, so a tick is an exact price and its label never shows float noise.
#include "chart_layout.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>

namespace barstore::cli::chart {

namespace {

__extension__ using i128 = __int128;  // __extension__: -Wpedantic knows no 128-bit integers

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

std::int64_t clamp64(i128 v) { return v > kMax ? kMax : v < kMin ? kMin : static_cast<std::int64_t>(v); }

i128 floor_div(i128 a, i128 b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }
i128 ceil_div(i128 a, i128 b) { return -floor_div(-a, b); }

std::int64_t floor_div64(std::int64_t a, std::int64_t b) { return static_cast<std::int64_t>(floor_div(a, b)); }

// Seconds in each intraday level, indexed by Level (second .. hour12).
constexpr std::int64_t kIntradaySeconds[] = {1, 5, 15, 30, 60, 300, 900, 1800, 3600, 10800, 21600, 43200};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::chrono::year_month_day civil(std::int64_t local_s) {
    return std::chrono::year_month_day{std::chrono::sys_days{std::chrono::days{floor_div64(local_s, 86400)}}};
}

}  // namespace

std::vector<std::int64_t> Axis::ticks() const {
    std::vector<std::int64_t> out;
    if (step <= 0) return out;
    for (i128 v = min; v <= max; v += step) out.push_back(static_cast<std::int64_t>(v));
    return out;
}

std::int64_t nice_step(double span_units, int target_intervals) {
    const double raw = span_units / std::max(1, target_intervals);
    if (!(raw > 1)) return 1;  // a tick finer than one unit of the series' scale says nothing
    for (std::int64_t p = 1;; p *= 10) {
        // 2.5p only from p = 10 up: below that it is not a whole number of units.
        for (std::int64_t s : {p, 2 * p, p >= 10 ? p / 2 * 5 : 2 * p, 5 * p})
            if (static_cast<double>(s) >= raw) return s;
        if (p > kMax / 10) return 5 * p;  // 5e18: 10^19 is past int64, and past any span of one
    }
}

Axis nice_axis(std::int64_t lo, std::int64_t hi, int target_intervals) {
    if (hi < lo) std::swap(lo, hi);
    const std::int64_t step = nice_step(static_cast<double>(hi) - static_cast<double>(lo), target_intervals);
    i128 min = floor_div(lo, step) * step, max = ceil_div(hi, step) * step;
    if (min == max) min -= step, max += step;
    // Clamped to multiples of step that fit, so ticks() stays in int64.
    while (min < kMin) min += step;
    while (max > kMax) max -= step;
    return Axis{clamp64(min), clamp64(max), step};
}

std::string format_tick(std::int64_t mantissa, int decimals, std::int64_t step) {
    int shown = std::max(decimals, 0);
    for (std::int64_t s = step; shown > 0 && s > 0 && s % 10 == 0; s /= 10) --shown;
    i128 v = mantissa;
    const bool negative = v < 0;
    if (negative) v = -v;
    for (int i = shown; i < decimals; ++i) v /= 10;  // mantissa is a multiple of step: exact
    // Built backwards (least significant digit first) and reversed once.
    std::string text;
    for (int i = 0; i < shown || v > 0 || i <= shown; ++i) {
        if (i == shown && shown > 0) text += '.';
        text += static_cast<char>('0' + static_cast<int>(v % 10));
        v /= 10;
    }
    if (negative) text += '-';
    std::reverse(text.begin(), text.end());
    return text;
}

std::string format_compact(double value) {
    static const char* suffixes[] = {"", "k", "M", "B", "T"};
    const double a = std::fabs(value);
    int s = 0;
    double scaled = a;
    // Move up a suffix once "%.3g" would round to 1000, so 999,999 is "1M", not "1e+03k".
    while (s < 4 && scaled >= 999.5) scaled /= 1000, ++s;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.3g%s", value < 0 ? "-" : "", scaled, suffixes[s]);
    return buf;
}

Level boundary_level(std::int64_t prev_local_s, std::int64_t local_s) {
    const std::int64_t prev_day = floor_div64(prev_local_s, 86400), day = floor_div64(local_s, 86400);
    if (prev_day != day) {
        const auto a = civil(prev_local_s), b = civil(local_s);
        if (a.year() != b.year()) return Level::year;
        if (a.month() != b.month()) return Level::month;
        // 1970-01-01 was a Thursday: +3 makes weeks start on Mondays.
        if (floor_div64(prev_day + 3, 7) != floor_div64(day + 3, 7)) return Level::week;
        return Level::day;
    }
    for (int l = static_cast<int>(Level::hour12); l >= static_cast<int>(Level::second); --l) {
        const std::int64_t unit = kIntradaySeconds[l];
        if (floor_div64(prev_local_s, unit) != floor_div64(local_s, unit)) return static_cast<Level>(l);
    }
    return Level::none;
}

std::string label_text(std::int64_t local_s, Level level) {
    const auto ymd = civil(local_s);
    char buf[32];
    if (level == Level::year) {
        std::snprintf(buf, sizeof buf, "%d", static_cast<int>(ymd.year()));
    } else if (level == Level::month) {
        std::snprintf(buf, sizeof buf, "%s", kMonths[static_cast<unsigned>(ymd.month()) - 1]);
    } else if (level >= Level::day) {
        std::snprintf(buf, sizeof buf, "%s %u", kMonths[static_cast<unsigned>(ymd.month()) - 1],
                      static_cast<unsigned>(ymd.day()));
    } else {
        const std::int64_t sod = local_s - floor_div64(local_s, 86400) * 86400;
        const int h = static_cast<int>(sod / 3600), m = static_cast<int>(sod / 60 % 60), s = static_cast<int>(sod % 60);
        if (level < Level::minute)
            std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", h, m, s);
        else
            std::snprintf(buf, sizeof buf, "%02d:%02d", h, m);
    }
    return buf;
}

std::string format_local(std::int64_t local_s) {
    const auto ymd = civil(local_s);
    const std::int64_t sod = local_s - floor_div64(local_s, 86400) * 86400;
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d:%02d", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), static_cast<int>(sod / 3600),
                  static_cast<int>(sod / 60 % 60));
    std::string out = buf;
    if (sod % 60 != 0) std::snprintf(buf, sizeof buf, ":%02d", static_cast<int>(sod % 60)), out += buf;
    return out;
}

std::vector<TimeLabel> time_labels(std::span<const std::int64_t> local_s, double slot_px, double min_gap_px) {
    const std::size_t n = local_s.size();
    if (n == 0) return {};
    std::vector<Level> levels(n, Level::none);
    for (std::size_t i = 1; i < n; ++i) levels[i] = boundary_level(local_s[i - 1], local_s[i]);
    const double capacity = std::max(1.0, std::floor(static_cast<double>(n) * slot_px / min_gap_px));
    Level chosen = Level::year;
    for (int l = static_cast<int>(Level::second); l <= static_cast<int>(Level::year); ++l) {
        const auto count = 1 + std::count_if(levels.begin() + 1, levels.end(), [&](Level x) { return x >= Level(l); });
        if (static_cast<double>(count) <= capacity) {
            chosen = Level(l);
            break;
        }
    }
    levels[0] = std::max(chosen, Level::day);
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < n; ++i)
        if (levels[i] >= chosen) order.push_back(i);
    // Coarsest first, then left to right: a day label wins its place over the hours around it.
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return levels[a] > levels[b]; });
    std::set<std::size_t> placed;
    const auto far_enough = [&](std::size_t a, std::size_t b) {
        return std::fabs(static_cast<double>(a) - static_cast<double>(b)) * slot_px >= min_gap_px;
    };
    for (std::size_t i : order) {
        auto next = placed.lower_bound(i);
        if (next != placed.end() && !far_enough(*next, i)) continue;
        if (next != placed.begin() && !far_enough(*std::prev(next), i)) continue;
        placed.insert(i);
    }
    std::vector<TimeLabel> out;
    for (std::size_t i : placed) out.push_back(TimeLabel{i, levels[i], label_text(local_s[i], levels[i])});
    return out;
}

}  // namespace barstore::cli::chart
