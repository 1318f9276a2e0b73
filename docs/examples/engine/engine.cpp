// docs/examples/engine/engine.cpp: a small backtest engine built against an installed
// libbarstore (docs/api.md). One clock steps a minute at a time through a Reader over the 1m
// series of each symbol given, reading three timeframes; a moving-average rule trades 5m closes.
//
//   c++ -std=c++20 -O2 engine.cpp $(pkg-config --cflags --libs barstore) -o engine
//   ./engine DB SYMBOL...        (each SYMBOL with a 1m series in the store at DB)
//
// The rule, long only, one unit: after each closed 5m bar with at least kSlow bars behind it,
// hold when the mean of the last kFast closes is above the mean of the last kSlow, else be flat;
// fills at the last price as of the bar's close. An open position is marked at the last price.
// It prints, per symbol, the closed bars it saw per timeframe, its trades and PnL, and the
// Reader's counters. tests/install/engine.sh checks the counts and the trades against
// `barstore query`.
#include <barstore/barstore.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using barstore::Duration;
using barstore::Timestamp;

constexpr std::size_t kFast = 12, kSlow = 48;  // 1 hour against 4 hours of 5m bars
const Duration kTimeframes[] = {1min, 5min, 1h};
constexpr std::size_t kRuleTimeframe = 1;  // 5m
constexpr std::size_t kHistoryBars = kSlow;

struct SymbolState {
    barstore::SeriesKey key;
    int price_decimals = 0;
    Timestamp start{}, end{};  // the clock's span for it: first bar's end .. last 1h bin's end
    std::int64_t last_seen_ns[3] = {INT64_MIN, INT64_MIN, INT64_MIN};
    std::uint64_t bars_seen[3] = {0, 0, 0};
    bool long_ = false;
    std::int64_t entry = 0, realized = 0;
    std::uint64_t trades = 0;  // round trips closed, plus one for a position still open
};

// Sums of mantissas of up to kSlow prices: far from int64's limits, and the comparison of two
// means is done crosswise (fast_sum * kSlow vs slow_sum * kFast) so no division rounds it.
bool fast_above_slow(const barstore::BarView& bars) {
    const auto closes = bars.close;
    __int128 fast_sum = 0, slow_sum = 0;
    for (std::size_t i = closes.size() - kSlow; i < closes.size(); ++i) {
        slow_sum += closes[i];
        if (i >= closes.size() - kFast) fast_sum += closes[i];
    }
    return fast_sum * kSlow > slow_sum * kFast;
}

void step(barstore::Reader& reader, SymbolState& s, Timestamp now) {
    for (std::size_t tf = 0; tf < std::size(kTimeframes); ++tf) {
        // The view is valid until the next call on the reader: use it before asking again.
        const barstore::BarView bars = reader.last_bars(s.key, kTimeframes[tf], kHistoryBars, now);
        if (bars.empty() || bars.ts.back() == s.last_seen_ns[tf]) continue;  // no bar closed since
        s.last_seen_ns[tf] = bars.ts.back();
        ++s.bars_seen[tf];
        if (tf != kRuleTimeframe || bars.size() < kSlow) continue;
        const bool want_long = fast_above_slow(bars);
        if (want_long == s.long_) continue;
        const std::int64_t price = reader.last_price(s.key, now).value();  // a bar closed by now
        if (want_long) {
            s.entry = price;
        } else {
            s.realized += price - s.entry;
            ++s.trades;
        }
        s.long_ = want_long;
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::cerr << "usage: engine DB SYMBOL...\n";
        return 2;
    }
    try {
        barstore::StoreOptions store_opts;
        store_opts.read_only = true;  // an engine never writes: many may share one store
        const auto store = barstore::Store::open(argv[1], store_opts);
        std::vector<SymbolState> symbols;
        for (int i = 2; i < argc; ++i) {
            SymbolState s;
            s.key = {argv[i], 1min};
            const auto info = store.info_fast(s.key);
            if (!info || info->rows == 0) throw barstore::NotFound(std::string(argv[i]) + ": no 1m bars in the store");
            s.price_decimals = info->scale.price_decimals;
            s.start = info->first + s.key.base;
            s.end = std::chrono::floor<std::chrono::hours>(info->last) + 1h;  // the last 1h bin closes
            symbols.push_back(std::move(s));
        }
        barstore::ReaderOptions reader_opts;
        reader_opts.history_bars = kHistoryBars;
        barstore::Reader reader(store, reader_opts);  // one per thread; the store outlives it

        // One clock over every symbol's span, a minute at a time; between spans it jumps ahead.
        Timestamp now = std::min_element(symbols.begin(), symbols.end(), [](auto& a, auto& b) {
                            return a.start < b.start;
                        })->start;
        std::uint64_t steps = 0;
        for (;;) {
            std::optional<Timestamp> next_start;
            bool active = false;
            for (auto& s : symbols) {
                if (now >= s.start && now <= s.end) {
                    step(reader, s, now);
                    active = true;
                } else if (s.start > now && (!next_start || s.start < *next_start)) {
                    next_start = s.start;
                }
            }
            steps += active;
            if (active) {
                now += 1min;
            } else if (next_start) {
                now = *next_start;
            } else {
                break;
            }
        }

        for (auto& s : symbols) {
            std::int64_t open_pnl = 0;
            if (s.long_) {
                open_pnl = reader.last_price(s.key, s.end).value() - s.entry;
                ++s.trades;
            }
            const char* names[] = {"1m", "5m", "1h"};
            for (std::size_t tf = 0; tf < 3; ++tf)
                std::cout << s.key.symbol << ' ' << names[tf] << " bars " << s.bars_seen[tf] << '\n';
            std::cout << s.key.symbol << " trades " << s.trades << " pnl "
                      << barstore::format_decimal(s.realized + open_pnl, s.price_decimals) << '\n';
        }
        const auto st = reader.stats();
        std::cout << "steps " << steps << "\nreader hits " << st.hits << " misses " << st.misses << " store_reads "
                  << st.store_reads << " evictions " << st.evictions << " peak_resident_bytes "
                  << st.peak_resident_bytes << "\nbarstore " << barstore::version() << " (headers "
                  << BARSTORE_VERSION_STRING << ")\n";
    } catch (const barstore::Error& e) {
        std::cerr << "engine: " << e.what() << '\n';
        return e.code() == barstore::Errc::invalid_input || e.code() == barstore::Errc::not_found ? 2 : 1;
    }
    return 0;
}
