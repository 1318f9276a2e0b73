// ingest/csv_dialect.cpp: the accepted CSV dialects (delimiters, optional header and its column
// names, the 6- and 7-field headerless layouts); guards that a file's layout is decided once,
// from its first non-blank line, before any row is parsed.
#include "ingest/csv_dialect.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>

#include "core/decimal_parse.hpp"

namespace barstore::csv_detail {

namespace {

// A header is a first line with a field that no data row could have: anything but digits and
// the punctuation of numbers and times (`2021-12-31T23:01:00.5+01:00`, `20110103 090100`).
bool looks_like_data(std::string_view field) {
    field = trim(field, " \"");
    if (field.empty()) return false;
    bool digit = false;
    for (const char c : field) {
        if (decimal_core::is_digit(c)) digit = true;
        else if (std::string_view(".:-+/ TZ").find(c) == std::string_view::npos) return false;
    }
    return digit;
}

std::string header_key(std::string_view field) {
    std::string key(trim(field, " \"'<>"));
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return key;
}

// Columns by name, case-insensitively; other columns (Adj Close, OpenInterest, ...) are skipped and
// named in `unstored`. Volume may be missing (stored as 0). Returns an empty string on success,
// else what is missing.
std::string layout_from_header(const std::vector<std::string_view>& fields, Layout& layout,
                               std::vector<std::string>& unstored) {
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
        if (i == kNpos && role == Role::volume) continue;
        if (i == kNpos) return std::string("no ") + role_name(role) + " column in the header";
        roles[i] = role;
    }
    // A symbol column (long format, or a file of one symbol naming it on every row).
    if (const auto i = find({"symbol", "ticker"}); i != kNpos) roles[i] = Role::symbol;
    for (std::size_t i = 0; i < roles.size(); ++i)
        if (roles[i] == Role::skip) unstored.emplace_back(trim(fields[i], " \"'"));
    layout.set(std::move(roles));
    return {};
}

}  // namespace

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
        case Role::symbol: return "symbol";
    }
    return "field";
}

std::vector<Role> roles_from_columns(const std::vector<std::string>& columns, const std::string& name) {
    if (columns.empty()) return {};
    constexpr std::string_view kNames[kRoles] = {"skip", "ts",    "date",  "time",   "open",
                                                 "high", "low",   "close", "volume", "symbol"};
    const auto fail = [&](const std::string& reason) {
        std::string spec;
        for (const auto& c : columns) spec += (spec.empty() ? "" : ",") + c;
        throw_arg(name, "--columns: " + reason, spec);
    };
    std::vector<Role> roles;
    std::array<int, kRoles> seen{};
    for (const auto& c : columns) {
        std::string key(trim(c));
        for (auto& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        const auto* it = std::find(std::begin(kNames), std::end(kNames), key);
        if (it == std::end(kNames))
            fail("unknown role '" + printable(c) +
                 "' (roles: ts, date, time, open, high, low, close, volume, symbol, skip)");
        const auto role = static_cast<Role>(it - std::begin(kNames));
        if (role != Role::skip && seen[static_cast<std::size_t>(role)]++)
            fail("role " + std::string(kNames[static_cast<std::size_t>(role)]) + " given twice");
        roles.push_back(role);
    }
    const auto has = [&](Role r) { return seen[static_cast<std::size_t>(r)] > 0; };
    if (has(Role::ts) && (has(Role::date) || has(Role::time)))
        fail("ts is the whole stamp: give ts, or date with an optional time, not both");
    if (has(Role::time) && !has(Role::date)) fail("time needs a date field (or give the field as ts)");
    if (!has(Role::ts) && !has(Role::date)) fail("no stamp: give a ts field, or date (and time)");
    for (const Role r : {Role::open, Role::high, Role::low, Role::close})
        if (!has(r)) fail(std::string("no ") + role_name(r) + " field");
    if (has(Role::date) && !has(Role::time)) std::replace(roles.begin(), roles.end(), Role::date, Role::ts);
    return roles;
}

Dialect detect_dialect(std::string_view data, const std::string& name, const std::vector<Role>& roles) {
    const char* b = data.data();
    const char* const e = b + data.size();
    if (data.starts_with("\xEF\xBB\xBF")) b += 3;  // UTF-8 byte order mark from spreadsheet exports

    // Blank lines before the first line are skipped, as they are between rows.
    Dialect d;
    d.first_line = 1;
    while (b < e && line_text(b, line_end(b, e)).empty()) {
        b = std::min(line_end(b, e) + 1, e);
        ++d.first_line;
    }
    if (b == e) throw_at(name, 1, "empty file", "");

    // The delimiter is whichever of tab, ';' and ',' the first line has, in that order: a ';'
    // file may use ',' as decimal mark, which we then reject field by field rather than misread.
    const char* first_eol = line_end(b, e);
    d.first_text = line_text(b, first_eol);
    const std::string_view first = d.first_text;
    Layout& layout = d.layout;
    layout.delim = first.find('\t') != std::string_view::npos ? '\t'
                 : first.find(';') != std::string_view::npos  ? ';'
                                                               : ',';
    const auto first_fields = split(first, layout.delim);
    d.data_begin = b;
    d.first_data_line = d.first_line;
    if (!roles.empty()) {
        // Mapped by hand: the header's names (or its field count, which may not match the
        // rows') say nothing; a field where the rows hold a stamp or a number that holds
        // neither makes the line a header. Symbol and skipped fields are text in data too.
        layout.set(roles);
        for (std::size_t i = 0; i < std::min(first_fields.size(), roles.size()); ++i)
            if (roles[i] != Role::skip && roles[i] != Role::symbol && !looks_like_data(first_fields[i])) d.header = true;
        if (d.header) {
            d.data_begin = std::min(first_eol + 1, e);
            ++d.first_data_line;
        }
        return d;
    }
    const bool header = !std::all_of(first_fields.begin(), first_fields.end(), looks_like_data);
    d.header = header;
    if (header) {
        if (const auto missing = layout_from_header(first_fields, layout, d.unstored_columns); !missing.empty())
            throw_at(name, d.first_line, missing, first);
        d.data_begin = std::min(first_eol + 1, e);
        ++d.first_data_line;
    } else if (first_fields.size() == 6) {
        layout.set({Role::ts, Role::open, Role::high, Role::low, Role::close, Role::volume});
    } else if (first_fields.size() == 7) {
        layout.set({Role::date, Role::time, Role::open, Role::high, Role::low, Role::close, Role::volume});
    } else {
        throw_at(name, d.first_line,
                 "without a header a row has 6 fields (ts,open,high,low,close,volume) or 7 "
                 "(date,time,open,high,low,close,volume); this one has " +
                     std::to_string(first_fields.size()),
                 first);
    }
    return d;
}

}  // namespace barstore::csv_detail
