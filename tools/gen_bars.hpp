// tools/gen_bars.hpp: deterministic synthetic 1-minute bars for the benchmark, and their CSV form.
// Same seed and same build give the same bars and the same bytes; nothing here touches the store.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace barstore::tools {

/// One bar as the raw 48-byte row the benchmark compares against: ts in seconds since the epoch,
/// prices in cents (0.01 ticks), volume in shares.
struct RawBar {
    std::int64_t ts_s = 0;
    std::int64_t open = 0, high = 0, low = 0, close = 0, volume = 0;
};
static_assert(sizeof(RawBar) == 48, "the baseline is 48 bytes per bar");

inline constexpr std::uint64_t kDefaultSeed = 20150101;
/// 2015-01-01T00:00:00Z, the first bar of both data sets.
inline constexpr std::int64_t kStart2015_s = 1420070400;

/// A 24/7 market (crypto-like): every minute for `years` * 365.25 days from 2015-01-01, no gaps.
/// A geometric random walk from 100.00 with volatility clustering, open usually = previous close.
std::vector<RawBar> gen_24x7(double years, std::uint64_t seed);

/// One year (2015) of US equity regular hours: every Mon-Fri, 14:30-21:00 UTC (390 minutes),
/// only minutes with trades, so a few percent of minutes are missing; gaps between sessions.
std::vector<RawBar> gen_equity_year(std::uint64_t seed);

enum class TsFormat {
    epoch_s,  ///< `1420070400`: the fastest form to parse
    text,     ///< `2015-01-01 00:00:00` (UTC, no zone)
};

/// Writes `ts,open,high,low,close,volume` and one line per bar (prices with exactly 2 decimals).
/// Returns the file's size in bytes. Throws std::runtime_error on I/O failure.
std::uint64_t write_csv(const std::filesystem::path& path, const std::vector<RawBar>& bars, TsFormat ts_format);

/// Long format, as vendor dumps come: `ts,symbol,open,high,low,close,volume`, the rows of every
/// series merged in time order, ties in the order of `series` (give `symbols` sorted to get rows
/// sorted by ts, then symbol). Returns the file's size in bytes; throws std::runtime_error on I/O failure.
std::uint64_t write_long_csv(const std::filesystem::path& path, const std::vector<std::vector<RawBar>>& series,
                             const std::vector<std::string>& symbols, TsFormat ts_format);

}  // namespace barstore::tools
