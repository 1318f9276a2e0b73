// tests/support/time.hpp: the time helpers the tests share: durations in nanoseconds (the unit of
// BarColumns::ts and of Timestamp), int64 <-> Timestamp, and UTC civil times built by
// reference/naive_time.hpp, which shares no code with the library's date arithmetic.
#pragma once
#include <cstdint>
#include <limits>

#include "barstore/types.hpp"
#include "reference/naive_time.hpp"

namespace test {

inline constexpr std::int64_t kSec = 1'000'000'000, kMin = 60 * kSec, kHour = 60 * kMin, kDay = 24 * kHour,
                              kWeek = 7 * kDay;

constexpr barstore::Timestamp at(std::int64_t t_ns) { return barstore::Timestamp{barstore::Duration{t_ns}}; }
constexpr std::int64_t ns(barstore::Timestamp t) { return t.time_since_epoch().count(); }

/// The ends of Timestamp's range: read(key, kBegin, kEnd) is every bar (but one at the last ns,
/// as [from, to) leaves `to` out).
inline constexpr barstore::Timestamp kBegin = at(std::numeric_limits<std::int64_t>::min());
inline constexpr barstore::Timestamp kEnd = at(std::numeric_limits<std::int64_t>::max());

/// ns since the epoch of a UTC civil time (reference::epoch_ns: counted, not the library's way).
inline std::int64_t utc_ns(long y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
    return reference::epoch_ns(y, mo, d, h, mi, s);
}

}  // namespace test
