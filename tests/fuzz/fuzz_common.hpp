// tests/fuzz/fuzz_common.hpp: what every fuzz target checks beyond "no crash": a parser either
// throws InvalidInput or returns batches that keep the store's invariants; anything else
// (another exception type, a bad batch) aborts, which libFuzzer and the replay report.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "barstore/error.hpp"
#include "barstore/ingest.hpp"

namespace fuzz {

[[noreturn]] inline void fail(const std::string& why) {
    std::fprintf(stderr, "fuzz target invariant broken: %s\n", why.c_str());
    std::abort();
}

inline void check_batches(const std::vector<barstore::SeriesBatch>& batches) {
    for (const auto& b : batches) {
        if (b.bars.empty()) fail("empty batch for " + b.key.symbol);
        if (b.key.base.count() <= 0) fail("non-positive base timeframe");
        const auto n = b.bars.size();
        if (b.bars.open.size() != n || b.bars.high.size() != n || b.bars.low.size() != n ||
            b.bars.close.size() != n || b.bars.volume.size() != n)
            fail("columns of different lengths");
        if (const auto p = barstore::check_bars(b.bars, b.key.base)) fail("bar " + std::to_string(p->index) + ": " + p->reason);
        if (b.scale.price_decimals < 0 || b.scale.price_decimals > 18 || b.scale.volume_decimals < 0 ||
            b.scale.volume_decimals > 18)
            fail("decimals out of 0..18");
        try {
            barstore::validate_symbol(b.key.symbol);
        } catch (const barstore::InvalidInput&) {
            fail("invalid symbol '" + b.key.symbol + "'");
        }
    }
}

/// Runs a parser: InvalidInput is a fine answer to bad bytes; any other exception is a bug.
template <class Fn>
void expect_clean(Fn&& parse) {
    try {
        check_batches(parse());
    } catch (const barstore::InvalidInput&) {
    } catch (const std::exception& e) {
        fail(std::string("unexpected exception: ") + e.what());
    }
}

}  // namespace fuzz
