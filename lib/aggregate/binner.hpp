// aggregate/binner.hpp: which bin a base bar falls in, for both alignments (docs/time.md).
// The one place bin boundaries are decided: resample, query and the cache all go through it.
#pragma once
#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "barstore/query.hpp"
#include "barstore/session.hpp"

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
    /// Throws InvalidInput unless tf is a positive multiple of base, and for session alignment
    /// tf < 1d, tf == 1d or tf == 1w.
    Binner(Duration base, Duration tf, Alignment align, const Session& session);
    Binner(Binner&&) noexcept = default;
    Binner& operator=(Binner&&) noexcept = default;

    /// The bin of a bar starting at ts. O(1) while ts stays in the last answer's [from, until).
    Bin bin_of(std::int64_t ts);
    Duration timeframe() const noexcept { return Duration{tf_ns_}; }
    Alignment alignment() const noexcept { return align_; }

private:
    Bin compute(std::int64_t ts);

    std::int64_t tf_ns_;
    Alignment align_;
    std::int64_t anchor_ns_ = 0;  // utc: where multiples of tf start (Monday for weeks)
    std::optional<SessionCalendar> calendar_;
    Bin last_{0, 0, false, 0, 0};
};

/// Folds bars [first, last) of `in` (time order, after any bars folded before) into `out` and
/// `ends`: a run of bars ends at the Binner's `until` (a week's bin is one run per session), and
/// a run whose label is the last bin's continues that bin (left open by the previous call, or a
/// week's next session). Bars outside every session are skipped. on_run(label, end, last_ts) is
/// told of every run. Resampler and the cache's incremental aggregates both fold through here.
template <class OnRun>
void fold_runs(Binner& binner, const BarColumns& in, std::size_t first, std::size_t last, BarColumns& out,
               std::vector<std::int64_t>& ends, OnRun&& on_run) {
    using i64 = std::int64_t;
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
        i64 hi = h[i], lo = l[i], vol = v[i];
        std::size_t j = i + 1;
        for (; j < last && ts[j] < bin.until; ++j) {
            hi = std::max(hi, h[j]);
            lo = std::min(lo, l[j]);
            vol += v[j];
        }
        if (!out.empty() && out.ts.back() == bin.label) {
            out.high.back() = std::max(out.high.back(), hi);
            out.low.back() = std::min(out.low.back(), lo);
            out.close.back() = c[j - 1];
            out.volume.back() += vol;
        } else {
            out.ts.push_back(bin.label);
            out.open.push_back(o[i]);
            out.high.push_back(hi);
            out.low.push_back(lo);
            out.close.push_back(c[j - 1]);
            out.volume.push_back(vol);
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
    /// Bins so far (the last may still be open) and where each one closes.
    struct Result {
        BarColumns bins;
        std::vector<std::int64_t> ends;
    };
    Result finish() { return {std::move(out_), std::move(ends_)}; }

private:
    Binner binner_;
    BarColumns out_;
    std::vector<std::int64_t> ends_;
};

}  // namespace barstore::aggregate
