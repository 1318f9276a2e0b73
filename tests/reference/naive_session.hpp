// tests/reference/naive_session.hpp: session-aligned bins the obvious way. Per bar: convert its
// start to local time (date::make_zoned), decide its trading date and whether it is inside the
// session by comparing LOCAL times of day, compute its bin's label and end in local time, then
// group with a std::map. Shares no code with lib/ (the product goes the other way: it converts
// each session's local open and close to UTC and compares instants).
#pragma once
#include <date/tz.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "reference/naive_bars.hpp"
#include "reference/naive_resample.hpp"
#include "reference/naive_time.hpp"

namespace reference {

constexpr std::int64_t kNsPerMin = 60 * kNsPerSec, kNsPerDay = 1440 * kNsPerMin, kNsPerWeek = 7 * kNsPerDay;

/// A session as the issue states it, in plain fields.
struct NaiveSession {
    std::string zone = "UTC";
    int open_min = 0, close_min = 0;         // local minutes of the day
    std::set<int> weekdays{0, 1, 2, 3, 4, 5, 6};  // 0 = Sunday .. 6 = Saturday: the days the market is open
    std::set<std::int64_t> holidays;         // trading dates, days since 1970-01-01
};

/// The four presets, written out from the issue text.
inline NaiveSession naive_preset(const std::string& name) {
    NaiveSession s;
    if (name == "24x7") return s;
    if (name == "us-equity") return {"America/New_York", 9 * 60 + 30, 16 * 60, {1, 2, 3, 4, 5}, {}};
    if (name == "us-equity-extended") return {"America/New_York", 4 * 60, 20 * 60, {1, 2, 3, 4, 5}, {}};
    if (name == "cme-globex") return {"America/Chicago", 17 * 60, 16 * 60, {0, 1, 2, 3, 4, 5}, {}};
    throw std::runtime_error("no preset " + name);
}

inline std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    std::int64_t q = a / b;
    if (q * b > a) --q;
    return q;
}

/// 1970-01-01 was a Thursday (4).
inline int weekday_of(std::int64_t day) { return static_cast<int>(((day + 4) % 7 + 7) % 7); }

/// The bar's start as local time: ns since the local epoch (date::zoned_time does the zone).
inline std::int64_t local_ns(const date::time_zone* tz, std::int64_t utc_ns) {
    const date::sys_time<std::chrono::nanoseconds> t{std::chrono::nanoseconds{utc_ns}};
    return date::make_zoned(tz, t).get_local_time().time_since_epoch().count();
}
/// A local time back to UTC; a repeated time takes its first instant, a skipped one the jump.
inline std::int64_t utc_ns(const date::time_zone* tz, std::int64_t local) {
    const date::local_time<std::chrono::nanoseconds> t{std::chrono::nanoseconds{local}};
    return date::make_zoned(tz, t, date::choose::earliest).get_sys_time().time_since_epoch().count();
}

/// Where one bar goes: left out, or into the bin [label, end) (UTC ns).
struct Placement {
    bool included = false;
    std::int64_t label = 0, end = 0;
};

class NaiveBinner {
public:
    /// tf in ns; session == true means session alignment, else UTC multiples (weeks from Monday).
    NaiveBinner(NaiveSession s, std::int64_t tf, bool session)
        : s_(std::move(s)), tf_(tf), session_(session), tz_(date::locate_zone(s_.zone)) {}

    /// Is trading date `day` a session? Overnight sessions also need the evening before to be open.
    bool has_session(std::int64_t day) const {
        if (!s_.weekdays.count(weekday_of(day)) || s_.holidays.count(day)) return false;
        if (overnight() && !s_.weekdays.count(weekday_of(day - 1))) return false;
        return true;
    }
    bool overnight() const { return s_.close_min <= s_.open_min && !(s_.open_min == 0 && s_.close_min == 0); }
    /// Local open and close (ns since the local epoch) of trading date `day`.
    std::int64_t open_local(std::int64_t day) const {
        return (overnight() ? day - 1 : day) * kNsPerDay + s_.open_min * kNsPerMin;
    }
    std::int64_t close_local(std::int64_t day) const {
        if (s_.open_min == 0 && s_.close_min == 0) return (day + 1) * kNsPerDay;
        return day * kNsPerDay + s_.close_min * kNsPerMin;
    }

    Placement place(std::int64_t ts) const {
        if (!session_) {
            const std::int64_t label = bin_label(ts, tf_);
            return {true, label, label + tf_};
        }
        const std::int64_t local = local_ns(tz_, ts);
        const std::int64_t day = floor_div(local, kNsPerDay);
        const std::int64_t minute_of_day = (local - day * kNsPerDay) / kNsPerMin;
        // Which trading date's session could hold this local time of day?
        std::optional<std::int64_t> trading;
        if (s_.open_min == 0 && s_.close_min == 0) {
            trading = day;  // the whole calendar day
        } else if (!overnight()) {
            if (minute_of_day >= s_.open_min && minute_of_day < s_.close_min) trading = day;
        } else {
            if (minute_of_day >= s_.open_min) trading = day + 1;  // this evening opens tomorrow's session
            else if (minute_of_day < s_.close_min) trading = day;
        }
        if (!trading || !has_session(*trading)) return {};
        const std::int64_t open = open_local(*trading), close = close_local(*trading);
        // Local label and end, moved to UTC by the bar's own offset (no session here spans a
        // DST change, so one offset holds for the whole bin).
        auto to_utc = [&](std::int64_t l) { return ts - (local - l); };
        if (tf_ < kNsPerDay) {
            const std::int64_t label = open + (local - open) / tf_ * tf_;
            return {true, to_utc(label), to_utc(std::min(label + tf_, close))};
        }
        if (tf_ == kNsPerDay) return {true, to_utc(open), to_utc(close)};
        if (tf_ != kNsPerWeek) throw std::runtime_error("no session bins of this size");
        // The week: trading dates Monday..Sunday around this one.
        const std::int64_t monday = *trading - (weekday_of(*trading) + 6) % 7;
        std::optional<std::int64_t> first, last;
        for (std::int64_t d = monday; d < monday + 7; ++d)
            if (has_session(d)) {
                if (!first) first = d;
                last = d;
            }
        return {true, utc_ns(tz_, open_local(*first)), utc_ns(tz_, close_local(*last))};
    }

private:
    NaiveSession s_;
    std::int64_t tf_;
    bool session_;
    const date::time_zone* tz_;
};

/// A bin and where it ends.
struct NaiveBin {
    IntBar bar;
    std::int64_t end = 0;
};

/// Groups bars (sorted by ts) into bins by their placements, in label order.
inline std::vector<NaiveBin> group(const std::vector<IntBar>& bars, const std::vector<Placement>& where) {
    std::map<std::int64_t, NaiveBin> bins;
    for (std::size_t i = 0; i < bars.size(); ++i) {
        const auto& b = bars[i];
        const auto& p = where[i];
        if (!p.included) continue;
        auto it = bins.find(p.label);
        if (it == bins.end()) {
            NaiveBin first{b, p.end};
            first.bar.ts = p.label;
            bins.emplace(p.label, first);
            continue;
        }
        NaiveBin& bin = it->second;
        if (bin.end != p.end) throw std::runtime_error("one label, two ends: a bug in this reference");
        bin.bar.high = std::max(bin.bar.high, b.high);
        bin.bar.low = std::min(bin.bar.low, b.low);
        bin.bar.close = b.close;
        bin.bar.volume += b.volume;
    }
    std::vector<NaiveBin> out;
    for (const auto& [label, bin] : bins) out.push_back(bin);
    return out;
}

/// Placements of every bar (the expensive part, done once per series, session and timeframe).
inline std::vector<Placement> place_all(const std::vector<IntBar>& bars, const NaiveBinner& binner) {
    std::vector<Placement> out;
    out.reserve(bars.size());
    for (const auto& b : bars) out.push_back(binner.place(b.ts));
    return out;
}

/// Bins of the bars, as resample() returns them.
inline std::vector<IntBar> resample_session(const std::vector<IntBar>& bars, const std::vector<Placement>& where) {
    std::vector<IntBar> out;
    for (const auto& b : group(bars, where)) out.push_back(b.bar);
    return out;
}

/// What query() must return: only base bars that ended by as_of (ts + base <= as_of) are
/// grouped; bins with label in [from, to); a bin whose end is after as_of only with
/// include_forming; then the last N. q.timeframe is ignored: `where` was placed for one.
inline std::vector<IntBar> query_session(const std::vector<IntBar>& bars, const std::vector<Placement>& where,
                                         std::int64_t base, const NaiveQuery& q) {
    std::vector<IntBar> known;
    std::vector<Placement> known_where;
    for (std::size_t i = 0; i < bars.size(); ++i)
        if (!q.as_of || bars[i].ts + base <= *q.as_of) {
            known.push_back(bars[i]);
            known_where.push_back(where[i]);
        }
    std::vector<IntBar> out;
    for (const auto& bin : group(known, known_where)) {
        if (q.from && bin.bar.ts < *q.from) continue;
        if (q.to && bin.bar.ts >= *q.to) continue;
        if (q.as_of && !q.include_forming && bin.end > *q.as_of) continue;
        out.push_back(bin.bar);
    }
    if (q.last && out.size() > *q.last) out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(*q.last));
    return out;
}

/// Every bin's end, by label (for as_of probes at exact bin ends).
inline std::map<std::int64_t, std::int64_t> bin_ends(const std::vector<IntBar>& bars, const std::vector<Placement>& where) {
    std::map<std::int64_t, std::int64_t> out;
    for (const auto& b : group(bars, where)) out[b.bar.ts] = b.end;
    return out;
}

}  // namespace reference
