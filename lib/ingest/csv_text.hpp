// ingest/csv_text.hpp: lines and fields of CSV text, and the one shape of a CSV error message,
// `FILE:LINE: error: REASON (got 'TEXT')`, shared by the dialect, row and driver steps.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "barstore/error.hpp"

namespace barstore::csv_detail {

inline constexpr std::size_t kNpos = static_cast<std::size_t>(-1);

/// The fields of `line` between `delim`s; no quoting rules (fields never contain the delimiter).
std::vector<std::string_view> split(std::string_view line, char delim);
/// `s` without any of `chars` at either end.
std::string_view trim(std::string_view s, std::string_view chars = " ");
/// The '\n' ending the line that starts at p, or e if the last line has none.
const char* line_end(const char* p, const char* e);
/// The line [p, eol) without a trailing '\r'.
std::string_view line_text(const char* p, const char* eol);

/// The offending text as it appears in a one-line message: control bytes escaped, long text cut.
std::string printable(std::string_view s);
/// An InvalidInput that blames a line of the file, which it keeps, so a long-format file parsed
/// one symbol at a time can still report its first problem in file order.
class LineError : public InvalidInput {
public:
    LineError(const std::string& what, std::size_t line) : InvalidInput(what), line_(line) {}
    std::size_t line() const noexcept { return line_; }

private:
    std::size_t line_;
};

/// LineError naming the file and 1-based line: `NAME:LINE: error: REASON (got 'GOT')`.
[[noreturn]] void throw_at(const std::string& name, std::size_t line, const std::string& reason,
                           std::string_view got);
/// Problems with the call rather than with a line of the file: `NAME: error: REASON (got 'GOT')`.
[[noreturn]] void throw_arg(const std::string& name, const std::string& reason, std::string_view got);

}  // namespace barstore::csv_detail
