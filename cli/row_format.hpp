// cli/row_format.hpp: query's cells written as digits straight into a caller's buffer, and a
// fixed-size output buffer flushed with fwrite. The cells are the library's own printers
// (write_decimal, write_time: format_decimal()'s and format_time()'s text, one code path); this
// header names them for the CLI's columns and adds the buffer, because a per-cell std::string
// and snprintf were a third of a whole-history query.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "barstore/decimal.hpp"
#include "barstore/time.hpp"

namespace barstore::cli {

using barstore::kMaxDecimalChars;
using barstore::kMaxTimeChars;
using barstore::write_decimal;
using barstore::write_time;

/// write_time() of a ts column's value (ns since the epoch).
inline char* write_time(char* out, std::int64_t ns) noexcept {
    return barstore::write_time(out, Timestamp{Duration{ns}});
}

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
