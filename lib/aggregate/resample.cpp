// aggregate/resample.cpp: OHLCV bins aligned to the UTC epoch, one pass, no allocation per bin.
// Invariant: a bin [label, label + tf) holds exactly the input bars whose ts falls in it, however
// the input was split across feed() calls.
#include <algorithm>

#include "aggregate/resampler.hpp"
#include "barstore/error.hpp"
#include "barstore/query.hpp"
#include "barstore/time.hpp"

namespace barstore {

namespace aggregate {

namespace {
std::int64_t floor_to(std::int64_t t, std::int64_t step) {
    const std::int64_t q = t / step;
    return (q * step > t ? q - 1 : q) * step;
}
}  // namespace

Resampler::Resampler(Duration base, Duration tf) : tf_ns_(tf.count()) {
    const std::int64_t base_ns = base.count();
    if (base_ns <= 0 || tf_ns_ <= 0 || tf_ns_ % base_ns != 0)
        throw InvalidInput("timeframe " + format_timeframe(tf) + " is not a whole multiple of the base " +
                           format_timeframe(base));
}

void Resampler::feed(const BarColumns& in) {
    const std::size_t n = in.size();
    const auto* ts = in.ts.data();
    const auto *o = in.open.data(), *h = in.high.data(), *l = in.low.data(), *c = in.close.data(),
               *v = in.volume.data();
    std::size_t i = 0;
    // The first bars may belong to the bin left open by the previous call.
    if (!out_.empty()) {
        const std::int64_t end = out_.ts.back() + tf_ns_;
        auto &hi = out_.high.back(), &lo = out_.low.back(), &cl = out_.close.back(), &vol = out_.volume.back();
        for (; i < n && ts[i] < end; ++i) {
            hi = std::max(hi, h[i]);
            lo = std::min(lo, l[i]);
            cl = c[i];
            vol += v[i];
        }
    }
    while (i < n) {
        const std::int64_t label = floor_to(ts[i], tf_ns_);
        const std::int64_t end = label + tf_ns_;
        std::int64_t hi = h[i], lo = l[i], vol = v[i];
        std::size_t j = i + 1;
        for (; j < n && ts[j] < end; ++j) {
            hi = std::max(hi, h[j]);
            lo = std::min(lo, l[j]);
            vol += v[j];
        }
        out_.ts.push_back(label);
        out_.open.push_back(o[i]);
        out_.high.push_back(hi);
        out_.low.push_back(lo);
        out_.close.push_back(c[j - 1]);
        out_.volume.push_back(vol);
        i = j;
    }
}

}  // namespace aggregate

BarColumns resample(const BarColumns& in, Duration base, Duration tf) {
    aggregate::Resampler r(base, tf);
    if (tf == base) return in;
    r.feed(in);
    return r.finish();
}

}  // namespace barstore
