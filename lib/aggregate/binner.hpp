// aggregate/binner.hpp: which bin a base bar falls in, for both alignments (docs/time.md).
// The one place bin boundaries are decided: resample, query and the cache all go through it.
#pragma once
#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "barstore/resample.hpp"
#include "barstore/session.hpp"
#include "barstore/time.hpp"

namespace barstore::aggregate {

/// The bin [label, end) of a bar, or with included == false no bin (the bar is outside every
/// session). end is where the bin closes: label + tf, or earlier when a session close truncates it.
/// Every bar in [from, until) gets the same answer: the bin itself, except that a week's bin
/// has gaps between its sessions (from/until: the session's open and close); for a bar left
/// out, the bar itself up to the next session's open.
struct Bin {
    std::int64_t label = 0, end = 0;
    bool included = true;
    std::int64_t from = 0, until = 0;
};

class Binner {
public:
    /// Throws InvalidInput unless tf is a positive multiple of base and at most kMaxTimeframe,
    /// and for session alignment tf < 1d, tf == 1d or tf == 1w. `series` names the series in
    /// errors (e.g. "SPY 1m"); empty for resample(), which has none.
    Binner(Duration base, Duration tf, Alignment align, const Session& session, std::string series = {});
    Binner(Binner&&) noexcept = default;
    Binner& operator=(Binner&&) noexcept = default;

    /// The bin of a bar starting at ts. O(1) while ts stays in the last answer's [from, until).
    /// Throws InvalidInput, naming the bar, if the bin would start or end outside int64 (only a
    /// bar outside the supported range can have such a bin), or, for session alignment, if the
    /// bar is further than kMaxTimeframe outside the supported range.
    Bin bin_of(std::int64_t ts);
    Duration timeframe() const noexcept { return Duration{tf_ns_}; }
    Alignment alignment() const noexcept { return align_; }
    const std::string& series() const noexcept { return series_; }

private:
    Bin compute(std::int64_t ts);
    Bin compute_wide(std::int64_t ts) const;

    std::int64_t tf_ns_;
    Alignment align_;
    std::string series_;
    std::int64_t anchor_ns_ = 0;  // utc: where multiples of tf start (Monday for weeks)
    std::optional<SessionCalendar> calendar_;
    Bin last_{0, 0, false, 0, 0};
};

/// The mark of a bin whose volume sum does not fit int64 (barstore/resample.hpp).
using barstore::kVolumeOverflow;

/// Throws InvalidInput: the volume of the bin at `label` does not fit int64. Names the series,
/// the timeframe and the bin.
[[noreturn]] void throw_volume_overflow(const Binner& binner, std::int64_t label);

/// Folds bars [first, last) of `in` (time order, after any bars folded before) into `out` and
/// `ends`: a run of bars ends at the Binner's `until` (a week's bin is one run per session), and
/// a run whose label is the last bin's continues that bin (left open by the previous call, or a
/// week's next session). Bars outside every session are skipped. on_run(label, end, last_ts) is
/// told of every run. Resampler and the cache's incremental aggregates both fold through here.
/// Volumes are summed exactly: a run in 128 bits, then added to its bin; a bin whose sum does not
/// fit int64 gets kVolumeOverflow and its label appended to `overflowed` (in label order), and is
/// never given a wrapped value. Nothing is thrown for it: only the caller knows whether the bin is
/// part of its answer.
template <class OnRun>
void fold_runs(Binner& binner, const BarColumns& in, std::size_t first, std::size_t last, BarColumns& out,
               std::vector<std::int64_t>& ends, std::vector<std::int64_t>& overflowed, OnRun&& on_run) {
    using i64 = std::int64_t;
    __extension__ using i128 = __int128;  // __extension__: -Wpedantic knows no 128-bit integers
    constexpr i128 kMax = std::numeric_limits<i64>::max(), kMin = std::numeric_limits<i64>::min();
    const i64* ts = in.ts.data();
    const i64 *o = in.open.data(), *h = in.high.data(), *l = in.low.data(), *c = in.close.data(),
              *v = in.volume.data();
    std::size_t i = first;
    while (i < last) {
        const Bin bin = binner.bin_of(ts[i]);
        if (!bin.included) {
            while (i < last && ts[i] < bin.until) ++i;  // outside every session
            continue;
        }
        i64 hi = h[i], lo = l[i];
        i128 vol = v[i];  // 2^64 bars of any int64 volume fit: a run cannot overflow it
        std::size_t j = i + 1;
        for (; j < last && ts[j] < bin.until; ++j) {
            hi = std::max(hi, h[j]);
            lo = std::min(lo, l[j]);
            vol += v[j];
        }
        const bool merge = !out.empty() && out.ts.back() == bin.label;
        // A bin continued from an earlier call may have overflowed there, with its label in that
        // call's list: its kVolumeOverflow is the mark, and adding to it could land back in range.
        const bool was_overflowed = merge && ((!overflowed.empty() && overflowed.back() == bin.label) ||
                                              out.volume.back() == kVolumeOverflow);
        if (merge) vol += out.volume.back();
        const bool overflow = was_overflowed || vol > kMax || vol < kMin;
        const i64 sum = overflow ? kVolumeOverflow : static_cast<i64>(vol);
        if (overflow && !was_overflowed) overflowed.push_back(bin.label);
        if (merge) {
            out.high.back() = std::max(out.high.back(), hi);
            out.low.back() = std::min(out.low.back(), lo);
            out.close.back() = c[j - 1];
            out.volume.back() = sum;
        } else {
            out.ts.push_back(bin.label);
            out.open.push_back(o[i]);
            out.high.push_back(hi);
            out.low.push_back(lo);
            out.close.push_back(c[j - 1]);
            out.volume.push_back(sum);
            ends.push_back(bin.end);
        }
        on_run(bin.label, bin.end, ts[j - 1]);
        i = j;
    }
}

/// Incremental binning, fed bars in time order across calls (a chunk at a time).
class Resampler {
public:
    explicit Resampler(Binner binner) : binner_(std::move(binner)) {}
    void feed(const BarColumns& bars);
    /// Bins so far (the last may still be open), where each one closes, and the labels of the
    /// bins whose volume does not fit int64 (their volume is meaningless: never return them).
    struct Result {
        BarColumns bins;
        std::vector<std::int64_t> ends;
        std::vector<std::int64_t> overflowed;
    };
    Result finish() { return {std::move(out_), std::move(ends_), std::move(overflowed_)}; }
    /// Room for n bins, so that a caller that knows about how many there will be does not pay
    /// for the vectors doubling (a copy of everything so far, and fresh pages, each time).
    void reserve(std::size_t n) {
        out_.reserve(n);
        ends_.reserve(n);
    }
    /// Bins so far, the last possibly still open.
    std::size_t size() const noexcept { return out_.size(); }
    /// Moves the bins but the last into `into` (cleared first), with their ends and overflowed
    /// labels: no later feed() can change them, as bars come in time order and only the last bin
    /// can continue. The last bin stays. The Resampler goes on in `into`'s former storage, so a
    /// caller passing the same Result each time allocates nothing once both have grown.
    void take_closed(Result& into);
    const Binner& binner() const noexcept { return binner_; }

private:
    Binner binner_;
    BarColumns out_;
    std::vector<std::int64_t> ends_;
    std::vector<std::int64_t> overflowed_;
};

}  // namespace barstore::aggregate
