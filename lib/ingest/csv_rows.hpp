// ingest/csv_rows.hpp: the CSV row parser: one ChunkParser per chunk of the input, each with its
// own columns and decimal scale, so chunks parse in parallel and the driver merges them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "barstore/types.hpp"
#include "ingest/csv_dialect.hpp"
#include "time/local_to_utc.hpp"

namespace barstore::csv_detail {

// Every range the row parser sees ends in '\n' and has at least kPad readable bytes after it,
// so peeks such as the 10-byte date compare or "two digits at once" need no bounds check.
inline constexpr std::size_t kPad = 64;
// How often (in input bytes) a chunk looks up from parsing: progress and cancellation.
inline constexpr std::size_t kCheckpointBytes = 4u << 20;

/// The first bad row of a chunk.
struct RowError {
    std::size_t row = 0;   ///< rows of the chunk before the bad one
    std::size_t line = 0;  ///< 1-based line within the chunk; 0: look it up from `row`
    std::string reason, got;
    bool scale = false;    ///< a value that does not fit at the scale this chunk had reached
};

struct Row;
enum class Why : std::uint8_t;

// Hidden: the library is built -fPIC, where a default-visibility member could be interposed and
// GCC would neither inline nor specialise the calls between these members; in the row loop that
// costs ~1% more instructions than when they were file-local.
class [[gnu::visibility("hidden")]] ChunkParser {
public:
    /// `layout`, `zone` and `tz_name` must outlive the parser; `expect_rows` sizes the columns,
    /// which are `columns` (empty, maybe with room already) when given.
    ChunkParser(const Layout& layout, const date::time_zone* zone, const std::string& tz_name,
                std::size_t expect_rows, BarColumns columns = {});

    /// Parses the lines of [p, end): end[-1] == '\n' and kPad bytes past end are readable.
    /// `unterminated`: the file's last line had no newline (the caller added one). Returns
    /// false once an error is recorded or `checkpoint` asked to stop. May be called again with
    /// the next range; rows, lines and scale carry on.
    bool parse(const char* p, const char* end, bool unterminated);

    BarColumns bars;                   ///< prices at 10^-price_decimals, volumes at 10^-volume_decimals
    int price_decimals = 0, volume_decimals = 0;
    std::size_t rounded_values = 0;   ///< values cut to 15 significant digits
    std::size_t lines = 0;            ///< newlines consumed
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

}  // namespace barstore::csv_detail
