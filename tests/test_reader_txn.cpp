// tests/test_reader_txn.cpp: how many LMDB read transactions a Reader call begins, counted by
// wrapping mdb_txn_begin: this executable's definition comes before liblmdb's, and forwards to
// it through dlsym(RTLD_NEXT). A call that hits begins one, its version check; given the version
// its caller read for it (as the Python module passes the one it checks its lookups with), none.
// Answers of both forms equal query()'s, also across a write.
#include <doctest/doctest.h>
#include <dlfcn.h>
#include <lmdb.h>

#include <atomic>
#include <cstdint>
#include <random>
#include <vector>

#include "barstore/query.hpp"
#include "barstore/reader.hpp"
#include "barstore/store.hpp"
#include "reference/naive_time.hpp"
#include "support/bars.hpp"
#include "support/time.hpp"
#include "support/util.hpp"

namespace {

std::atomic<long> read_begins{0};

}  // namespace

extern "C" int mdb_txn_begin(MDB_env* env, MDB_txn* parent, unsigned int flags, MDB_txn** txn) {
    using Begin = int (*)(MDB_env*, MDB_txn*, unsigned int, MDB_txn**);
    static const auto real = reinterpret_cast<Begin>(dlsym(RTLD_NEXT, "mdb_txn_begin"));
    if (flags & MDB_RDONLY) read_begins.fetch_add(1, std::memory_order_relaxed);
    return real(env, parent, flags, txn);
}

namespace {

using barstore::Duration;
using barstore::QueryOptions;
using barstore::Reader;
using barstore::SeriesBatch;
using barstore::SeriesKey;
using barstore::Store;
using test::at, test::batch, test::cols, test::kMin;

/// Read transactions begun while fn runs.
template <class Fn>
long begins_in(Fn&& fn) {
    const long before = read_begins.load();
    fn();
    return read_begins.load() - before;
}

QueryOptions cold(std::int64_t tf, std::size_t n, std::int64_t t) {
    QueryOptions q;
    q.timeframe = Duration{tf};
    q.last = n;
    q.as_of = at(t);
    return q;
}

}  // namespace

TEST_CASE("a Reader call that hits begins one read transaction, none when its caller passes the version") {
    const auto seed = test::seed();
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    test::TempDir dir;
    Store store = Store::open(dir.path());
    const SeriesKey key{"X", Duration{kMin}};
    const std::int64_t start = reference::epoch_ns(2024, 1, 1);
    auto bars = test::make_bars(rng, 4000, start, kMin, 1);  // one bar a minute
    const auto first = std::vector<barstore::Bar>(bars.begin(), bars.begin() + 3000);
    store.write(std::vector<SeriesBatch>{batch(key, first)});

    // The counter sees the store's read transactions at all, or every count below means nothing.
    REQUIRE(begins_in([&] { (void)store.version(); }) == 1);

    Reader reader(store);
    const std::int64_t t0 = start + 2000 * kMin;
    (void)reader.last_bars(key, Duration{5 * kMin}, 50, at(t0));  // builds the entries
    (void)reader.last_price(key, at(t0));
    long hits = 0;
    for (std::int64_t t = t0; t < t0 + 200 * kMin; t += kMin) {
        CAPTURE(t);
        const auto stats = reader.stats();
        const auto v = store.version();
        barstore::BarColumns given, own;
        const long with_version = begins_in([&] { given = reader.last_bars(key, Duration{5 * kMin}, 50, at(t), {}, v).to_columns(); });
        const long without = begins_in([&] { own = reader.last_bars(key, Duration{5 * kMin}, 50, at(t)).to_columns(); });
        const long price_given = begins_in([&] { (void)reader.last_price(key, at(t), store.version()); });
        const long price_own = begins_in([&] { (void)reader.last_price(key, at(t)); });
        REQUIRE(given == barstore::query(store, key, cold(5 * kMin, 50, t)));
        REQUIRE(own == given);
        if (reader.stats().store_reads != stats.store_reads) continue;  // a read of the store begins its own
        ++hits;
        CHECK(with_version == 0);
        CHECK(without == 1);
        CHECK(price_given == 1);  // the store.version() in its arguments
        CHECK(price_own == 1);
    }
    CHECK(hits > 150);  // the window is read ahead: most steps read nothing

    // A write, then the version read for the next call: the new bars are seen.
    store.write(std::vector<SeriesBatch>{batch(key, std::vector<barstore::Bar>(bars.begin() + 3000, bars.end()))});
    const std::int64_t t1 = start + 3500 * kMin;
    const auto after = reader.last_bars(key, Duration{5 * kMin}, 50, at(t1), {}, store.version()).to_columns();
    CHECK(after == barstore::query(store, key, cold(5 * kMin, 50, t1)));
    CHECK(after.size() == 50);
}
