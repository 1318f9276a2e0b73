// ingest/csv_rows.cpp: the CSV row parser, the hot loop: fields -> one bar per line at the
// chunk's decimal scale (raised as finer values appear). Guards that the first bad row of a
// chunk is recorded with its line and reason, and that no bar is stored past it.
#include "ingest/csv_rows.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include <sys/mman.h>

#include "ingest/csv_number.hpp"
#include "ingest/csv_text.hpp"

namespace barstore::csv_detail {

namespace {

constexpr std::int64_t kNsPerSec = 1'000'000'000;
constexpr std::int64_t kSecPerDay = 86'400;
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

// Both bytes are read before either is checked; kPad makes the read past a '\n' safe.
inline bool two_digits(const char* p, int& v) {
    const unsigned a = static_cast<unsigned char>(p[0]) - 48u;
    const unsigned b = static_cast<unsigned char>(p[1]) - 48u;
    v = static_cast<int>(a * 10 + b);
    return a < 10 && b < 10;
}

constexpr bool is_leap(int y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }
constexpr int days_in_month(int y, int m) {
    constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}
// Howard Hinnant's days_from_civil: the same answer as date::sys_days{ymd}, without a call.
constexpr std::int64_t days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const auto doy = static_cast<unsigned>((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1);
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}
static_assert(days_from_civil(1970, 1, 1) == 0 && days_from_civil(2000, 3, 1) == 11017);

// Fields may carry blanks around them and double quotes, as spreadsheet exports write them.
inline bool open_field(const char*& p) {
    while (*p == ' ') ++p;
    if (*p != '"') return false;
    ++p;
    return true;
}
inline bool close_field(const char*& p, bool quoted) {
    if (quoted) {
        if (*p != '"') return false;
        ++p;
    }
    while (*p == ' ') ++p;
    return true;
}

// Columns of a big file are hundreds of MB, first touched while parsing; with 4 KiB pages the
// page faults cost as much as the parsing. Asking for transparent huge pages (Linux, THP in
// "madvise" mode) on the reserved but untouched buffers makes that ~500x fewer faults.
void reserve_columns(BarColumns& bars, std::size_t rows) {
    bars.reserve(rows);
    constexpr std::uintptr_t kHuge = 2u << 20;
    if (rows * sizeof(std::int64_t) < 4 * kHuge) return;
    for (auto* col : {&bars.ts, &bars.open, &bars.high, &bars.low, &bars.close, &bars.volume}) {
        const auto begin = (reinterpret_cast<std::uintptr_t>(col->data()) + kHuge - 1) & ~(kHuge - 1);
        const auto end = (reinterpret_cast<std::uintptr_t>(col->data() + col->capacity())) & ~(kHuge - 1);
        if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);  // a hint
    }
}

}  // namespace

// One row's fields as parsed, before the stamp is resolved and the numbers scaled.
struct Row {
    Num price[4];  // open, high, low, close
    Num volume;
    std::int64_t epoch_ns = 0, days = 0, tod_s = 0, frac_ns = 0, offset_s = 0;
    bool epoch = false, has_offset = false;
};

// Why a row failed where only fail() can tell the exact reason from the field text.
enum class Why : std::uint8_t { field, too_big, tz_gap };

ChunkParser::ChunkParser(const Layout& layout, const date::time_zone* zone, const std::string& tz_name,
                         std::size_t expect_rows, BarColumns columns)
    : bars(std::move(columns)), layout_(layout), tz_(zone), tz_name_(tz_name) {
    reserve_columns(bars, expect_rows);
}

bool ChunkParser::parse(const char* p, const char* end, bool unterminated) {
    range_end_ = end;
    unterminated_ = unterminated;
    constexpr Role kCanonical[] = {Role::ts, Role::open, Role::high, Role::low, Role::close, Role::volume};
    return std::equal(layout_.roles.begin(), layout_.roles.end(), std::begin(kCanonical), std::end(kCanonical))
        ? parse_rows<true>(p, end)
        : parse_rows<false>(p, end);
}

// kCanonical: the layout is ts,open,high,low,close,volume, known at compile time, so the field
// loop unrolls into straight-line code; the most common layout parses ~15% faster.
template <bool kCanonical>
bool ChunkParser::parse_rows(const char* p, const char* end) {
    constexpr Role kRoles6[] = {Role::ts, Role::open, Role::high, Role::low, Role::close, Role::volume};
    const Role* roles = kCanonical ? kRoles6 : layout_.roles.data();
    const std::size_t ncols = kCanonical ? 6 : layout_.roles.size();
    const char delim = layout_.delim;
    const char* next_checkpoint = p + kCheckpointBytes;
    Row r;
    while (p < end) {
        if (p >= next_checkpoint) [[unlikely]] {
            if (checkpoint && !checkpoint(p)) return false;
            next_checkpoint = p + kCheckpointBytes;
        }
        const char* line = p;
        if (*p == '\n' || (*p == '\r' && p[1] == '\n')) {  // blank lines are skipped
            p += *p == '\r' ? 2 : 1;
            ++lines;
            continue;
        }
#pragma GCC unroll 6
        for (std::size_t c = 0; c < ncols; ++c) {
            bool ok = true;
            switch (roles[c]) {
                case Role::skip:
                case Role::symbol:  // read by the driver before the rows (csv.cpp, split_by_symbol)
                    while (*p != delim && *p != '\n' && *p != '\r') ++p;
                    break;
                case Role::ts: ok = parse_ts(p, r); break;
                case Role::date: ok = parse_date_field(p, r); break;
                case Role::time: ok = parse_time_field(p, r); break;
                case Role::open:
                case Role::high:
                case Role::low:
                case Role::close: {
                    const bool quoted = open_field(p);
                    ok = parse_number(p, r.price[static_cast<int>(roles[c]) - static_cast<int>(Role::open)]) &&
                         close_field(p, quoted);
                    break;
                }
                case Role::volume: {
                    const bool quoted = open_field(p);
                    ok = parse_number(p, r.volume) && close_field(p, quoted);
                    break;
                }
            }
            if (!ok) return fail(line, c, Why::field);
            if (c + 1 < ncols) {
                if (*p != delim) return fail(line, c, Why::field);
                ++p;
            }
        }
        if (*p == '\r') ++p;
        if (*p != '\n') return fail(line, ncols - 1, Why::field);
        ++p;
        if (!finish_row(r, line)) return false;
        rounded_values += r.price[0].rounded + r.price[1].rounded + r.price[2].rounded + r.price[3].rounded +
                          r.volume.rounded;
        ++lines;
    }
    return true;
}

[[gnu::always_inline]] inline bool ChunkParser::take_cached_date(const char*& p, std::int64_t& days) {
    if (date_len_ == 0) return false;
    std::uint64_t head;
    std::memcpy(&head, p, 8);
    if (head != date_head_) return false;
    if (date_len_ == 10) {
        std::uint16_t tail;
        std::memcpy(&tail, p + 8, 2);
        if (tail != date_tail_) return false;
    } else if (is_digit(p[8])) {
        return false;  // `20110103` is a prefix of the epoch number `2011010399`
    }
    days = date_days_;
    p += date_len_;
    return true;
}

// YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD; remembers the date for take_cached_date.
bool ChunkParser::parse_date(const char*& p, std::int64_t& days) {
    int y1 = 0, y2 = 0, mo = 0, d = 0;
    if (!two_digits(p, y1) || !two_digits(p + 2, y2)) return false;
    std::size_t len = 8;
    if (p[4] == '-' || p[4] == '/') {
        if (!two_digits(p + 5, mo) || p[7] != p[4] || !two_digits(p + 8, d)) return false;
        len = 10;
    } else if (!two_digits(p + 4, mo) || !two_digits(p + 6, d)) {
        return false;
    }
    if (is_digit(p[len])) return false;
    const int y = y1 * 100 + y2;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) {
        ts_why_ = "no such date";
        return false;
    }
    // int64 nanoseconds since 1970 reach from 1677-09-21 to 2262-04-11; whole years inside
    // that, with a day to spare for zone offsets, keep every later multiply overflow-free.
    if (y < 1678 || y > 2261) {
        ts_why_ = "date outside 1678..2261 (the range of int64 nanoseconds)";
        return false;
    }
    days = days_from_civil(y, mo, d);
    std::memcpy(&date_head_, p, 8);
    if (len == 10) std::memcpy(&date_tail_, p + 8, 2);
    date_len_ = len;
    date_days_ = days;
    p += len;
    return true;
}

// HH:MM[:SS][.fraction], HHMMSS or HHMM.
[[gnu::always_inline]] inline bool ChunkParser::parse_tod(const char*& p, Row& r) {
    int h = 0, mi = 0, s = 0;
    if (!two_digits(p, h)) return false;
    if (p[2] == ':') {
        if (!two_digits(p + 3, mi)) return false;
        p += 5;
        if (*p == ':') {
            if (!two_digits(p + 1, s)) return false;
            p += 3;
        }
    } else {
        if (!two_digits(p + 2, mi)) return false;
        p += 4;
        if (is_digit(*p)) {
            if (!two_digits(p, s)) return false;
            p += 2;
        }
    }
    if (h > 23 || mi > 59 || s > 59) {
        ts_why_ = "no such time of day";
        return false;
    }
    r.tod_s = h * 3600 + mi * 60 + s;
    r.frac_ns = 0;
    if (*p == '.') {
        const char* f = ++p;
        std::int64_t frac = 0;
        for (; is_digit(*p); ++p)
            if (p - f < 9) frac = frac * 10 + (*p - '0');
        const auto n = p - f;
        if (n == 0 || n > 9) return false;
        r.frac_ns = frac * pow10(static_cast<int>(9 - n));
    }
    return true;
}

// Z, +HH:MM, +HHMM or +HH after a time; none means the row is naive local time in --tz.
[[gnu::always_inline]] inline bool ChunkParser::parse_offset(const char*& p, Row& r) {
    r.has_offset = false;
    if (*p == 'Z' || *p == 'z') {
        ++p;
        r.has_offset = true;
        r.offset_s = 0;
    } else if ((*p == '+' || *p == '-') && is_digit(p[1])) {
        const bool negative = *p == '-';
        int oh = 0, om = 0;
        if (!two_digits(p + 1, oh)) return false;
        p += 3;
        if (*p == ':') {
            if (!two_digits(p + 1, om)) return false;
            p += 3;
        } else if (is_digit(*p)) {
            if (!two_digits(p, om)) return false;
            p += 2;
        }
        if (oh > 23 || om > 59) return false;
        r.offset_s = (negative ? -1 : 1) * (oh * 3600 + om * 60);
        r.has_offset = true;
    }
    return true;
}

// Epoch integers: the unit follows from the digit count, for stamps between 1973 and 5138:
//   <= 11 digits: seconds, 12-14: milliseconds, 15-17: microseconds, 18-19: nanoseconds.
// (2021 is 10 digits in s, 13 in ms, 16 in us, 19 in ns; each class is 1000x the previous.)
[[gnu::always_inline]] inline bool ChunkParser::parse_epoch(const char*& p, std::size_t digits, Row& r) {
    if (digits == 0) return false;
    if (digits > 19) {
        ts_why_ = "epoch timestamp has more than 19 digits";
        return false;
    }
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < digits; ++i) v = v * 10 + static_cast<unsigned>(p[i] - '0');
    p += digits;
    const std::int64_t unit_ns = digits <= 11 ? kNsPerSec : digits <= 14 ? 1'000'000 : digits <= 17 ? 1'000 : 1;
    if (v > static_cast<std::uint64_t>(kInt64Max) ||
        __builtin_mul_overflow(static_cast<std::int64_t>(v), unit_ns, &r.epoch_ns)) {
        ts_why_ = "epoch timestamp after 2262 (the range of int64 nanoseconds)";
        return false;
    }
    r.epoch = true;
    return true;
}

[[gnu::always_inline]] inline bool ChunkParser::parse_ts(const char*& p, Row& r) {
    const bool quoted = open_field(p);
    r.epoch = false;
    r.has_offset = false;
    r.tod_s = 0;
    r.frac_ns = 0;
    if (!take_cached_date(p, r.days)) {
        const char* s = p;
        while (is_digit(*s)) ++s;
        const auto n = static_cast<std::size_t>(s - p);
        if (n == 8 || (n == 4 && (*s == '-' || *s == '/'))) {
            if (!parse_date(p, r.days)) return false;
        } else {
            return parse_epoch(p, n, r) && close_field(p, quoted);
        }
    }
    // A time follows a 'T' or a blank; a blank before anything else is padding.
    if (*p == 'T' || (*p == ' ' && is_digit(p[1]))) {
        ++p;
        if (!parse_tod(p, r) || !parse_offset(p, r)) return false;
    }
    return close_field(p, quoted);
}

[[gnu::always_inline]] inline bool ChunkParser::parse_date_field(const char*& p, Row& r) {
    const bool quoted = open_field(p);
    r.epoch = false;
    if (!take_cached_date(p, r.days) && !parse_date(p, r.days)) return false;
    return close_field(p, quoted);
}

[[gnu::always_inline]] inline bool ChunkParser::parse_time_field(const char*& p, Row& r) {
    const bool quoted = open_field(p);
    return parse_tod(p, r) && parse_offset(p, r) && close_field(p, quoted);
}

[[gnu::always_inline]] inline bool ChunkParser::finish_row(const Row& r, const char* line) {
    std::int64_t ts = r.epoch_ns;
    if (!r.epoch) {
        std::int64_t s = r.days * kSecPerDay + r.tod_s;
        if (r.has_offset) s -= r.offset_s;
        else if (!tz_.to_utc(s, s)) {
            // Blame the ts field, or with separate date and time fields the time (the date, for
            // a zone whose clocks skip midnight): a missing column is kNpos, no field index.
            std::size_t col = layout_.column[static_cast<std::size_t>(Role::ts)];
            if (col == kNpos) col = layout_.column[static_cast<std::size_t>(Role::time)];
            if (col == kNpos) col = layout_.column[static_cast<std::size_t>(Role::date)];
            return fail(line, col, Why::tz_gap);
        }
        ts = s * kNsPerSec + r.frac_ns;  // in range: parse_date admits 1678..2261 only
    }

    // One scale per file: a value with more decimals than seen so far rescales what is stored
    // (rare, amortised); a value with fewer is multiplied up to the current scale.
    int need = std::max(std::max(r.price[0].decimals, r.price[1].decimals),
                        std::max(r.price[2].decimals, r.price[3].decimals));
    if (need > price_decimals && !raise_scale(true, need)) return false;
    if (r.volume.decimals > volume_decimals && !raise_scale(false, r.volume.decimals)) return false;

    std::int64_t price[4];
    for (int k = 0; k < 4; ++k) {
        const Num& n = r.price[k];
        const auto m = n.negative ? -static_cast<std::int64_t>(n.mag) : static_cast<std::int64_t>(n.mag);
        if (__builtin_mul_overflow(m, pow10(price_decimals - n.decimals), &price[k]))
            return fail(line, layout_.column[static_cast<std::size_t>(Role::open) + static_cast<std::size_t>(k)],
                        Why::too_big);
    }
    std::int64_t volume = 0;
    {
        const Num& n = r.volume;
        const auto m = n.negative ? -static_cast<std::int64_t>(n.mag) : static_cast<std::int64_t>(n.mag);
        if (__builtin_mul_overflow(m, pow10(volume_decimals - n.decimals), &volume))
            return fail(line, layout_.column[static_cast<std::size_t>(Role::volume)], Why::too_big);
    }
    bars.ts.push_back(ts);
    bars.open.push_back(price[0]);
    bars.high.push_back(price[1]);
    bars.low.push_back(price[2]);
    bars.close.push_back(price[3]);
    bars.volume.push_back(volume);
    return true;
}

// Multiplies the stored prices (or volumes) so they carry `to` decimals. On overflow the chunk
// ends before the first row that no longer fits, and that row is the error.
bool ChunkParser::raise_scale(bool prices, int to) {
    int& from = prices ? price_decimals : volume_decimals;
    const std::int64_t factor = pow10(to - from);
    std::vector<std::int64_t>* cols[4] = {&bars.open, &bars.high, &bars.low, &bars.close};
    if (!prices) cols[0] = &bars.volume;
    const int ncols = prices ? 4 : 1;
    from = to;
    for (std::size_t i = 0; i < bars.size(); ++i) {
        for (int c = 0; c < ncols; ++c) {
            auto& v = (*cols[c])[i];
            if (__builtin_mul_overflow(v, factor, &v)) {
                error = RowError{i, 0,
                                 std::string(prices ? "price" : "volume") + " does not fit in a 64-bit integer at " +
                                     std::to_string(to) + " decimals (a later value has " + std::to_string(to) + ")",
                                 {}, true};
                for (auto* col : {&bars.ts, &bars.open, &bars.high, &bars.low, &bars.close, &bars.volume})
                    col->resize(i);
                return false;
            }
        }
    }
    return true;
}

// Records why the row at `line` failed in field `col`. A wrong field count is the likelier
// story whenever the count is off, so it is checked first.
[[gnu::cold]] bool ChunkParser::fail(const char* line, std::size_t col, Why why) {
    const auto* eol = static_cast<const char*>(std::memchr(line, '\n', static_cast<std::size_t>(range_end_ - line)));
    std::string_view text(line, static_cast<std::size_t>(eol - line));
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    const auto fields = split(text, layout_.delim);
    const auto want = layout_.roles.size();
    RowError e{bars.size(), lines + 1, {}, {}};
    if (fields.size() != want) {
        const bool last_line_cut = unterminated_ && eol + 1 == range_end_;
        e.reason = std::string(last_line_cut ? "line cut short (no newline at end of file): " : "wrong field count: ") +
                   "expected " + std::to_string(want) + " fields, got " + std::to_string(fields.size());
        e.got = text;
    } else {
        const Role role = layout_.roles[col];
        e.got = fields[col];
        if (why == Why::tz_gap) {
            e.reason = "local time does not exist in " + tz_name_ + " (skipped by a daylight-saving change)";
            if (role != Role::ts) e.got = text;
        } else if (why == Why::too_big) {
            e.scale = true;
            const bool price = role != Role::volume;
            e.reason = std::string(role_name(role)) + " does not fit in a 64-bit integer at " +
                       std::to_string(price ? price_decimals : volume_decimals) + " decimals";
        } else if (role == Role::ts || role == Role::date || role == Role::time) {
            const char* general = role == Role::ts
                ? "unparseable timestamp (expected epoch s/ms/us/ns, 2021-12-31 23:01:00[.ffffff][Z|+01:00], "
                  "2021-12-31T23:01:00 or 20110103 090100)"
                : role == Role::date ? "unparseable date (expected 2011-01-03 or 20110103)"
                                     : "unparseable time of day (expected 09:30:00 or 093000)";
            e.reason = ts_why_ ? std::string(role_name(role)) + ": " + ts_why_ : general;
        } else if (role == Role::skip || role == Role::symbol) {
            e.reason = "malformed field " + std::to_string(col + 1);
        } else {
            e.reason = diagnose_number(fields[col], role_name(role));
        }
    }
    error = std::move(e);
    return false;
}


}  // namespace barstore::csv_detail
