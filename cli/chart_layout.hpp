// cli/chart_layout.hpp: the scale and label decisions of `barstore chart`, as pure functions over
// numbers, so that tests can hold them to hand-worked values without drawing anything.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace barstore::cli::chart {

/// A price (or volume) axis in the series' fixed-point units: min and max are multiples of step,
/// min < max, and step is a "nice number" (1, 2, 2.5 or 5 x 10^k units; 2.5 only when it stays a
/// whole number of units, since a tick between two representable prices says nothing).
struct Axis {
    std::int64_t min = 0, max = 0, step = 1;
    std::vector<std::int64_t> ticks() const;  ///< min, min + step, ..., max
};

/// The smallest nice step at least `span_units / target_intervals` (target_intervals >= 1).
std::int64_t nice_step(double span_units, int target_intervals);

/// The axis holding [lo, hi] with about `target_intervals` steps: min rounded down and max rounded
/// up to the step. lo == hi still gives a non-empty axis (one step either side of the value).
/// Requires lo <= hi; values near INT64 limits are clamped rather than overflowed.
Axis nice_axis(std::int64_t lo, std::int64_t hi, int target_intervals);

/// A tick label: `mantissa / 10^decimals` with as many decimals as the step needs, so all labels
/// of one axis have the same width ("129.00", "129.25", "129.50" for a step of 0.25).
std::string format_tick(std::int64_t mantissa, int decimals, std::int64_t step);

/// A volume for a narrow axis: "950", "12.5k", "3M", "1.2B" (value already divided by its scale).
std::string format_compact(double value);

/// Levels of time boundaries a label can mark, finest first.
enum class Level : int { none = -1, second, second5, second15, second30, minute, minute5, minute15, minute30,
                         hour, hour3, hour6, hour12, day, week, month, year };

/// The coarsest boundary crossed between two bars given as local times (seconds since the local
/// epoch, i.e. UTC seconds + the zone's offset at that instant): year, month, week (Monday), day,
/// then whole
/// multiples of 6h/3h/1h/30m/... of the local day. Level::none when both are in one second.
Level boundary_level(std::int64_t prev_local_s, std::int64_t local_s);

/// A label under bar `index`: "2011" at a year, "Feb" at a month, "Jan 18" at a week or day, "10:30"
/// within a day ("10:30:15" below a minute).
struct TimeLabel {
    std::size_t index = 0;
    Level level = Level::none;
    std::string text;
};

/// Labels for bars drawn one slot each (`slot_px` wide), at local times `local_s`: the bars where
/// a boundary of the chosen level or a coarser one is crossed. The level is the finest one whose
/// labels, spread evenly, would be at least `min_gap_px` apart; then labels are placed coarsest
/// first and any closer than `min_gap_px` to a placed one is dropped, so none overlap and a day
/// label is never crowded out by an hour label. The first bar is labelled like a boundary
/// crossed at the chosen level (at least "Jan 18" for intraday bars) so the axis has a start.
std::vector<TimeLabel> time_labels(std::span<const std::int64_t> local_s, double slot_px, double min_gap_px);

/// The text of a label for a bar at `local_s` marking a boundary of `level`.
std::string label_text(std::int64_t local_s, Level level);

/// "2011-01-18 09:30", with ":SS" when the seconds are not zero: a local time in the title and
/// tooltips (the zone is named once, in the title).
std::string format_local(std::int64_t local_s);

}  // namespace barstore::cli::chart
