// query/query.cpp: turns a query (timeframe, alignment, range, last N, as-of) into the base
// bars to read and the bins to return. No look-ahead: with as_of set, no base bar that ends after
// as_of is ever read, so no returned value can depend on one, and a bin is returned as closed only
// when its end (label + tf, or the session close that truncates it) is at or before as_of.
// No count, time or sum wraps: times are checked against the supported range first, read
// windows saturate, and a returned bin whose volume does not fit int64 is an InvalidInput.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "aggregate/binner.hpp"
#include "barstore/error.hpp"
#include "barstore/query.hpp"
#include "barstore/time.hpp"
#include "query/last_bins.hpp"
#include "query/prewarmed.hpp"

namespace barstore {

namespace {

using i64 = std::int64_t;
constexpr i64 kMin = std::numeric_limits<i64>::min();
constexpr i64 kMax = std::numeric_limits<i64>::max();

i64 ns(Timestamp t) { return t.time_since_epoch().count(); }
Timestamp at(i64 t) { return Timestamp{Duration{t}}; }

/// Keeps bins with label in [lo_label, hi_label) and, with as_of, drops bins still open at
/// as_of unless `forming` (only the last bin can be open: nothing after as_of was read). In
/// place: the bins are the answer's storage, never copied. Labels and ends both rise, so each
/// rule cuts one end of the run, and a run cut into pieces is kept piece by piece alike.
void select_in_place(aggregate::Resampler::Result& r, i64 lo_label, i64 hi_label, std::optional<i64> as_of,
                     bool forming) {
    auto& bins = r.bins;
    std::size_t a = 0, b = bins.size();
    while (a < b && bins.ts[a] < lo_label) ++a;
    while (b > a && bins.ts[b - 1] >= hi_label) --b;
    if (as_of && !forming)
        while (b > a && r.ends[b - 1] > *as_of) --b;
    for (auto* c : bins.columns()) {
        c->resize(b);
        c->erase(c->begin(), c->begin() + static_cast<std::ptrdiff_t>(a));
    }
}

BarColumns select(aggregate::Resampler::Result r, i64 lo_label, i64 hi_label, std::optional<i64> as_of, bool forming) {
    select_in_place(r, lo_label, hi_label, as_of, forming);
    return std::move(r.bins);
}

/// The last n bins: a copy of those n only, so that the storage of all the others is freed.
BarColumns keep_last(BarColumns bins, std::size_t n) {
    if (bins.size() <= n) return bins;
    BarColumns tail;
    tail.append(bins, bins.size() - n, bins.size());
    return tail;
}

/// Throws if a returned bin's volume overflowed. Bins not returned may overflow: which of them
/// were folded depends on the read window, and the answer must not.
void check_sums(const BarColumns& kept, const std::vector<i64>& overflowed, const aggregate::Binner& binner) {
    if (kept.empty()) return;
    // Overflowed labels are labels of bins, and the kept bins are a run of them.
    const auto it = std::lower_bound(overflowed.begin(), overflowed.end(), kept.ts.front());
    if (it != overflowed.end() && *it <= kept.ts.back()) aggregate::throw_volume_overflow(binner, *it);
}

/// Closed bins are handed over in batches of about this many (query_each): a batch is a few
/// hundred KiB, so memory stays flat while a call per batch costs nothing measurable.
constexpr std::size_t kBatchBins = 4096;

/// At most one bin per base bar, and one per tf of the span [from, to) (plus its two ends): a
/// reservation that is about right for the whole history without reaching past what is read.
std::size_t expected_bins(std::uint64_t rows, i64 from, i64 to, i64 tf) {
    if (to <= from) return 0;
    const auto span = static_cast<std::uint64_t>(to) - static_cast<std::uint64_t>(from);
    return static_cast<std::size_t>(std::min(rows, span / static_cast<std::uint64_t>(tf) + 2));
}

/// query(), or with `stream` query_each(): where the answer can be computed forward from base
/// bars, closed bins go to *stream as they close and the rest comes back empty; else the whole
/// answer comes back.
BarColumns run(const Store& store, const SeriesKey& key, const QueryOptions& opts, const ScanFn* stream) {
    // Inside the supported range no bound below can overflow (time.hpp).
    if (opts.from) check_supported_time(*opts.from, "from");
    if (opts.to) check_supported_time(*opts.to, "to");
    if (opts.as_of) check_supported_time(*opts.as_of, "as_of");
    if (opts.from && opts.to && *opts.from > *opts.to)
        throw InvalidInput("from " + format_time(*opts.from) + " is after to " + format_time(*opts.to));
    const auto info = store.info_fast(key);
    if (!info) throw NotFound("no series " + key.symbol + " at " + format_timeframe(key.base));
    const i64 base = key.base.count();
    const Duration tf = opts.timeframe.value_or(key.base);
    const Alignment align = opts.align.value_or(info->session.is_24x7() ? Alignment::utc : Alignment::session);
    const std::string series = key.symbol + " " + format_timeframe(key.base);
    aggregate::Binner binner(key.base, tf, align, info->session, series);
    auto make_resampler = [&] {
        return aggregate::Resampler(aggregate::Binner(key.base, tf, align, info->session, series));
    };

    // Bins with label in [lo_label, hi_label). Their bars start at or after lo_label, and end
    // by the close of the bin holding hi_label - 1 (or at hi_label if that instant is in a gap).
    const i64 lo_label = opts.from ? ns(*opts.from) : kMin;
    const i64 hi_label = opts.to ? ns(*opts.to) : kMax;
    i64 hi_read = hi_label;
    if (opts.to) {
        auto b = binner.bin_of(hi_label - 1);
        // In a gap, the bin of the next session may still start before hi_label (a week does).
        if (!b.included) b = binner.bin_of(b.until);
        if (b.included && b.label < hi_label) hi_read = std::max(hi_read, b.end);
    }
    // Only base bars that ended by as_of (ts + base <= as_of).
    std::optional<i64> as_of;
    if (opts.as_of) {
        as_of = ns(*opts.as_of);
        hi_read = std::min(hi_read, *as_of - base + 1);
    }
    if (hi_read <= lo_label) return {};

    // The bins select() keeps, and the labels of the bins whose volume overflowed.
    struct Selected {
        BarColumns bins;
        std::vector<i64> overflowed;
    };
    auto selected = [&](aggregate::Resampler& r) {
        auto result = r.finish();
        auto overflowed = std::move(result.overflowed);
        return Selected{select(std::move(result), lo_label, hi_label, as_of, opts.include_forming),
                        std::move(overflowed)};
    };
    // The last n of them, refused if one of those overflowed.
    auto answer = [&](Selected s, const aggregate::Binner& b, std::optional<std::size_t> n) {
        if (n) s.bins = keep_last(std::move(s.bins), *n);
        check_sums(s.bins, s.overflowed, b);
        return std::move(s.bins);
    };

    // A current prewarmed aggregate serves the bins that the base-bar path would compute whole
    // (prewarmed.hpp, cut_of); the bins after them, from `resume` on, are computed from base bars
    // as below, and select() and the sums check see the joined bins exactly as they would the
    // path's own. A miss, a damaged aggregate or a write in between gives the base-bar path.
    const AggregateSpec spec{tf, align};
    i64 last_close = kMin;
    if (info->rows > 0 && __builtin_add_overflow(ns(info->last), base, &last_close)) last_close = kMax;
    const i64 cut = prewarmed::cut_of(hi_read, last_close);
    // At the base timeframe a bin is a bar: stored bins would save no decoding, only cost a lookup.
    const bool use_prewarmed = info->rows > 0 && tf != key.base;
    auto joined = [&](prewarmed::StoredBins stored, std::optional<std::size_t> n) -> std::optional<BarColumns> {
        auto resampler = make_resampler();
        store.scan(key, at(stored.resume()), at(hi_read), [&](const BarColumns& piece) { resampler.feed(piece); });
        // The stored bins were read at info's generation; unless the series is still there, the
        // base bars just read may be of a later write. Monotonic generations make equal mean
        // unwritten in between.
        const auto now = store.info_fast(key);
        if (!now || now->generation != info->generation) return std::nullopt;
        auto tail = selected(resampler);
        auto overflowed = prewarmed::overflowed_labels(stored.bins);  // all before the tail's
        overflowed.insert(overflowed.end(), tail.overflowed.begin(), tail.overflowed.end());
        stored.bins.append(tail.bins, 0, tail.bins.size());
        return answer(Selected{std::move(stored.bins), std::move(overflowed)}, resampler.binner(), n);
    };

    if (!opts.last || opts.from) {
        if (use_prewarmed)
            if (auto stored = prewarmed::range_complete(store, key, spec, info->generation, binner, lo_label,
                                                        std::min(hi_label, hi_read), cut);
                stored && !stored->bins.empty())
                if (auto out = joined(std::move(*stored), opts.last)) return std::move(*out);
        // Bin chunk by chunk: a year of 1-minute bars is never materialised.
        auto resampler = make_resampler();
        if (stream && !opts.last) {
            // Nor, streamed, the bins: each batch is selected and checked alone, which select()
            // and check_sums allow (bins and their labels in order), then handed over.
            aggregate::Resampler::Result closed;
            bool go_on = true;
            const auto hand_over = [&] {
                select_in_place(closed, lo_label, hi_label, as_of, opts.include_forming);
                check_sums(closed.bins, closed.overflowed, resampler.binner());
                if (!closed.bins.empty()) go_on = (*stream)(closed.bins);
            };
            store.scan(key, at(lo_label), at(hi_read), [&](const BarColumns& piece) {
                resampler.feed(piece);
                if (resampler.size() > kBatchBins) {
                    resampler.take_closed(closed);
                    hand_over();
                }
                return go_on;
            });
            if (go_on) {
                closed = resampler.finish();
                hand_over();
            }
            return {};
        }
        resampler.reserve(expected_bins(info->rows, std::max(lo_label, ns(info->first)),
                                        std::min(hi_read, last_close), tf.count()));
        store.scan(key, at(lo_label), at(hi_read), [&](const BarColumns& piece) { resampler.feed(piece); });
        return answer(selected(resampler), resampler.binner(), opts.last);
    }

    const std::size_t n = *opts.last;
    if (n == 0) return {};
    // The last n stored bins that are whole, then the few bins after them from base bars. A bin
    // with label at or past hi_read has no bar the path reads.
    if (use_prewarmed)
        if (auto stored = prewarmed::last_complete(store, key, spec, info->generation, binner, n,
                                                   std::min(hi_label, hi_read), cut);
            stored && !stored->bins.empty())
            if (auto out = joined(std::move(*stored), n)) return std::move(*out);

    // Last N without a lower bound: fold backwards from hi_read, chunk by chunk, until N bins
    // that select() keeps are whole (gaps and sessions make the number of base bars per bin
    // unknown), so only the chunks holding those bins are decoded. select() then sees the same
    // bins a forward fold would give, minus older whole ones.
    auto last = last_bins::fold_last(store, key, binner, at(hi_read),
                                     {n, hi_label, as_of && !opts.include_forming ? *as_of : kMax});
    auto overflowed = std::move(last.overflowed);
    aggregate::Resampler::Result folded{std::move(last.bins), std::move(last.ends), {}};
    return answer(Selected{select(std::move(folded), lo_label, hi_label, as_of, opts.include_forming),
                           std::move(overflowed)},
                  binner, n);
}

}  // namespace

BarColumns query(const Store& store, const SeriesKey& key, const QueryOptions& opts) {
    return run(store, key, opts, nullptr);
}

void query_each(const Store& store, const SeriesKey& key, const QueryOptions& opts, ScanFn fn) {
    const auto rest = run(store, key, opts, &fn);
    if (!rest.empty()) fn(rest);
}

}  // namespace barstore
