// tests/support/bars.hpp: the bar helpers the tests share: rows <-> columns, a row as text, the
// first difference of two bar sequences, a batch to write, and the random price walk every
// generated series is drawn from. Helpers only: what a test expects comes from tests/reference/.
#pragma once
#include <algorithm>
#include <concepts>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "barstore/ingest.hpp"
#include "barstore/session.hpp"
#include "barstore/types.hpp"
#include "reference/naive_bars.hpp"
#include "reference/naive_time.hpp"
#include "support/time.hpp"

namespace test {

inline barstore::BarColumns cols(const std::vector<reference::IntBar>& bars) {
    barstore::BarColumns c;
    for (const auto& b : bars) c.push_back({at(b.ts), b.open, b.high, b.low, b.close, b.volume});
    return c;
}
inline barstore::BarColumns cols(const std::vector<barstore::Bar>& bars) {
    barstore::BarColumns c;
    for (const auto& b : bars) c.push_back(b);
    return c;
}
inline std::vector<barstore::Bar> rows(const barstore::BarColumns& c) {
    std::vector<barstore::Bar> r;
    for (std::size_t i = 0; i < c.size(); ++i) r.push_back(c.row(i));
    return r;
}

/// Row i as "ts,open,high,low,close,volume" with ts in ns since the epoch: exact for any int64.
inline std::string show(const barstore::BarColumns& c, std::size_t i) {
    return std::to_string(c.ts[i]) + "," + std::to_string(c.open[i]) + "," + std::to_string(c.high[i]) + "," +
           std::to_string(c.low[i]) + "," + std::to_string(c.close[i]) + "," + std::to_string(c.volume[i]);
}
/// Row i with ts as ISO 8601 UTC (reference::iso), for tests that reason in clock times
/// (sessions, DST); fields joined by `sep`.
inline std::string show_iso(const barstore::BarColumns& c, std::size_t i, char sep) {
    const std::string s(1, sep);
    return reference::iso(c.ts[i]) + s + std::to_string(c.open[i]) + s + std::to_string(c.high[i]) + s +
           std::to_string(c.low[i]) + s + std::to_string(c.close[i]) + s + std::to_string(c.volume[i]);
}
inline std::string show_iso(const barstore::BarColumns& c, std::size_t i) { return show_iso(c, i, ','); }

/// diff(got, want): "" when equal, else the first differing row, or the sizes and the first row
/// one has and the other lacks, each row as `show_row` writes it. Tests CHECK it == "", so a
/// failure prints where the two part.
struct BarDiff {
    std::string (*show_row)(const barstore::BarColumns&, std::size_t);

    std::string operator()(const barstore::BarColumns& got, const barstore::BarColumns& want) const {
        for (std::size_t i = 0; i < std::min(got.size(), want.size()); ++i)
            if (!(got.row(i) == want.row(i)))
                return "row " + std::to_string(i) + ": " + show_row(got, i) + " vs " + show_row(want, i);
        if (got.size() != want.size()) {
            const std::string extra =
                got.size() > want.size() ? "got " + show_row(got, want.size()) : "want " + show_row(want, got.size());
            return "sizes " + std::to_string(got.size()) + " vs " + std::to_string(want.size()) +
                   ", first extra: " + extra;
        }
        return "";
    }
    std::string operator()(const barstore::BarColumns& got, const std::vector<reference::IntBar>& want) const {
        return (*this)(got, cols(want));
    }
    std::string operator()(const std::vector<barstore::Bar>& got, const std::vector<barstore::Bar>& want) const {
        return (*this)(cols(got), cols(want));
    }
};
inline constexpr BarDiff diff{show};          ///< rows with ts in ns
inline constexpr BarDiff diff_iso{show_iso};  ///< rows with ts as ISO 8601 UTC

/// A batch of `bars` for `key` at `scale` (default: prices in cents, whole volumes), with
/// `session` stored alongside when given. Every field is set by name: aggregate
/// initialisation would leave the later ones to -Wmissing-field-initializers.
inline barstore::SeriesBatch batch(const barstore::SeriesKey& key, const std::vector<barstore::Bar>& bars,
                                   barstore::Scale scale = {2, 0}, std::optional<barstore::Session> session = {}) {
    barstore::SeriesBatch b;
    b.key = key;
    b.scale = scale;
    b.bars = cols(bars);
    b.session = std::move(session);
    return b;
}
/// The same from reference::IntBar rows. A template only so that a braced list, as in
/// `batch(key, {})`, means barstore::Bar rows rather than being ambiguous.
template <std::same_as<std::vector<reference::IntBar>> IntBars>
barstore::SeriesBatch batch(const barstore::SeriesKey& key, const IntBars& bars, barstore::Scale scale = {2, 0},
                            std::optional<barstore::Session> session = {}) {
    barstore::SeriesBatch b;
    b.key = key;
    b.scale = scale;
    b.bars = cols(bars);
    b.session = std::move(session);
    return b;
}

/// A random price walk, one bar per next(): the bar opens within 3 of the last close, closes
/// within `close_step` of its open, reaches up to `wick` - 1 beyond its body, and has a volume
/// in [volume_min, volume_min + volume_mod). Bars are consistent (low <= open, close <= high).
/// Each next() draws open, close, high, low, volume from `rng` in that order, so a series is a
/// function of its seed.
struct PriceWalk {
    std::int64_t px;  ///< the last close; the first bar opens near it
    std::int64_t close_step = 20, wick = 9;
    std::int64_t volume_mod = 100000, volume_min = 0;

    reference::IntBar next(std::mt19937_64& rng, std::int64_t t_ns) {
        const auto draw = [&](std::int64_t n) { return static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(n)); };
        const std::int64_t open = px + draw(7) - 3;
        const std::int64_t close = open + draw(2 * close_step + 1) - close_step;
        const std::int64_t high = std::max(open, close) + draw(wick);
        const std::int64_t low = std::min(open, close) - draw(wick);
        const std::int64_t volume = volume_min + draw(volume_mod);
        px = close;
        return {t_ns, open, high, low, close, volume};
    }
};

/// n bars from `start` (aligned to `base`), 3 in 4 one base apart, else 1..max_gap bases; as
/// barstore::Bar, what Store::write and read take.
inline std::vector<barstore::Bar> make_bars(std::mt19937_64& rng, std::size_t n, std::int64_t start,
                                            std::int64_t base = kMin, int max_gap = 5) {
    std::vector<barstore::Bar> out;
    std::int64_t t = start;
    PriceWalk walk{.px = 10000 + static_cast<std::int64_t>(rng() % 1000), .close_step = 10, .wick = 5};
    for (std::size_t i = 0; i < n; ++i) {
        const auto b = walk.next(rng, t);
        out.push_back({at(b.ts), b.open, b.high, b.low, b.close, b.volume});
        t += base * (rng() % 4 == 0 ? 1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(max_gap)) : 1);
    }
    return out;
}

/// n bars at `base` from `start` with random gaps: 7 in 10 one base apart, else 2..11 bases, or
/// (long_gaps, 3 in 100) 100..3099 bases; as reference::IntBar, what the naive oracles take.
inline std::vector<reference::IntBar> make_int_bars(std::mt19937_64& rng, std::size_t n, std::int64_t start,
                                                    std::int64_t base, bool long_gaps = true) {
    std::vector<reference::IntBar> out;
    std::int64_t t = start;
    PriceWalk walk{.px = 50000 + static_cast<std::int64_t>(rng() % 1000), .volume_mod = 1000000};
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(walk.next(rng, t));
        const auto k = rng() % 100;
        t += base * (k < 70                 ? 1
                     : k < 97 || !long_gaps ? 2 + static_cast<std::int64_t>(rng() % 10)
                                            : 100 + static_cast<std::int64_t>(rng() % 3000));
    }
    return out;
}

}  // namespace test
