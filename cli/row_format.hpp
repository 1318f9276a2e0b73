// cli/row_format.hpp: query's cells written as digits straight into a caller's buffer, and a
// fixed-size output buffer flushed with fwrite. The text is byte for byte that of
// format_decimal() and format_time(), which stay the reference (tests/test_row_format.cpp);
// these exist because a per-cell std::string and snprintf were a third of a whole-history query.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

namespace barstore::cli {

/// Longest write_decimal() output: '-', 19 digits of |INT64_MIN|, '.'; or "-0." and 18 digits.
inline constexpr std::size_t kMaxDecimalChars = 21;
/// Longest write_time() output: "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ".
inline constexpr std::size_t kMaxTimeChars = 30;

/// mantissa / 10^decimals as format_decimal() prints it (trailing fraction zeros dropped, no
/// "-0"); writes at most kMaxDecimalChars at `out` and returns the end. decimals: 0..18.
char* write_decimal(char* out, std::int64_t mantissa, int decimals) noexcept;

/// The instant `ns` since the epoch as format_time() prints it (UTC, fraction only when
/// nonzero, trailing zeros dropped); any int64 works. Writes at most kMaxTimeChars.
char* write_time(char* out, std::int64_t ns) noexcept;

/// Bytes for stdout gathered in a fixed buffer and written with fwrite when it fills, so that
/// output of any size costs kBufferBytes of memory. What is not flushed when it is destroyed is
/// dropped: a query that throws before its first full buffer prints nothing but the error, as
/// it did when the whole answer was printed at once.
class OutBuffer {
public:
    static constexpr std::size_t kBufferBytes = 64 * 1024;
    explicit OutBuffer(std::FILE* to) noexcept : to_(to) {}
    OutBuffer(const OutBuffer&) = delete;
    OutBuffer& operator=(const OutBuffer&) = delete;

    /// Room for n more bytes (n <= kBufferBytes); returns where to write them. Commit with end().
    char* room(std::size_t n) {
        if (kBufferBytes - used_ < n) flush();
        return buf_ + used_;
    }
    /// Marks the bytes up to `end` (a pointer from room() plus what was written) as output.
    void end(char* end) noexcept { used_ = static_cast<std::size_t>(end - buf_); }
    void put(std::string_view s);
    void flush();

private:
    std::FILE* to_;
    std::size_t used_ = 0;
    char buf_[kBufferBytes];
};

}  // namespace barstore::cli
