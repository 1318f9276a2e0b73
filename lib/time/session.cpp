// time/session.cpp: session specs and the calendar of session instances. All zone arithmetic
// goes through date/tz (zoned local -> sys with choose::earliest): no hand-rolled DST rules.
#include "barstore/session.hpp"

#include <date/tz.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "barstore/error.hpp"
#include "barstore/time.hpp"

namespace barstore {

namespace {

using namespace std::chrono;

const char* const kForms =
    "accepted: 24x7, us-equity, us-equity-extended, cme-globex, or \"ZONE HH:MM-HH:MM [Mon-Fri|Sun-Fri|Mon,Tue,...] "
    "[holidays=YYYY-MM-DD,...]\" (e.g. \"America/New_York 09:30-16:00 Mon-Fri\"); a preset may be followed by "
    "holidays=...";
const char* const kDayNames[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::uint8_t kMonFri = 0b0111110, kSunFri = 0b0111111;

[[noreturn]] void bad(std::string_view text, const std::string& why) {
    throw InvalidInput("bad session '" + std::string(text) + "': " + why + "; " + kForms);
}

/// The preset's session, or nullopt for a name that is not one. 24x7 is the default Session{}
/// itself (preset left empty), so that a stored or spelled-out 24x7 compares equal to it.
std::optional<Session> preset(std::string_view name) {
    Session s;
    if (name == "24x7") return s;
    s.preset = std::string(name);
    if (name == "us-equity" || name == "us-equity-extended") {
        s.zone = "America/New_York";
        const bool ext = name == "us-equity-extended";
        s.open = ext ? hours{4} : hours{9} + minutes{30};
        s.close = ext ? hours{20} : hours{16};
        s.weekdays = kMonFri;
        return s;
    }
    if (name == "cme-globex") {
        s.zone = "America/Chicago";
        s.open = hours{17};
        s.close = hours{16};
        s.weekdays = kSunFri;  // open Sunday evening through Friday afternoon
        return s;
    }
    return std::nullopt;
}

int day_index(std::string_view d) {
    for (int i = 0; i < 7; ++i) {
        std::string a = kDayNames[i];
        if (d.size() == 3 && std::equal(d.begin(), d.end(), a.begin(), [](char x, char y) {
                return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
            }))
            return i;
    }
    return -1;
}

/// HH:MM, 00:00..23:59; a close may also be 24:00 (midnight at the end of its own date).
bool parse_hhmm(std::string_view t, minutes& out, bool is_close) {
    if (t.size() != 5 || t[2] != ':' || !std::isdigit(static_cast<unsigned char>(t[0])) ||
        !std::isdigit(static_cast<unsigned char>(t[1])) || !std::isdigit(static_cast<unsigned char>(t[3])) ||
        !std::isdigit(static_cast<unsigned char>(t[4])))
        return false;
    const int h = (t[0] - '0') * 10 + (t[1] - '0'), m = (t[3] - '0') * 10 + (t[4] - '0');
    if (h > 24 || m > 59 || (h == 24 && (m != 0 || !is_close))) return false;
    out = minutes{h * 60 + m};
    return true;
}

std::string hhmm(minutes m) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02d:%02d", static_cast<int>(m.count() / 60), static_cast<int>(m.count() % 60));
    return buf;
}

std::string days_text(std::uint8_t mask) {
    if (mask == 0x7F) return "";
    // A contiguous run (wrapping past Saturday) prints as a range, as users write it.
    for (int start = 0; start < 7; ++start) {
        if (!(mask >> start & 1) || (mask >> ((start + 6) % 7) & 1)) continue;
        int len = 0;
        while (len < 7 && (mask >> ((start + len) % 7) & 1)) ++len;
        if (__builtin_popcount(mask) == len)
            return len == 1 ? kDayNames[start] : std::string(kDayNames[start]) + "-" + kDayNames[(start + len - 1) % 7];
    }
    std::string out;
    for (int i = 0; i < 7; ++i)
        if (mask >> i & 1) out += (out.empty() ? "" : ",") + std::string(kDayNames[i]);
    return out;
}

}  // namespace

Session parse_session(std::string_view text) {
    std::istringstream in{std::string(text)};
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    if (words.empty()) bad(text, "empty");
    const auto named = preset(words[0]);
    Session s = named.value_or(Session{});
    std::size_t i = 1;
    if (!named) {
        if (words.size() < 2) bad(text, "'" + words[0] + "' is not a preset");
        s.zone = words[0];
        try {
            (void)date::locate_zone(s.zone);
        } catch (const std::exception&) {
            bad(text, "unknown time zone '" + s.zone + "'");
        }
        const auto& span = words[1];
        const auto dash = span.find('-');
        if (dash == std::string::npos || !parse_hhmm(std::string_view(span).substr(0, dash), s.open, false) ||
            !parse_hhmm(std::string_view(span).substr(dash + 1), s.close, true))
            bad(text, "expected HH:MM-HH:MM, got '" + span + "'");
        i = 2;
        if (i < words.size() && words[i].rfind("holidays=", 0) != 0) {
            const auto& d = words[i++];
            std::uint8_t mask = 0;
            std::size_t p = 0;
            while (p <= d.size()) {
                const auto comma = std::min(d.find(',', p), d.size());
                const auto part = std::string_view(d).substr(p, comma - p);
                const auto range = part.find('-');
                const int a = day_index(part.substr(0, range == std::string_view::npos ? part.size() : range));
                const int b = range == std::string_view::npos ? a : day_index(part.substr(range + 1));
                if (a < 0 || b < 0) bad(text, "bad weekdays '" + d + "'");
                for (int k = a;; k = (k + 1) % 7) {
                    mask = static_cast<std::uint8_t>(mask | 1 << k);
                    if (k == b) break;
                }
                p = comma + 1;
            }
            s.weekdays = mask;
        }
    }
    if (i < words.size() && words[i].rfind("holidays=", 0) == 0) {
        std::string list = words[i++].substr(9);
        std::size_t p = 0;
        while (p < list.size()) {
            const auto comma = std::min(list.find(',', p), list.size());
            const auto day = list.substr(p, comma - p);
            int y = 0;
            unsigned m = 0, dd = 0;
            char tail = 0;
            if (std::sscanf(day.c_str(), "%4d-%2u-%2u%c", &y, &m, &dd, &tail) != 3) bad(text, "bad holiday '" + day + "'");
            const date::year_month_day ymd{date::year{y}, date::month{m}, date::day{dd}};
            if (!ymd.ok()) bad(text, "bad holiday '" + day + "'");
            s.holidays.push_back(date::sys_days{ymd});
            p = comma + 1;
        }
        std::sort(s.holidays.begin(), s.holidays.end());
        s.holidays.erase(std::unique(s.holidays.begin(), s.holidays.end()), s.holidays.end());
    }
    if (i != words.size()) bad(text, "unexpected '" + words[i] + "'");
    // An overnight session needs the day before its trading date open too; with no two days in
    // a row it never runs, and stored it would fail every later query ("no session in ten years").
    const bool overnight = s.close < s.open || (s.close == s.open && s.open.count() != 0);
    bool occurs = false;
    for (int d = 0; d < 7; ++d) occurs |= (s.weekdays >> d & 1) && (!overnight || (s.weekdays >> (d + 6) % 7 & 1));
    if (!occurs)
        bad(text, "it never occurs: a session that closes at or before its open starts the day before its "
                  "trading date, so it needs two days in a row, and " + days_text(s.weekdays) + " has none");
    return s;
}

std::string format_session(const Session& s) {
    if (s.is_24x7()) return "24x7";
    std::string out = !s.preset.empty() ? s.preset : s.zone + " " + hhmm(s.open) + "-" + hhmm(s.close);
    if (s.preset.empty()) {
        const auto d = days_text(s.weekdays);
        if (!d.empty()) out += " " + d;
    }
    if (!s.holidays.empty()) {
        out += " holidays=";
        for (std::size_t i = 0; i < s.holidays.size(); ++i) {
            const date::year_month_day ymd{s.holidays[i]};
            char buf[16];
            std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                          static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
            out += (i ? "," : "") + std::string(buf);
        }
    }
    return out;
}

struct SessionCalendar::Impl {
    Session s;
    const date::time_zone* zone = nullptr;
    bool utc = false;
    std::optional<SessionInstance> last;

    bool runs_on(sys_days d) const {
        const auto wd = [&](sys_days x) { return s.weekdays >> weekday{x}.c_encoding() & 1; };
        if (!wd(d)) return false;
        // An overnight session is open on two days: both must be trading days (CME: Sun-Fri).
        if (overnight() && !wd(d - days{1})) return false;
        return !std::binary_search(s.holidays.begin(), s.holidays.end(), d);
    }
    bool overnight() const { return s.close < s.open || (s.close == s.open && s.open.count() != 0); }

    Timestamp to_utc(sys_days day, minutes tod) const {
        if (utc) return Timestamp{duration_cast<Duration>(day.time_since_epoch() + tod)};
        // Earliest on purpose: a repeated local time takes its first instant, and a skipped one
        // (an open inside a spring-forward gap) the instant the clocks jump.
        const date::local_days local{day.time_since_epoch()};
        return Timestamp{duration_cast<Duration>(zone->to_sys(local + tod, date::choose::earliest).time_since_epoch())};
    }

    std::optional<SessionInstance> session_for(sys_days d) const {
        if (!runs_on(d)) return std::nullopt;
        SessionInstance inst;
        inst.trading_date = d;
        if (s.open < s.close) {
            inst.open = to_utc(d, s.open);
            inst.close = to_utc(d, s.close);
        } else if (s.open == s.close && s.open.count() == 0) {
            inst.open = to_utc(d, minutes{0});
            inst.close = to_utc(d + days{1}, minutes{0});
        } else {
            inst.open = to_utc(d - days{1}, s.open);
            inst.close = to_utc(d, s.close);
        }
        return inst;
    }

    sys_days local_date(Timestamp t) const {
        const auto secs = floor<seconds>(t);
        if (utc) return floor<days>(secs);
        const auto local = zone->to_local(secs);
        return sys_days{floor<days>(local).time_since_epoch()};
    }
};

SessionCalendar::SessionCalendar(Session s) : impl_(std::make_unique<Impl>()) {
    impl_->s = std::move(s);
    impl_->utc = impl_->s.zone == "UTC";
    if (!impl_->utc) {
        try {
            impl_->zone = date::locate_zone(impl_->s.zone);
        } catch (const std::exception&) {
            throw InvalidInput("unknown time zone '" + impl_->s.zone + "'");
        }
    }
}
SessionCalendar::~SessionCalendar() = default;
SessionCalendar::SessionCalendar(SessionCalendar&&) noexcept = default;
SessionCalendar& SessionCalendar::operator=(SessionCalendar&&) noexcept = default;

const Session& SessionCalendar::session() const noexcept { return impl_->s; }

std::optional<SessionInstance> SessionCalendar::containing(Timestamp t) {
    auto& m = *impl_;
    if (m.last && t >= m.last->open && t < m.last->close) return m.last;
    const auto d = m.local_date(t);
    for (const auto cand : {d, d + days{1}, d - days{1}}) {
        const auto inst = m.session_for(cand);
        if (inst && t >= inst->open && t < inst->close) {
            m.last = inst;
            return inst;
        }
    }
    return std::nullopt;
}

SessionInstance SessionCalendar::next_after(Timestamp t) {
    auto& m = *impl_;
    const auto d = m.local_date(t);
    // Ten years of holidays would be absurd; a calendar with no session at all is a bad spec.
    for (int k = -1; k < 3700; ++k)
        if (const auto inst = m.session_for(d + days{k}); inst && inst->open > t) return *inst;
    throw InvalidInput("session '" + format_session(m.s) + "' has no session in ten years");
}

std::optional<SessionInstance> SessionCalendar::on(sys_days trading_date) { return impl_->session_for(trading_date); }

std::optional<std::string> session_base_problem(const Session& s, Duration base) {
    if (s.is_24x7()) return std::nullopt;
    constexpr std::int64_t kDayNs = 86'400'000'000'000;
    const std::int64_t base_ns = base.count();
    const std::string what = "session '" + format_session(s) + "' on " + format_timeframe(base) + " bars: ";
    if (base_ns <= 0) return what + "the base must be positive";
    if (base_ns >= kDayNs)
        return what + "a session picks bars by the instant they start, and these start at 00:00 UTC, a date rather "
                      "than a time of the trading day; keep the series 24x7, or give the session to an intraday "
                      "series and query it with --timeframe 1d";
    // A year covers every weekday, both sides of any DST change, and the holidays of one year.
    SessionCalendar calendar(s);
    const sys_days first{date::sys_days{date::year{2024} / 1 / 1}.time_since_epoch()};
    for (int k = 0; k < 366; ++k) {
        const auto inst = calendar.on(first + days{k});
        if (!inst) continue;
        const std::int64_t open = inst->open.time_since_epoch().count(), close = inst->close.time_since_epoch().count();
        const std::int64_t first_bar = (open + base_ns - 1) / base_ns * base_ns;  // open > 0 in 2024
        if (first_bar < close) return std::nullopt;
    }
    return what + "no bar starts inside any of its sessions (bars start at multiples of " + format_timeframe(base) +
           " from 00:00 UTC), so every query would be empty; use a base that divides the session's hours";
}

}  // namespace barstore
