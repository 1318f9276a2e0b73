// ingest/csv_dialect.hpp: how a CSV file is written, decided once from its first line: byte
// order mark, blank lines, delimiter, and header (or field count) to a Layout of roles.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/csv_text.hpp"

namespace barstore::csv_detail {

/// What a field of a row holds.
enum class Role : std::uint8_t { skip, ts, date, time, open, high, low, close, volume, symbol };
inline constexpr std::size_t kRoles = 10;

/// The role's name in messages ("open", "timestamp"); "field" for a skipped column.
const char* role_name(Role r);

/// ParseOptions::columns as roles, checked: known names (ts, date, time, open, high, low, close,
/// volume, symbol, skip), none but skip twice, a stamp (ts, or date with an optional time) and
/// open..close present. A date without a time becomes ts, as with a header. Throws
/// InvalidInput `NAME: error: --columns ...`. Empty in, empty out.
std::vector<Role> roles_from_columns(const std::vector<std::string>& columns, const std::string& name);

/// Which field of a row is which.
struct Layout {
    char delim = ',';
    std::vector<Role> roles;                 ///< one per field of a row
    std::array<std::size_t, kRoles> column;  ///< field index of each role, kNpos if absent

    void set(std::vector<Role> r) {
        roles = std::move(r);
        column.fill(kNpos);
        for (std::size_t i = roles.size(); i-- > 0;) column[static_cast<std::size_t>(roles[i])] = i;
    }
};

/// The file as detect_dialect read it. Pointers and views point into the bytes it was given.
struct Dialect {
    Layout layout;
    const char* data_begin = nullptr;   ///< first byte of the first data line (after any header)
    std::size_t first_data_line = 0;    ///< its 1-based line number
    std::size_t first_line = 0;         ///< 1-based line number of the first non-blank line
    std::string_view first_text;        ///< that line, header or data, without its newline
    /// Header names of the columns read but not stored (Adj Close, OpenInterest, vwap, ...), as
    /// written in the file, for SeriesBatch::notes.
    std::vector<std::string> unstored_columns;
    bool header = false;                ///< the first line was a header (and is skipped)
};

/// Skips a UTF-8 byte order mark and leading blank lines, picks the delimiter from the first
/// line and reads a header, or a 6- or 7-field data row, into a layout. Throws InvalidInput
/// naming `name` and the line for an empty file, a header missing a column other than volume
/// (a file without one, FX quotes or an index, stores volume 0), or a headerless row of
/// another field count. With `roles` (roles_from_columns, non-empty) the layout is those roles,
/// and the first line is a header when a field in a stamp, price or volume position does not
/// look like data.
Dialect detect_dialect(std::string_view data, const std::string& name, const std::vector<Role>& roles = {});

}  // namespace barstore::csv_detail
