// aggregate/resampler.hpp: incremental epoch-aligned OHLCV binning, fed chunk by chunk.
#pragma once
#include <cstdint>

#include "barstore/types.hpp"

namespace barstore::aggregate {

class Resampler {
public:
    /// Throws InvalidInput unless tf is a positive multiple of base.
    Resampler(Duration base, Duration tf);
    /// Bars must come in time order across calls.
    void feed(const BarColumns& bars);
    /// All bins so far, the last one possibly still open.
    BarColumns finish() { return std::move(out_); }

private:
    std::int64_t tf_ns_;
    BarColumns out_;
};

}  // namespace barstore::aggregate
