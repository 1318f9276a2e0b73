// aggregate/binner.hpp: which bin a base bar falls in, for both alignments (docs/time.md).
// The one place bin boundaries are decided: resample, query and the cache all go through it.
#pragma once
#include <cstdint>
#include <optional>

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
