// barstore/types.hpp: time, bars and columns as the library stores and returns them.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace barstore {

/// Nanoseconds since the UTC epoch: DBN's unit, exact for every bar we know of.
using Duration = std::chrono::nanoseconds;
using Timestamp = std::chrono::sys_time<Duration>;

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

    std::size_t size() const noexcept { return ts.size(); }
    bool empty() const noexcept { return ts.empty(); }
    void reserve(std::size_t n);
    void clear() noexcept;
    void push_back(const Bar& b);
    Bar row(std::size_t i) const;
    /// Appends rows [first, last) of other.
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

/// Throws InvalidInput unless the symbol is 1..64 bytes of printable UTF-8.
void validate_symbol(const std::string& symbol);

}  // namespace barstore
