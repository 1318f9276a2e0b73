// ingest/csv.cpp: CSV bytes -> one validated SeriesBatch. Owns the accepted dialects
// (delimiter, optional header, timestamp spellings, --tz) and the exact per-file decimal scale;
// guards that every problem names its source line and that the first one in file order wins.
#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <thread>

#include <sys/mman.h>

#include <date/tz.h>

#include "barstore/error.hpp"
#include "barstore/ingest.hpp"
#include "barstore/time.hpp"
#include "ingest/csv_internal.hpp"

namespace barstore {

namespace {

constexpr std::int64_t kNsPerSec = 1'000'000'000;
constexpr std::int64_t kSecPerDay = 86'400;
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr int kMaxDecimals = 18;
// Every range the row parser sees ends in '\n' and has at least kPad readable bytes after it,
// so peeks such as the 10-byte date compare or "two digits at once" need no bounds check.
constexpr std::size_t kPad = 64;
constexpr std::size_t kMaxGot = 80;
// How often (in input bytes) a chunk looks up from parsing: progress and cancellation.
constexpr std::size_t kCheckpointBytes = 4u << 20;
constexpr std::size_t kNpos = static_cast<std::size_t>(-1);

// 10^k for k < 20. Larger k hold 0: only a number with more than 19 digits can index them,
// and such a number is re-parsed by the checked slow path anyway.
constexpr auto kPow10 = [] {
    std::array<std::uint64_t, 64> t{};
    std::uint64_t v = 1;
    for (int k = 0; k < 20; ++k, v *= 10) t[static_cast<std::size_t>(k)] = v;
    return t;
}();
inline std::int64_t pow10(int k) { return static_cast<std::int64_t>(kPow10[static_cast<std::size_t>(k)]); }

inline bool is_digit(char c) { return static_cast<unsigned char>(c) - 48u < 10u; }

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

std::vector<std::string_view> split(std::string_view line, char delim) {
    std::vector<std::string_view> out;
    for (std::size_t start = 0;;) {
        const auto pos = line.find(delim, start);
        out.push_back(line.substr(start, pos == std::string_view::npos ? pos : pos - start));
        if (pos == std::string_view::npos) return out;
        start = pos + 1;
    }
}

std::string_view trim(std::string_view s, std::string_view chars = " ") {
    while (!s.empty() && chars.find(s.front()) != std::string_view::npos) s.remove_prefix(1);
    while (!s.empty() && chars.find(s.back()) != std::string_view::npos) s.remove_suffix(1);
    return s;
}

// The offending text as it appears in a one-line message: control bytes escaped, long text cut.
std::string printable(std::string_view s) {
    std::string out;
    const bool cut = s.size() > kMaxGot;
    if (cut) s = s.substr(0, kMaxGot - 3);
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u != 0x7F) {
            out += c;
        } else {
            constexpr char kHex[] = "0123456789abcdef";
            out += c == '\r' ? "\\r" : c == '\t' ? "\\t" : std::string{'\\', 'x', kHex[u >> 4], kHex[u & 15]};
        }
    }
    return cut ? out + "..." : out;
}

[[noreturn]] void throw_at(const std::string& name, std::size_t line, const std::string& reason,
                           std::string_view got) {
    throw InvalidInput(name + ":" + std::to_string(line) + ": error: " + reason + " (got '" +
                       printable(got) + "')");
}
// Problems with the call rather than with a line of the file.
[[noreturn]] void throw_arg(const std::string& name, const std::string& reason, std::string_view got) {
    throw InvalidInput(name + ": error: " + reason + " (got '" + printable(got) + "')");
}

// ---------------------------------------------------------------------------------------------
// Layout: which field of a row is which.

enum class Role : std::uint8_t { skip, ts, date, time, open, high, low, close, volume };
constexpr std::size_t kRoles = 9;

const char* role_name(Role r) {
    switch (r) {
        case Role::skip: return "field";
        case Role::ts: return "timestamp";
        case Role::date: return "date";
        case Role::time: return "time";
        case Role::open: return "open";
        case Role::high: return "high";
        case Role::low: return "low";
        case Role::close: return "close";
        case Role::volume: return "volume";
    }
    return "field";
}

struct Layout {
    char delim = ',';
    std::vector<Role> roles;                 // one per field of a row
    std::array<std::size_t, kRoles> column;  // field index of each role, kNpos if absent

    void set(std::vector<Role> r) {
        roles = std::move(r);
        column.fill(kNpos);
        for (std::size_t i = roles.size(); i-- > 0;) column[static_cast<std::size_t>(roles[i])] = i;
    }
};

// A header is a first line with a field that no data row could have: anything but digits and
// the punctuation of numbers and times (`2021-12-31T23:01:00.5+01:00`, `20110103 090100`).
bool looks_like_data(std::string_view field) {
    field = trim(field, " \"");
    if (field.empty()) return false;
    bool digit = false;
    for (const char c : field) {
        if (is_digit(c)) digit = true;
        else if (std::string_view(".:-+/ TZ").find(c) == std::string_view::npos) return false;
    }
    return digit;
}

std::string header_key(std::string_view field) {
    std::string key(trim(field, " \"'<>"));
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return key;
}

// Columns by name, case-insensitively; unknown columns (Adj Close, OpenInterest, ...) are skipped.
// Returns an empty string on success, else what is missing.
std::string layout_from_header(const std::vector<std::string_view>& fields, Layout& layout) {
    std::vector<std::string> keys;
    for (const auto f : fields) keys.push_back(header_key(f));
    std::vector<Role> roles(keys.size(), Role::skip);
    const auto find = [&](std::initializer_list<std::string_view> names) {
        for (std::size_t i = 0; i < keys.size(); ++i)
            for (const auto n : names)
                if (keys[i] == n && roles[i] == Role::skip) return i;
        return kNpos;
    };
    // One column holding the whole stamp wins; else a date column with an optional time column.
    const auto single = find({"ts", "timestamp", "datetime", "date_time", "date time", "time_stamp",
                              "ts_event", "open_time", "open time"});
    if (single != kNpos) {
        roles[single] = Role::ts;
    } else if (const auto date = find({"date", "day"}); date != kNpos) {
        roles[date] = Role::date;
        if (const auto time = find({"time"}); time != kNpos) roles[time] = Role::time;
        else roles[date] = Role::ts;  // may still hold a full stamp, or a date alone
    } else if (const auto time = find({"time"}); time != kNpos) {
        roles[time] = Role::ts;
    } else {
        return "no timestamp column in the header (looked for ts, time, timestamp, datetime, date)";
    }
    struct Wanted {
        Role role;
        std::string_view name, alias;
    };
    constexpr Wanted kWanted[] = {{Role::open, "open", "open"},    {Role::high, "high", "high"},
                                  {Role::low, "low", "low"},       {Role::close, "close", "close"},
                                  {Role::volume, "volume", "vol"}};
    for (const auto& [role, name, alias] : kWanted) {
        const auto i = find({name, alias});
        if (i == kNpos) return std::string("no ") + role_name(role) + " column in the header";
        roles[i] = role;
    }
    layout.set(std::move(roles));
    return {};
}

// ---------------------------------------------------------------------------------------------
// Numbers: exact decimals, never through floating point.

struct Num {
    std::uint64_t mag = 0;
    int decimals = 0;
    bool negative = false;
    bool rounded = false;  ///< float noise past 15 significant digits was rounded away
};

// Text with more than 15 significant digits can only come from a binary double printed in full
// (Python's repr gives `218102.59507500002` for an interpolated 218102.595075); 15 digits is what
// any double guarantees (DBL_DIG), the rest is noise of the binary-to-decimal conversion. Such a
// fraction is rounded, half-even and in decimal, to 15 significant digits. Without this one noisy
// value forces 11 volume decimals on a whole file and larger volumes overflow int64. Integer
// digits are never rounded, and text of up to 15 significant digits is always kept exactly.
constexpr std::size_t kSignificantDigits = 15;

enum class NumStatus : std::uint8_t { ok, syntax, decimals, range };

// The general path: long fields, float noise, and the diagnosis of bad fields. `t` is the
// whole number without blanks or quotes.
NumStatus parse_number_general(std::string_view t, Num& n) {
    n = Num{};
    std::size_t i = 0;
    if (i < t.size() && (t[i] == '-' || t[i] == '+')) n.negative = t[i++] == '-';
    std::string digits;  // all digits, leading zeros dropped: value = digits / 10^frac
    std::size_t frac = 0, count = 0;
    bool dot = false;
    for (; i < t.size(); ++i) {
        if (t[i] == '.' && !dot) {
            dot = true;
            continue;
        }
        if (!is_digit(t[i])) return NumStatus::syntax;
        ++count;
        if (dot) ++frac;
        if (!digits.empty() || t[i] != '0') digits += t[i];
    }
    if (count == 0) return NumStatus::syntax;
    const auto drop_trailing_zeros = [&] {
        while (frac > 0 && !digits.empty() && digits.back() == '0') {
            digits.pop_back();
            --frac;
        }
        if (digits.empty()) frac = 0;
    };
    drop_trailing_zeros();
    if (digits.size() > kSignificantDigits && frac > 0) {
        const std::size_t keep = digits.size() - std::min(digits.size() - kSignificantDigits, frac);
        const char first = digits[keep];
        const bool rest = digits.find_first_not_of('0', keep + 1) != std::string::npos;
        const bool odd = (digits[keep - 1] - '0') % 2 == 1;
        frac -= digits.size() - keep;
        digits.resize(keep);
        n.rounded = true;
        if (first > '5' || (first == '5' && (rest || odd))) {
            std::size_t j = keep;
            for (; j > 0 && digits[j - 1] == '9'; --j) digits[j - 1] = '0';
            if (j == 0) digits.insert(digits.begin(), '1');
            else ++digits[j - 1];
        }
        drop_trailing_zeros();
    }
    if (frac > static_cast<std::size_t>(kMaxDecimals)) return NumStatus::decimals;
    std::uint64_t m = 0;
    for (const char c : digits)
        if (__builtin_mul_overflow(m, 10u, &m) || __builtin_add_overflow(m, static_cast<unsigned>(c - '0'), &m))
            return NumStatus::range;
    if (m > static_cast<std::uint64_t>(kInt64Max)) return NumStatus::range;
    n.mag = m;
    n.decimals = static_cast<int>(frac);
    return NumStatus::ok;
}

// [sign] digits [. digits], at least one digit. Trailing zeros of the fraction are dropped on the
// fly (`46319.0` is 46319 at 0 decimals) so they never force a finer scale. Stops at the first
// other byte; false for anything that is not such a number (NaN, inf, 1e5, empty).
[[gnu::always_inline]] inline bool parse_number(const char*& p, Num& n) {
    const char* start = p;
    n.negative = *p == '-';
    if (*p == '-' || *p == '+') ++p;
    const char* digits = p;
    std::uint64_t m = 0;
    while (is_digit(*p)) m = m * 10 + static_cast<unsigned>(*p++ - '0');
    auto count = static_cast<std::size_t>(p - digits);
    int decimals = 0;
    if (*p == '.') {
        const char* frac = ++p;
        int zeros = 0;
        while (is_digit(*p)) {
            const auto d = static_cast<unsigned>(*p++ - '0');
            if (d == 0) {
                ++zeros;
                continue;
            }
            m = m * kPow10[static_cast<std::size_t>(zeros + 1) & 63] + d;
            decimals += zeros + 1;
            zeros = 0;
        }
        count += static_cast<std::size_t>(p - frac);
    }
    if (count == 0) return false;
    // Up to 19 digits cannot overflow uint64; longer fields, and fractions with more than 15
    // significant digits (m >= 10^15), take the general path.
    if (count > 19 || (m >= kPow10[kSignificantDigits] && decimals > 0)) [[unlikely]]
        return parse_number_general({start, static_cast<std::size_t>(p - start)}, n) == NumStatus::ok;
    if (decimals > kMaxDecimals || m > static_cast<std::uint64_t>(kInt64Max)) return false;
    n.mag = m;
    n.decimals = decimals;
    n.rounded = false;
    return true;
}

// Why a number field failed, for the message (cold).
std::string diagnose_number(std::string_view field, const char* what) {
    auto t = trim(field);
    if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = trim(t.substr(1, t.size() - 2));
    const std::string w = what;
    if (t.empty()) return w + " is empty";
    Num n;
    switch (parse_number_general(t, n)) {
        case NumStatus::syntax: return w + " is not a decimal number";
        case NumStatus::decimals: return w + " has more than " + std::to_string(kMaxDecimals) + " decimals";
        case NumStatus::range: return w + " does not fit in a 64-bit integer";
        case NumStatus::ok: break;
    }
    return w + " is malformed";
}

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

// ---------------------------------------------------------------------------------------------
// Zones: naive local text -> UTC.

// Caches the span of local time over which one UTC offset is the answer. Spans last months,
// so a file costs a handful of tz lookups and the per-row price is two compares. For UTC the
// span is everything and tz is never consulted.
class LocalToUtc {
public:
    explicit LocalToUtc(const date::time_zone* zone) : zone_(zone) {
        if (!zone_) {
            lo_ = std::numeric_limits<std::int64_t>::min();
            hi_ = kInt64Max;
        }
    }
    /// False if the local time does not exist (skipped by a DST change).
    bool to_utc(std::int64_t local_s, std::int64_t& utc_s) {
        if (local_s >= lo_ && local_s < hi_) [[likely]] {
            utc_s = local_s - offset_s_;
            return true;
        }
        return lookup(local_s, utc_s);
    }

private:
    bool lookup(std::int64_t local_s, std::int64_t& utc_s) {
        using std::chrono::seconds;
        const auto info = zone_->get_info(date::local_seconds{seconds{local_s}});
        if (info.result == date::local_info::nonexistent) return false;
        if (info.result == date::local_info::ambiguous) {
            // A repeated hour (DST ends): take the earlier instant, as date::choose::earliest
            // does. A row decides alone (parallel chunks know no neighbours); a file that really
            // repeats the hour then fails on its first repeated stamp as a duplicate/backwards
            // timestamp with that line, instead of us guessing silently.
            utc_s = local_s - info.first.offset.count();
            return true;
        }
        const auto& cur = info.first;
        const std::int64_t off = cur.offset.count();
        utc_s = local_s - off;
        // This offset answers from the period's start in local time, except where it overlaps
        // the previous period (an ambiguous stretch, which belongs to the earlier instant),
        // up to the period's end.
        const auto prev = zone_->get_info(cur.begin - seconds{1});
        const std::int64_t lo = cur.begin.time_since_epoch().count() + std::max(off, prev.offset.count());
        const std::int64_t hi = cur.end.time_since_epoch().count() + off;
        if (lo <= local_s && local_s < hi) {
            lo_ = lo;
            hi_ = hi;
            offset_s_ = off;
        }
        return true;
    }

    const date::time_zone* zone_;
    std::int64_t lo_ = 1, hi_ = 0, offset_s_ = 0;
};

// ---------------------------------------------------------------------------------------------
// The row parser: one per chunk of the input, each with its own columns and scale.

struct RowError {
    std::size_t row = 0;   // rows of the chunk before the bad one
    std::size_t line = 0;  // 1-based line within the chunk; 0: look it up from `row`
    std::string reason, got;
    bool scale = false;    // a value that does not fit at the scale this chunk had reached
};

struct Row {
    Num price[4];  // open, high, low, close
    Num volume;
    std::int64_t epoch_ns = 0, days = 0, tod_s = 0, frac_ns = 0, offset_s = 0;
    bool epoch = false, has_offset = false;
};

enum class Why : std::uint8_t { field, too_big, tz_gap };

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

class ChunkParser {
public:
    ChunkParser(const Layout& layout, const date::time_zone* zone, const std::string& tz_name,
                std::size_t expect_rows)
        : layout_(layout), tz_(zone), tz_name_(tz_name) {
        reserve_columns(bars, expect_rows);
    }

    /// Parses the lines of [p, end): end[-1] == '\n' and kPad bytes past end are readable.
    /// `unterminated`: the file's last line had no newline (the caller added one). Returns
    /// false once an error is recorded or `checkpoint` asked to stop.
    bool parse(const char* p, const char* end, bool unterminated);

    BarColumns bars;
    int price_decimals = 0, volume_decimals = 0;
    std::size_t rounded_values = 0;   // values cut to 15 significant digits
    std::size_t lines = 0;            // newlines consumed
    std::optional<RowError> error;
    /// Called every kCheckpointBytes with the read position; false stops the chunk.
    std::function<bool(const char*)> checkpoint;

private:
    template <bool kCanonical>
    bool parse_rows(const char* p, const char* end);
    bool parse_ts(const char*& p, Row& r);
    bool parse_date_field(const char*& p, Row& r);
    bool parse_time_field(const char*& p, Row& r);
    bool take_cached_date(const char*& p, std::int64_t& days);
    bool parse_date(const char*& p, std::int64_t& days);
    bool parse_tod(const char*& p, Row& r);
    bool parse_offset(const char*& p, Row& r);
    bool parse_epoch(const char*& p, std::size_t digits, Row& r);
    bool finish_row(const Row& r, const char* line);
    bool raise_scale(bool prices, int to);
    bool fail(const char* line, std::size_t col, Why why);

    const Layout& layout_;
    LocalToUtc tz_;
    const std::string& tz_name_;
    const char* range_end_ = nullptr;
    bool unterminated_ = false;
    const char* ts_why_ = nullptr;  // a precise reason set where a timestamp fails
    // The last date parsed, as raw bytes: minute bars repeat a date ~1440 times in a row.
    std::uint64_t date_head_ = 0;
    std::uint16_t date_tail_ = 0;
    std::size_t date_len_ = 0;
    std::int64_t date_days_ = 0;
};

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

bool ChunkParser::parse_date_field(const char*& p, Row& r) {
    const bool quoted = open_field(p);
    r.epoch = false;
    if (!take_cached_date(p, r.days) && !parse_date(p, r.days)) return false;
    return close_field(p, quoted);
}

bool ChunkParser::parse_time_field(const char*& p, Row& r) {
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
        } else if (role == Role::skip) {
            e.reason = "malformed field " + std::to_string(col + 1);
        } else {
            e.reason = diagnose_number(fields[col], role_name(role));
        }
    }
    error = std::move(e);
    return false;
}

// ---------------------------------------------------------------------------------------------
// Driver: preamble, split, parse in parallel, reconcile scales, validate.

// Appends src to dst, multiplying prices by 10^kp and volumes by 10^kv. Returns the index in
// src of the first row that overflows (rows before it are appended), or kNpos.
std::size_t append_rescaled(BarColumns& dst, const BarColumns& src, int kp, int kv) {
    if (kp == 0 && kv == 0) {
        dst.append(src, 0, src.size());
        return kNpos;
    }
    const std::int64_t fp = pow10(kp), fv = pow10(kv);
    const std::size_t n = src.size();
    for (std::size_t i = 0; i < n; ++i) {
        std::int64_t o, h, l, c, v;
        if (__builtin_mul_overflow(src.open[i], fp, &o) || __builtin_mul_overflow(src.high[i], fp, &h) ||
            __builtin_mul_overflow(src.low[i], fp, &l) || __builtin_mul_overflow(src.close[i], fp, &c) ||
            __builtin_mul_overflow(src.volume[i], fv, &v))
            return i;
        dst.ts.push_back(src.ts[i]);
        dst.open.push_back(o);
        dst.high.push_back(h);
        dst.low.push_back(l);
        dst.close.push_back(c);
        dst.volume.push_back(v);
    }
    return kNpos;
}

const char* line_end(const char* p, const char* e) {
    const auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(e - p)));
    return nl ? nl : e;
}
std::string_view line_text(const char* p, const char* eol) {
    std::string_view s(p, static_cast<std::size_t>(eol - p));
    if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
    return s;
}

bool is_utc(const std::string& tz) { return tz == "UTC" || tz == "Etc/UTC"; }

struct Pending {
    std::size_t row;   // global index of the bad row
    std::size_t line;  // 0: look it up
    std::string reason, got;
};

}  // namespace

namespace csv_detail {

std::vector<SeriesBatch> parse_csv(std::string_view data, const std::string& name,
                                   const ParseOptions& opts, const Tuning& tuning) {
    // The call's own arguments first: they are wrong whatever the file holds.
    std::string symbol = opts.symbol;
    if (symbol.empty()) {
        symbol = std::filesystem::path(name).stem().string();
        if (symbol.empty()) symbol = name;
    }
    try {
        validate_symbol(symbol);
    } catch (const InvalidInput& e) {
        throw InvalidInput(name + ": error: " + e.what());
    }
    const date::time_zone* zone = nullptr;
    if (!is_utc(opts.tz)) {
        try {
            zone = date::locate_zone(opts.tz);
        } catch (const std::exception&) {
            throw_arg(name, "unknown --tz time zone, expected an IANA name such as America/New_York", opts.tz);
        }
    }
    if (opts.timeframe && opts.timeframe->count() <= 0)
        throw_arg(name, "--timeframe must be positive", std::to_string(opts.timeframe->count()) + "ns");
    // Asked before the bytes are read: a symbol with several bases fails at once.
    std::optional<Duration> stored_base;
    if (!opts.timeframe && opts.stored_base) {
        try {
            stored_base = opts.stored_base(symbol);
        } catch (const InvalidInput& e) {
            throw InvalidInput(name + ": error: " + e.what());
        }
        if (stored_base && stored_base->count() <= 0)
            throw_arg(name, "stored base must be positive", std::to_string(stored_base->count()) + "ns");
    }

    const char* b = data.data();
    const char* const e = b + data.size();
    if (data.starts_with("\xEF\xBB\xBF")) b += 3;  // UTF-8 byte order mark from spreadsheet exports

    // Blank lines before the first line are skipped, as they are between rows.
    std::size_t line_no = 1;
    while (b < e && line_text(b, line_end(b, e)).empty()) {
        b = std::min(line_end(b, e) + 1, e);
        ++line_no;
    }
    if (b == e) throw_at(name, 1, "empty file", "");

    // The delimiter is whichever of tab, ';' and ',' the first line has, in that order: a ';'
    // file may use ',' as decimal mark, which we then reject field by field rather than misread.
    const char* first_eol = line_end(b, e);
    const std::string_view first = line_text(b, first_eol);
    Layout layout;
    layout.delim = first.find('\t') != std::string_view::npos ? '\t'
                 : first.find(';') != std::string_view::npos  ? ';'
                                                               : ',';
    const auto first_fields = split(first, layout.delim);
    const bool header = !std::all_of(first_fields.begin(), first_fields.end(), looks_like_data);
    const char* ds = b;  // first byte of the first data line
    std::size_t first_data_line = line_no;
    if (header) {
        if (const auto missing = layout_from_header(first_fields, layout); !missing.empty())
            throw_at(name, line_no, missing, first);
        ds = std::min(first_eol + 1, e);
        ++first_data_line;
    } else if (first_fields.size() == 6) {
        layout.set({Role::ts, Role::open, Role::high, Role::low, Role::close, Role::volume});
    } else if (first_fields.size() == 7) {
        layout.set({Role::date, Role::time, Role::open, Role::high, Role::low, Role::close, Role::volume});
    } else {
        throw_at(name, line_no,
                 "without a header a row has 6 fields (ts,open,high,low,close,volume) or 7 "
                 "(date,time,open,high,low,close,volume); this one has " +
                     std::to_string(first_fields.size()),
                 first);
    }

    // The last lines go to a padded copy, so fixed-width peeks in the big range stay inside the
    // buffer and a last line without newline gets one.
    const char* cut = ds;
    if (e - ds > static_cast<std::ptrdiff_t>(kPad)) {
        const char* limit = e - kPad;
        const auto* nl = static_cast<const char*>(memrchr(ds, '\n', static_cast<std::size_t>(limit - ds)));
        cut = nl ? nl + 1 : ds;
    }
    std::string tail(cut, e);
    const bool unterminated = !tail.empty() && tail.back() != '\n';
    if (unterminated) tail += '\n';
    const std::size_t tail_len = tail.size();
    tail.append(kPad, '\0');

    // Split the big range at line starts, one chunk per thread.
    const auto main_len = static_cast<std::size_t>(cut - ds);
    std::size_t threads = 1;
    if (data.size() > tuning.parallel_min_bytes) {
        const unsigned hw = tuning.threads ? tuning.threads : std::min(std::max(std::thread::hardware_concurrency(), 1u), 8u);
        threads = std::min<std::size_t>(hw, std::max<std::size_t>(1, main_len / std::max<std::size_t>(tuning.min_chunk_bytes, 1)));
    }
    std::vector<const char*> bounds{ds};
    for (std::size_t i = 1; i < threads; ++i) {
        const char* t = std::max(ds + main_len * i / threads, bounds.back());
        const auto* nl = static_cast<const char*>(std::memchr(t, '\n', static_cast<std::size_t>(cut - t)));
        if (nl && nl + 1 < cut && nl + 1 > bounds.back()) bounds.push_back(nl + 1);
    }
    bounds.push_back(cut);
    const std::size_t nchunks = bounds.size() - 1;

    // Rows per byte from the first lines, to reserve the columns once.
    std::size_t sample_lines = 0;
    const char* sample_end = ds;
    while (sample_lines < 64 && sample_end < e) {
        sample_end = std::min(line_end(sample_end, e) + 1, e);
        ++sample_lines;
    }
    const double bytes_per_row = sample_lines ? static_cast<double>(sample_end - ds) / static_cast<double>(sample_lines) : 64.0;
    const auto estimate = [&](std::size_t bytes) {
        // No row is shorter than `1,1,1,1,1,1\n`, so blank or odd first lines cannot make this explode.
        return static_cast<std::size_t>(static_cast<double>(bytes) / std::max(bytes_per_row, 12.0) * 1.02) + 16;
    };

    std::vector<ChunkParser> parsers;
    parsers.reserve(nchunks);
    for (std::size_t i = 0; i < nchunks; ++i)
        // The first chunk's columns become the result, so they reserve for the whole file.
        parsers.emplace_back(layout, zone, opts.tz,
                             estimate(i == 0 ? static_cast<std::size_t>(e - ds) : static_cast<std::size_t>(bounds[i + 1] - bounds[i])));

    std::atomic<std::size_t> first_failed{kNpos};
    const std::uint64_t total_bytes = data.size();
    for (std::size_t i = 0; i < nchunks; ++i) {
        if (i == 0) {
            parsers[0].checkpoint = [&](const char* p) {
                if (opts.progress) {
                    const auto done = static_cast<std::uint64_t>(ds - data.data()) +
                                      static_cast<std::uint64_t>(p - ds) * nchunks;
                    opts.progress(std::min(done, total_bytes), total_bytes);
                }
                return true;
            };
        } else {
            // A chunk after one that failed is wasted work: the earlier error wins anyway.
            parsers[i].checkpoint = [&first_failed, i](const char*) { return first_failed.load(std::memory_order_relaxed) > i; };
        }
    }
    std::vector<std::exception_ptr> thrown(nchunks);
    const auto run = [&](std::size_t i) {
        bool failed = false;
        try {
            auto& cp = parsers[i];
            bool ok = cp.parse(bounds[i], bounds[i + 1], false);
            if (ok && i + 1 == nchunks) ok = cp.parse(tail.data(), tail.data() + tail_len, unterminated);
            failed = !ok && cp.error.has_value();  // not ok without an error: cancelled
        } catch (...) {
            thrown[i] = std::current_exception();
            failed = true;
        }
        if (!failed) return;
        std::size_t cur = first_failed.load();
        while (i < cur && !first_failed.compare_exchange_weak(cur, i)) {
        }
    };
    {
        std::vector<std::jthread> workers;
        workers.reserve(nchunks);
        for (std::size_t i = 1; i < nchunks; ++i) workers.emplace_back(run, i);
        run(0);
    }  // joins
    for (auto& t : thrown)
        if (t) std::rethrow_exception(t);

    // Reconcile: chunks up to the first failed one, all at the finest scale any of them saw.
    std::size_t used = nchunks;
    for (std::size_t i = 0; i < nchunks; ++i)
        if (parsers[i].error) {
            used = i + 1;
            break;
        }
    // Which row a scale overflow blames, and at how many decimals, depends on the order values
    // were seen in: the serial parse defines it. A chunk after the first saw only part of that
    // order, so such an error (rare: values near 9.2e18 / 10^decimals) is parsed again serially.
    const auto reparse_serially = [&] {
        Tuning serial = tuning;
        serial.threads = 1;
        serial.parallel_min_bytes = kNpos;
        return parse_csv(data, name, opts, serial);
    };
    if (used > 1 && parsers[used - 1].error && parsers[used - 1].error->scale) return reparse_serially();
    int price_decimals = 0, volume_decimals = 0;
    std::uint64_t rounded_values = 0;
    for (std::size_t i = 0; i < used; ++i) {
        rounded_values += parsers[i].rounded_values;
        price_decimals = std::max(price_decimals, parsers[i].price_decimals);
        volume_decimals = std::max(volume_decimals, parsers[i].volume_decimals);
    }
    std::optional<Pending> pending;
    {
        std::size_t row_base = 0, line_base = first_data_line;
        for (std::size_t i = 0; i < used; ++i) {
            if (const auto& er = parsers[i].error)
                pending = Pending{row_base + er->row, er->line ? line_base + er->line - 1 : 0, er->reason, er->got};
            row_base += parsers[i].bars.size();
            line_base += parsers[i].lines;
        }
    }
    BarColumns bars = std::move(parsers[0].bars);
    if (price_decimals != parsers[0].price_decimals || volume_decimals != parsers[0].volume_decimals) {
        BarColumns scaled;
        scaled.reserve(bars.ts.capacity());
        const auto bad = append_rescaled(scaled, bars, price_decimals - parsers[0].price_decimals,
                                         volume_decimals - parsers[0].volume_decimals);
        if (bad != kNpos) return reparse_serially();
        bars = std::move(scaled);
    }
    for (std::size_t i = 1; i < used; ++i) {
        const auto& cp = parsers[i];
        if (append_rescaled(bars, cp.bars, price_decimals - cp.price_decimals, volume_decimals - cp.volume_decimals) !=
            kNpos)
            return reparse_serially();
    }

    // Line number and text of a data row, by walking the lines again (error path only).
    const auto locate = [&](std::size_t row) {
        std::size_t line = first_data_line, seen = 0;
        for (const char* p = ds; p < e; ++line) {
            const char* eol = line_end(p, e);
            const auto text = line_text(p, eol);
            if (!text.empty() && seen++ == row) return std::pair{line, text};
            p = eol + 1;
        }
        return std::pair{line, std::string_view{}};
    };
    const auto report_bar = [&](std::size_t row, const std::string& reason) {
        const auto [line, text] = locate(row);
        throw_at(name, line, reason, text);
    };

    if (pending) {
        // A broken invariant on an earlier row comes first in file order.
        if (pending->row < bars.size())
            for (auto* col : {&bars.ts, &bars.open, &bars.high, &bars.low, &bars.close, &bars.volume})
                col->resize(pending->row);
        if (const auto problem = check_bars(bars, Duration{0})) report_bar(problem->index, problem->reason);
        if (pending->line) throw_at(name, pending->line, pending->reason, pending->got);
        report_bar(pending->row, pending->reason);
    }
    if (bars.empty()) throw_at(name, line_no, "header but no data rows", first);

    Duration tf{};
    if (opts.timeframe) {
        tf = *opts.timeframe;
    } else if (stored_base) {
        tf = *stored_base;
    } else {
        // The smallest positive step between neighbours: 1m bars with gaps still say 1m.
        std::uint64_t best = std::numeric_limits<std::uint64_t>::max();
        for (std::size_t i = 1; i < bars.size(); ++i)
            if (bars.ts[i] > bars.ts[i - 1])
                best = std::min(best, static_cast<std::uint64_t>(bars.ts[i]) - static_cast<std::uint64_t>(bars.ts[i - 1]));
        if (bars.size() == 1)
            report_bar(0, "cannot infer the timeframe from a single bar; pass --timeframe");
        if (best > static_cast<std::uint64_t>(kInt64Max)) {
            // No step forward at all: check_bars names the duplicate or backwards row.
            if (const auto problem = check_bars(bars, Duration{0})) report_bar(problem->index, problem->reason);
            report_bar(1, "cannot infer the timeframe; pass --timeframe");
        }
        tf = Duration{static_cast<std::int64_t>(best)};
    }
    if (opts.stamp == Stamp::end) {
        // A stamp T means the bar [T - tf, T); the store keys bars by their start.
        const auto step = tf.count();
        for (std::size_t i = 0; i < bars.size(); ++i)
            if (__builtin_sub_overflow(bars.ts[i], step, &bars.ts[i]))
                report_bar(i, "timestamp minus the timeframe is before 1677");
    }
    if (const auto problem = check_bars(bars, tf)) {
        if (problem->misaligned && stored_base)
            report_bar(problem->index, "timestamp not aligned to the " + format_timeframe(tf) +
                                           " base of the stored series " + symbol + " " + format_timeframe(tf) +
                                           " (a new base for " + symbol + " needs --timeframe)");
        report_bar(problem->index, problem->reason);
    }

    if (opts.progress) opts.progress(total_bytes, total_bytes);
    std::vector<SeriesBatch> out;
    out.push_back(SeriesBatch{SeriesKey{std::move(symbol), tf}, Scale{price_decimals, volume_decimals}, std::move(bars),
                              rounded_values, std::nullopt});
    return out;
}

}  // namespace csv_detail

std::vector<SeriesBatch> parse_csv(std::string_view data, const std::string& name, const ParseOptions& opts) {
    return csv_detail::parse_csv(data, name, opts, csv_detail::Tuning{});
}

}  // namespace barstore
