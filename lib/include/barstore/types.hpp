// barstore/types.hpp: time, bars and columns as the library stores and returns them, and the
// value types every module shares (core: this header depends on no other module's).
#pragma once
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace barstore {

/// Nanoseconds since the UTC epoch: DBN's unit, exact for every bar we know of.
using Duration = std::chrono::nanoseconds;
using Timestamp = std::chrono::sys_time<Duration>;

/// The supported range (docs/time.md, "Supported range"): times in [kMinTime, kEndTime), the
/// years 1679 through 2260, and timeframes up to kMaxTimeframe (366 days). int64 nanoseconds
/// reach 1677-09-21 .. 2262-04-11; more than kMaxTimeframe is left on either side, so no bin of
/// a supported timeframe holding a supported time starts or ends outside int64. Every parser
/// refuses what is outside, and query() / Reader refuse times outside. Here, not in time.hpp
/// (which re-exports them), because the bar invariants (check_bars, core) enforce the range.
inline constexpr Timestamp kMinTime{std::chrono::sys_days{std::chrono::year{1679} / 1 / 1}};
inline constexpr Timestamp kEndTime{std::chrono::sys_days{std::chrono::year{2261} / 1 / 1}};
inline constexpr Duration kMaxTimeframe{std::chrono::days{366}};

inline constexpr bool in_supported_range(Timestamp t) noexcept { return t >= kMinTime && t < kEndTime; }

/// Canonical spelling of a timeframe: the largest unit that divides evenly (`5m`, `1h`, `90m`,
/// `1d`, `1w`). In core, with the constants above, because the bar invariants name the base in
/// their messages; time.hpp re-exports it next to parse_timeframe.
std::string format_timeframe(Duration tf);

/// Fixed-point numbers: value = mantissa / 10^decimals. Prices and volumes of one
/// series share one Scale each, recorded in the catalog.
struct Scale {
    int price_decimals = 0;   ///< 0..18
    int volume_decimals = 0;  ///< 0..18
    friend bool operator==(const Scale&, const Scale&) = default;
};

/// One bar, row-wise; ts is the start of its interval.
struct Bar {
    Timestamp ts;
    std::int64_t open = 0, high = 0, low = 0, close = 0, volume = 0;
    friend bool operator==(const Bar&, const Bar&) = default;
};

/// Bars as columns (what the store reads and writes). ts in ns since the epoch.
/// All six vectors have the same length. Owned: valid as long as the object lives.
struct BarColumns {
    std::vector<std::int64_t> ts, open, high, low, close, volume;

    /// The six columns in chunk order: ts, open, high, low, close, volume (docs/format.md,
    /// "Chunk layout"). What is done to every column alike is one loop over these, so that no
    /// place can forget a column: `for (auto* col : bars.columns()) col->resize(n);`
    std::array<std::vector<std::int64_t>*, 6> columns() noexcept { return {&ts, &open, &high, &low, &close, &volume}; }
    std::array<const std::vector<std::int64_t>*, 6> columns() const noexcept {
        return {&ts, &open, &high, &low, &close, &volume};
    }

    std::size_t size() const noexcept { return ts.size(); }
    bool empty() const noexcept { return ts.empty(); }
    void reserve(std::size_t n);
    void clear() noexcept;
    void push_back(const Bar& b);
    Bar row(std::size_t i) const;  ///< requires i < size(); unchecked
    /// Appends rows [first, last) of other; requires first <= last <= other.size().
    void append(const BarColumns& other, std::size_t first, std::size_t last);
    friend bool operator==(const BarColumns&, const BarColumns&) = default;
};

/// A series is a symbol (1..64 bytes of printable UTF-8) at a base timeframe.
struct SeriesKey {
    std::string symbol;
    Duration base{};
    friend bool operator==(const SeriesKey&, const SeriesKey&) = default;
    friend auto operator<=>(const SeriesKey&, const SeriesKey&) = default;
};

/// A recurring session; session.hpp parses and prints it and finds its instances. A close at or
/// before the open means the session starts the evening before its trading date (CME Globex
/// 17:00-16:00); open == close means 24 hours.
struct Session {
    std::string zone = "UTC";                ///< IANA zone of open/close
    std::chrono::minutes open{0}, close{0};  ///< local time of day, 0..1439; a close may be 1440 (24:00)
    /// Trading dates the session runs on, bit d for weekday d (0 = Sunday .. 6 = Saturday); the
    /// trading date is the local date of the close.
    std::uint8_t weekdays = 0x7F;
    std::vector<std::chrono::sys_days> holidays;  ///< trading dates without a session, sorted
    /// The preset's name; empty for a custom one and for 24x7, which is the default Session{}.
    std::string preset;

    bool is_24x7() const noexcept;
    friend bool operator==(const Session&, const Session&) = default;
};

/// Throws InvalidInput unless the symbol is 1..64 bytes of printable UTF-8.
void validate_symbol(const std::string& symbol);

}  // namespace barstore
