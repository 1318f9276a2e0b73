// aggregate/resample.cpp: OHLCV bins aligned to the UTC epoch, one pass, no allocation per bin.
// Invariant: a bin [label, label + tf) holds exactly the input bars whose ts falls in it.
#include <algorithm>

#include "barstore/error.hpp"
#include "barstore/query.hpp"
#include "barstore/time.hpp"

namespace barstore {

namespace {
std::int64_t floor_to(std::int64_t t, std::int64_t step) {
    const std::int64_t q = t / step;
    return (q * step > t ? q - 1 : q) * step;
}
}  // namespace

BarColumns resample(const BarColumns& in, Duration base, Duration tf) {
    const std::int64_t tf_ns = tf.count(), base_ns = base.count();
    if (base_ns <= 0 || tf_ns <= 0 || tf_ns % base_ns != 0)
        throw InvalidInput("timeframe " + format_timeframe(tf) + " is not a whole multiple of the base " +
                           format_timeframe(base));
    BarColumns out;
    const std::size_t n = in.size();
    if (n == 0) return out;
    if (tf_ns == base_ns) return in;
    out.reserve(n / static_cast<std::size_t>(tf_ns / base_ns) + 2);
    const auto* ts = in.ts.data();
    const auto *o = in.open.data(), *h = in.high.data(), *l = in.low.data(), *c = in.close.data(),
               *v = in.volume.data();
    std::size_t i = 0;
    while (i < n) {
        const std::int64_t label = floor_to(ts[i], tf_ns);
        const std::int64_t end = label + tf_ns;
        std::int64_t hi = h[i], lo = l[i], vol = v[i];
        std::size_t j = i + 1;
        for (; j < n && ts[j] < end; ++j) {
            hi = std::max(hi, h[j]);
            lo = std::min(lo, l[j]);
            vol += v[j];
        }
        out.ts.push_back(label);
        out.open.push_back(o[i]);
        out.high.push_back(hi);
        out.low.push_back(lo);
        out.close.push_back(c[j - 1]);
        out.volume.push_back(vol);
        i = j;
    }
    return out;
}

}  // namespace barstore
