// aggregate/resample.cpp: bin boundaries (Binner) and OHLCV folding (Resampler), one pass, no
// allocation per bin. Invariants: a bin holds exactly the input bars whose start falls in
// [label, end), however the input was split across feed() calls; no bin boundary or volume sum
// wraps: what does not fit int64 is an InvalidInput naming the bar or bin.
#include <algorithm>
#include <limits>

#include "aggregate/binner.hpp"
#include "barstore/error.hpp"
#include "barstore/resample.hpp"
#include "barstore/time.hpp"

namespace barstore {

namespace aggregate {

namespace {

using i64 = std::int64_t;
constexpr i64 kDayNs = 86'400'000'000'000;
constexpr i64 kWeekNs = 7 * kDayNs;
// 1970-01-05, the first Monday after the epoch: weeks start on Mondays, not Thursdays.
constexpr i64 kMondayNs = 4 * kDayNs;

i64 floor_to(i64 t, i64 step) {
    const i64 q = t / step;
    return (q * step > t ? q - 1 : q) * step;
}
i64 ns(Timestamp t) { return t.time_since_epoch().count(); }
std::string prefix(const std::string& series) { return series.empty() ? std::string() : series + ": "; }

}  // namespace

Binner::Binner(Duration base, Duration tf, Alignment align, const Session& session, std::string series)
    : tf_ns_(tf.count()), align_(align), series_(std::move(series)) {
    const i64 base_ns = base.count();
    if (base_ns <= 0 || tf_ns_ <= 0 || tf_ns_ % base_ns != 0)
        throw InvalidInput("timeframe " + format_timeframe(tf) + " is not a whole multiple of the base " +
                           format_timeframe(base));
    // Past it a bin of a supported time could end beyond int64 (time.hpp).
    if (tf > kMaxTimeframe)
        throw InvalidInput("timeframe " + format_timeframe(tf) + " is longer than " + format_timeframe(kMaxTimeframe) +
                           ", the longest supported (docs/time.md)");
    if (align == Alignment::utc) {
        anchor_ns_ = tf_ns_ % kWeekNs == 0 ? kMondayNs : 0;
        return;
    }
    if (tf_ns_ > kDayNs && tf_ns_ != kWeekNs)
        throw InvalidInput("session-aligned timeframes are below 1d, 1d (a session) or 1w (a week of sessions); got " +
                           format_timeframe(tf) + " (use --align utc for others)");
    calendar_.emplace(session);
}

Bin Binner::bin_of(i64 ts) {
    if (ts >= last_.from && ts < last_.until) return last_;
    last_ = compute(ts);
    return last_;
}

Bin Binner::compute(i64 ts) {
    const Timestamp t{Duration{ts}};
    if (align_ == Alignment::utc) {
        // In the supported range label >= ts - tf and end <= ts + tf stay inside int64 (time.hpp).
        if (!in_supported_range(t)) return compute_wide(ts);
        const i64 label = anchor_ns_ + floor_to(ts - anchor_ns_, tf_ns_);
        return {label, label + tf_ns_, true, label, label + tf_ns_};
    }
    // Zone arithmetic near the ends of int64 would overflow; a timeframe's reach past the range is
    // still computed, so a query ending near kEndTime may look up the next session's open.
    if (t < kMinTime - kMaxTimeframe || t >= kEndTime + kMaxTimeframe)
        throw InvalidInput(prefix(series_) + "the bar at " + format_time(t) +
                           " is outside the supported time range, so its session bin is not computed (docs/time.md)");
    const auto inst = calendar_->containing(t);
    if (!inst) {
        const i64 next = ns(calendar_->next_after(t).open);
        return {ts, next, false, ts, next};
    }
    const i64 open = ns(inst->open), close = ns(inst->close);
    if (tf_ns_ < kDayNs) {
        const i64 label = open + (ts - open) / tf_ns_ * tf_ns_;
        const i64 end = std::min(label + tf_ns_, close);
        return {label, end, true, label, end};
    }
    if (tf_ns_ == kDayNs) return {open, close, true, open, close};
    // A week: the sessions whose trading dates fall in the same Monday-based week.
    using std::chrono::days;
    const auto d = inst->trading_date;
    const auto monday = d - days{(std::chrono::weekday{d}.c_encoding() + 6) % 7};
    std::optional<SessionInstance> first, last;
    for (int k = 0; k < 7; ++k)
        if (auto s = calendar_->on(monday + days{k})) {
            if (!first) first = s;
            last = s;
        }
    // Bars between the week's sessions are not in it: the answer holds for this session only.
    return {ns(first->open), ns(last->close), true, open, close};
}

/// A bar outside the supported range (stored by an older version, or given to resample()): the
/// same bin in 128 bits, refused if it does not fit int64 rather than wrapped.
Bin Binner::compute_wide(i64 ts) const {
    __extension__ using i128 = __int128;
    const i128 d = static_cast<i128>(ts) - anchor_ns_;
    i128 q = d / tf_ns_;
    if (q * tf_ns_ > d) --q;
    const i128 label = anchor_ns_ + q * tf_ns_, end = label + tf_ns_;
    constexpr i128 lo = std::numeric_limits<i64>::min(), hi = std::numeric_limits<i64>::max();
    if (label < lo || end > hi)
        throw InvalidInput(prefix(series_) + "the " + format_timeframe(Duration{tf_ns_}) + " bin of the bar at " +
                           format_time(Timestamp{Duration{ts}}) + (label < lo ? " starts before " : " ends after ") +
                           format_time(Timestamp{Duration{label < lo ? std::numeric_limits<i64>::min()
                                                                      : std::numeric_limits<i64>::max()}}) +
                           ", the first or last instant int64 nanoseconds hold (docs/time.md)");
    const auto l = static_cast<i64>(label), e = static_cast<i64>(end);
    return {l, e, true, l, e};
}

void throw_volume_overflow(const Binner& binner, i64 label) {
    throw InvalidInput(prefix(binner.series()) + "the volume of the " + format_timeframe(binner.timeframe()) +
                       " bin at " + format_time(Timestamp{Duration{label}}) +
                       " does not fit int64: its bars' volumes sum past 9223372036854775807 (ask for a shorter "
                       "timeframe or a range without this bin)");
}

void Resampler::feed(const BarColumns& in) {
    fold_runs(binner_, in, 0, in.size(), out_, ends_, overflowed_, [](i64, i64, i64) {});
}

void Resampler::take_closed(Result& into) {
    into.bins.clear();
    into.ends.clear();
    into.overflowed.clear();
    std::swap(into.bins, out_);
    std::swap(into.ends, ends_);
    std::swap(into.overflowed, overflowed_);
    const std::size_t n = into.bins.size();
    if (n == 0) return;
    out_.append(into.bins, n - 1, n);
    for (auto* c : into.bins.columns()) c->pop_back();
    ends_.push_back(into.ends.back());
    into.ends.pop_back();
    // The open bin's overflow mark travels with it: fold_runs looks for it when the bin continues.
    if (!into.overflowed.empty() && into.overflowed.back() == out_.ts.back()) {
        overflowed_.push_back(into.overflowed.back());
        into.overflowed.pop_back();
    }
}

}  // namespace aggregate

BarColumns resample(const BarColumns& in, Duration base, Duration tf, Alignment align, const Session& session) {
    aggregate::Resampler r(aggregate::Binner(base, tf, align, session));
    if (!in.empty()) {
        // At most one bin per bar, and one per tf of the span (plus its two ends). Sorted input
        // makes the unsigned difference exact even when it does not fit int64.
        const auto span = static_cast<std::uint64_t>(in.ts.back()) - static_cast<std::uint64_t>(in.ts.front());
        r.reserve(static_cast<std::size_t>(
            std::min<std::uint64_t>(in.size(), span / static_cast<std::uint64_t>(tf.count()) + 2)));
    }
    r.feed(in);
    auto out = r.finish();
    // Every bin is returned: any whose volume overflowed makes the answer an error.
    if (!out.overflowed.empty()) aggregate::throw_volume_overflow(r.binner(), out.overflowed.front());
    return std::move(out.bins);
}

BarColumns resample(const BarColumns& in, Duration base, Duration tf) {
    return resample(in, base, tf, Alignment::utc, Session{});
}

}  // namespace barstore
