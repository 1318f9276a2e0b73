// aggregate/resample.cpp: bin boundaries (Binner) and OHLCV folding (Resampler), one pass, no
// allocation per bin. Invariant: a bin holds exactly the input bars whose start falls in
// [label, end), however the input was split across feed() calls.
#include <algorithm>

#include "aggregate/binner.hpp"
#include "barstore/error.hpp"
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

}  // namespace

Binner::Binner(Duration base, Duration tf, Alignment align, const Session& session)
    : tf_ns_(tf.count()), align_(align) {
    const i64 base_ns = base.count();
    if (base_ns <= 0 || tf_ns_ <= 0 || tf_ns_ % base_ns != 0)
        throw InvalidInput("timeframe " + format_timeframe(tf) + " is not a whole multiple of the base " +
                           format_timeframe(base));
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
    if (align_ == Alignment::utc) {
        const i64 label = anchor_ns_ + floor_to(ts - anchor_ns_, tf_ns_);
        return {label, label + tf_ns_, true, label, label + tf_ns_};
    }
    const Timestamp t{Duration{ts}};
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

void Resampler::feed(const BarColumns& in) {
    fold_runs(binner_, in, 0, in.size(), out_, ends_, [](i64, i64, i64) {});
}

}  // namespace aggregate

BarColumns resample(const BarColumns& in, Duration base, Duration tf, Alignment align, const Session& session) {
    aggregate::Resampler r(aggregate::Binner(base, tf, align, session));
    r.feed(in);
    return r.finish().bins;
}

BarColumns resample(const BarColumns& in, Duration base, Duration tf) {
    return resample(in, base, tf, Alignment::utc, Session{});
}

}  // namespace barstore
