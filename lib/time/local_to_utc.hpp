// time/local_to_utc.hpp: naive local time in an IANA zone -> UTC seconds, for a stream of stamps
// that mostly stay within one UTC offset (a CSV file's rows). Not public API. Header-only: the
// CSV row loop inlines all of it; with lookup() out of line that loop runs ~0.5% more instructions.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>

#include <date/tz.h>

namespace barstore {

/// Caches the span of local time over which one UTC offset is the answer. Spans last months,
/// so a file costs a handful of tz lookups and the per-row price is two compares. For UTC (a null
/// zone) the span is everything and tz is never consulted.
///
/// The answer is date::tz's: a skipped local time (DST starts) does not exist, a repeated one
/// (DST ends) is the earlier instant, as date::choose::earliest picks. Each call decides alone,
/// whatever was asked before, so stamps may be split among several converters (one per thread:
/// an instance is not thread-safe). `zone` must outlive the converter.
class LocalToUtc {
public:
    explicit LocalToUtc(const date::time_zone* zone) : zone_(zone) {
        if (!zone_) {
            lo_ = std::numeric_limits<std::int64_t>::min();
            hi_ = std::numeric_limits<std::int64_t>::max();
        }
    }

    /// Seconds since 1970 on the local clock -> seconds since 1970 UTC. False if the local time
    /// does not exist (skipped by a DST change); `utc_s` is then unspecified.
    bool to_utc(std::int64_t local_s, std::int64_t& utc_s) {
        if (local_s >= lo_ && local_s < hi_) [[likely]] {
            utc_s = local_s - offset_s_;
            return true;
        }
        return lookup(local_s, utc_s);
    }

private:
    // Asks tz, and remembers the span the answer holds for. A cached span never covers a gap or
    // either half of a repeated hour: those always go back to tz.
    bool lookup(std::int64_t local_s, std::int64_t& utc_s) {
        using std::chrono::seconds;
        const auto info = zone_->get_info(date::local_seconds{seconds{local_s}});
        if (info.result == date::local_info::nonexistent) return false;
        if (info.result == date::local_info::ambiguous) {
            // A repeated hour (DST ends): take the earlier instant, as date::choose::earliest
            // does. A row decides alone (parallel chunks know no neighbours); a file that really
            // repeats the hour then fails on its first repeated stamp as a duplicate/backwards
            // timestamp with that line, instead of us guessing silently.
            utc_s = local_s - info.first.offset.count();
            return true;
        }
        const auto& cur = info.first;
        const std::int64_t off = cur.offset.count();
        utc_s = local_s - off;
        // This offset answers from the period's start in local time, except where it overlaps
        // the previous period (an ambiguous stretch, which belongs to the earlier instant),
        // up to the period's end.
        const auto prev = zone_->get_info(cur.begin - seconds{1});
        const std::int64_t lo = cur.begin.time_since_epoch().count() + std::max(off, prev.offset.count());
        const std::int64_t hi = cur.end.time_since_epoch().count() + off;
        if (lo <= local_s && local_s < hi) {
            lo_ = lo;
            hi_ = hi;
            offset_s_ = off;
        }
        return true;
    }

    const date::time_zone* zone_;
    std::int64_t lo_ = 1, hi_ = 0, offset_s_ = 0;  // local [lo_, hi_) is UTC + offset_s_; empty at first
};

}  // namespace barstore
