// cache/entry.cpp: the incremental fold of memoized aggregates and the byte count of an entry.
// Invariant guarded: an aggregate's bins equal resample() of the same base bars however those
// bars were split across fold() calls; bin boundaries come from aggregate::Binner only; a bin
// whose volume sum does not fit int64 is marked, never wrapped, and never served.
#include "cache/entry.hpp"

#include <algorithm>

namespace barstore::cache {

namespace {

// Map node, Binner, session calendar, list links: not in the vectors, still held.
constexpr u64 kEntryOverheadBytes = sizeof(Entry) + 256;

template <class T>
u64 capacity_bytes(const std::vector<T>& v) {
    return static_cast<u64>(v.capacity()) * sizeof(T);
}

template <class T>
void erase_front(std::vector<T>& v, std::size_t k) {
    v.erase(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k));
}

}  // namespace

u64 Entry::held_bytes() const noexcept {
    u64 b = kEntryOverheadBytes + capacity_bytes(ends) + capacity_bytes(overhang);
    for (const auto* c : bars.columns()) b += capacity_bytes(*c);
    return b;
}

void Entry::note_last_bar(i64 label, i64 end, i64 last_ts) {
    // A bar that would end past int64 never ends: saturate rather than wrap into the past.
    i64 done_at = 0;
    if (__builtin_add_overflow(last_ts, base_ns, &done_at)) done_at = kMaxTs;
    if (done_at <= end) return;
    if (!overhang.empty() && overhang.back().label == label)
        overhang.back().done_at = done_at;
    else
        overhang.push_back({label, done_at});
}

void Entry::fold(const BarColumns& in, std::size_t first, std::size_t last) {
    // The same fold as resample(), so both agree bar for bar however the bars were split. Its
    // overflow list is not kept: the negative volume is the mark (entry.hpp).
    std::vector<i64> overflowed;
    try {
        aggregate::fold_runs(*binner, in, first, last, bars, ends, overflowed,
                             [this](i64 label, i64 end, i64 last_ts) { note_last_bar(label, end, last_ts); });
    } catch (...) {
        reset_bins();
        built = false;
        dirty = true;
        throw;
    }
    if (!overflowed.empty()) maybe_overflowed = true;
}

void Entry::assign_bins(BarColumns b, std::vector<i64> e, std::span<const i64> last_ts) {
    reset_bins();
    bars = std::move(b);
    ends = std::move(e);
    for (std::size_t i = 0; i < bars.size(); ++i) note_last_bar(bars.ts[i], ends[i], last_ts[i]);
    // The negative volume is the mark of an overflowed bin, as after fold().
    maybe_overflowed = std::any_of(bars.volume.begin(), bars.volume.end(), [](i64 v) { return v < 0; });
}

void Entry::check_sums(std::size_t a, std::size_t b) const {
    if (!maybe_overflowed) return;
    const auto& v = bars.volume;
    // One scan of every bin, then none until a fold overflows: a hit stays O(1).
    if (std::none_of(v.begin(), v.end(), [](i64 x) { return x < 0; })) {
        maybe_overflowed = false;
        return;
    }
    for (std::size_t i = a; i < b; ++i)
        if (v[i] < 0) aggregate::throw_volume_overflow(*binner, bars.ts[i]);
}

void Entry::reset_bins() {
    maybe_overflowed = false;
    bars.clear();
    ends.clear();
    overhang.clear();
    at_start = false;
}

void Entry::drop_front(std::size_t k) {
    k = std::min(k, bars.size());
    if (k == 0) return;
    for (auto* col : bars.columns()) erase_front(*col, k);
    if (kind == Kind::raw) {
        from = bars.empty() ? to : bars.ts.front();
        return;
    }
    erase_front(ends, k);
    at_start = false;
    if (!overhang.empty()) {
        const i64 first_label = bars.empty() ? kMaxTs : bars.ts.front();
        const auto keep = std::lower_bound(overhang.begin(), overhang.end(), first_label,
                                           [](const Overhang& a, i64 label) { return a.label < label; });
        overhang.erase(overhang.begin(), keep);
    }
}

void Entry::drop_back(std::size_t keep) {
    if (keep >= bars.size()) return;
    if (kind == Kind::raw) {
        to = bars.ts[keep];
    } else {
        const i64 first_label = bars.ts[keep];
        ends.resize(keep);
        to = ends.back();
        const auto gone = std::lower_bound(overhang.begin(), overhang.end(), first_label,
                                           [](const Overhang& a, i64 label) { return a.label < label; });
        overhang.erase(gone, overhang.end());
    }
    for (auto* col : bars.columns()) col->resize(keep);
}

void Entry::shrink() {
    for (auto* col : bars.columns()) col->shrink_to_fit();
    ends.shrink_to_fit();
    overhang.shrink_to_fit();
}

std::size_t Entry::closed_at(i64 t) const {
    return static_cast<std::size_t>(std::upper_bound(ends.begin(), ends.end(), t) - ends.begin());
}

bool Entry::incomplete_at(std::size_t i, i64 t) const {
    if (overhang.empty()) return false;
    const i64 label = bars.ts[i];
    const auto it = std::lower_bound(overhang.begin(), overhang.end(), label,
                                     [](const Overhang& a, i64 l) { return a.label < l; });
    return it != overhang.end() && it->label == label && it->done_at > t;
}

}  // namespace barstore::cache
