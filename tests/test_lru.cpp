// tests/test_lru.cpp: the cost-bounded LRU (lib/cache/lru.hpp) on its own, against a naive model
// (a vector in recency order and a sum recomputed from scratch): push, erase, touch, cost
// updates and shedding to a bound, in random sequences (seed printed on failure) and by example.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "cache/lru.hpp"
#include "support/util.hpp"

namespace {

using u64 = std::uint64_t;
using barstore::cache::CostLru;
using barstore::cache::LruHook;

struct Item {
    int id = 0;
    LruHook<Item> hook;
    bool alive = true;  // cleared by the shed callback; the model says which items it expects
};

using Lru = CostLru<Item, &Item::hook>;

/// The reference: ids, most recently used first, each with its cost. Nothing clever.
struct Model {
    std::vector<std::pair<int, u64>> order;

    auto find(int id) {
        return std::find_if(order.begin(), order.end(), [&](const auto& p) { return p.first == id; });
    }
    void push(int id, u64 cost) { order.insert(order.begin(), {id, cost}); }
    void erase(int id) { order.erase(find(id)); }
    void touch(int id) {
        const auto p = *find(id);
        erase(id);
        order.insert(order.begin(), p);
    }
    void set_cost(int id, u64 cost) { find(id)->second = cost; }
    u64 total() const {
        u64 t = 0;
        for (const auto& p : order) t += p.second;
        return t;
    }
    /// The coldest first, skipping `spare`, while the sum is over `max_cost`.
    std::vector<int> shed(u64 max_cost, int spare) {
        std::vector<int> out;
        for (std::size_t i = order.size(); i-- > 0 && total() > max_cost;) {
            if (order[i].first == spare) continue;
            out.push_back(order[i].first);
            order.erase(order.begin() + static_cast<std::ptrdiff_t>(i));
        }
        return out;
    }
};

/// The list walked both ways equals the model, and so do the sum, the size and every cost.
void check_same(const Lru& lru, const Model& m) {
    std::vector<std::pair<int, u64>> down, up;
    for (const Item* x = lru.hottest(); x; x = Lru::colder(*x)) down.push_back({x->id, Lru::cost_of(*x)});
    for (const Item* x = lru.coldest(); x; x = Lru::warmer(*x)) up.push_back({x->id, Lru::cost_of(*x)});
    std::reverse(up.begin(), up.end());
    REQUIRE(down == m.order);
    REQUIRE(up == m.order);
    REQUIRE(lru.size() == m.order.size());
    REQUIRE(lru.empty() == m.order.empty());
    REQUIRE(lru.total_cost() == m.total());
}

}  // namespace

TEST_CASE("lru: push, touch, erase and set_cost keep recency order and the cost sum") {
    std::vector<Item> items(4);
    for (int i = 0; i < 4; ++i) items[static_cast<std::size_t>(i)].id = i;
    Lru lru;
    Model m;
    check_same(lru, m);
    CHECK(lru.hottest() == nullptr);
    CHECK(lru.coldest() == nullptr);
    for (int i = 0; i < 4; ++i) {
        lru.push(items[static_cast<std::size_t>(i)], 10u * static_cast<u64>(i + 1));
        m.push(i, 10u * static_cast<u64>(i + 1));
        check_same(lru, m);
    }
    CHECK(lru.hottest() == &items[3]);
    CHECK(lru.coldest() == &items[0]);
    CHECK(lru.total_cost() == 100);

    lru.touch(items[0]);  // the coldest becomes the hottest
    m.touch(0);
    check_same(lru, m);
    CHECK(lru.coldest() == &items[1]);
    lru.touch(items[0]);  // already the hottest: nothing moves
    check_same(lru, m);
    lru.touch(items[2]);  // from the middle
    m.touch(2);
    check_same(lru, m);

    lru.set_cost(items[3], 5);  // cost changes, recency does not
    m.set_cost(3, 5);
    check_same(lru, m);
    lru.set_cost(items[3], 500);
    m.set_cost(3, 500);
    check_same(lru, m);

    lru.erase(items[1]);  // the coldest
    m.erase(1);
    check_same(lru, m);
    lru.erase(items[2]);  // the hottest
    m.erase(2);
    check_same(lru, m);
    lru.push(items[1], 7);  // an erased item may come back
    m.push(1, 7);
    check_same(lru, m);
    lru.erase(items[0]);
    lru.erase(items[3]);
    lru.erase(items[1]);
    m.order.clear();
    check_same(lru, m);
    CHECK(lru.hottest() == nullptr);
    CHECK(lru.coldest() == nullptr);
}

TEST_CASE("lru: shed takes the least recently used first, spares one, and stops at the bound") {
    std::vector<Item> items(5);
    Lru lru;
    for (int i = 0; i < 5; ++i) {
        items[static_cast<std::size_t>(i)].id = i;
        lru.push(items[static_cast<std::size_t>(i)], 100);  // 4 is the hottest, 0 the coldest
    }
    lru.touch(items[1]);  // recency, hottest first: 1 4 3 2 0
    std::vector<int> out;
    auto note = [&](Item& x) { out.push_back(x.id); };

    CHECK(lru.shed(500, nullptr, note) == 0);  // within the bound: nothing
    CHECK(out.empty());
    CHECK(lru.shed(301, nullptr, note) == 2);  // 500 -> 300: two go, coldest first
    CHECK(out == std::vector<int>{0, 2});
    CHECK(lru.total_cost() == 300);

    out.clear();
    CHECK(lru.shed(0, &items[3], note) == 2);  // the spared one stays, however far over
    CHECK(out == std::vector<int>{4, 1});
    CHECK(lru.size() == 1);
    CHECK(lru.hottest() == &items[3]);
    CHECK(lru.total_cost() == 100);

    out.clear();
    CHECK(lru.shed(0, nullptr, note) == 1);
    CHECK(out == std::vector<int>{3});
    CHECK(lru.empty());
    CHECK(lru.shed(0, nullptr, note) == 0);  // an empty list sheds nothing
}

TEST_CASE("lru: the callback may destroy the item it is handed") {
    std::vector<std::unique_ptr<Item>> owned;
    Lru lru;
    for (int i = 0; i < 50; ++i) {
        owned.push_back(std::make_unique<Item>());
        owned.back()->id = i;
        lru.push(*owned.back(), 1);
    }
    std::vector<int> gone;
    lru.shed(10, nullptr, [&](Item& x) {
        gone.push_back(x.id);
        owned[static_cast<std::size_t>(x.id)].reset();  // freed while shed walks on
    });
    REQUIRE(gone.size() == 40);
    for (int i = 0; i < 40; ++i) CHECK(gone[static_cast<std::size_t>(i)] == i);
    CHECK(lru.size() == 10);
    CHECK(lru.total_cost() == 10);
    CHECK(lru.coldest()->id == 40);
}

TEST_CASE("lru: clear forgets every item; the items can then join a list again") {
    std::vector<Item> items(3);
    Lru lru;
    for (int i = 0; i < 3; ++i) {
        items[static_cast<std::size_t>(i)].id = i;
        lru.push(items[static_cast<std::size_t>(i)], 9);
    }
    lru.clear();
    Model m;
    check_same(lru, m);
    lru.push(items[2], 4);
    m.push(2, 4);
    check_same(lru, m);
}

TEST_CASE("lru: random operations agree with the naive model") {
    const auto seed = test::seed();
    CAPTURE(seed);
    MESSAGE("seed " << seed);
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 40; ++round) {
        const int universe = 1 + static_cast<int>(rng() % 40);
        std::vector<Item> items(static_cast<std::size_t>(universe));
        for (int i = 0; i < universe; ++i) items[static_cast<std::size_t>(i)].id = i;
        std::vector<bool> in(static_cast<std::size_t>(universe), false);
        Lru lru;
        Model m;
        auto random_member = [&]() -> int {
            if (m.order.empty()) return -1;
            return m.order[rng() % m.order.size()].first;
        };
        // Costs from a small range (ties, zeros) and now and then a huge one (sums far from 0).
        auto random_cost = [&]() -> u64 { return rng() % 8 == 0 ? (u64{1} << 40) + rng() % 1000 : rng() % 20; };
        for (int step = 0; step < 400; ++step) {
            const int op = static_cast<int>(rng() % 6);
            if (op == 0 || m.order.empty()) {  // push an item that is in no list
                const int id = static_cast<int>(rng() % static_cast<u64>(universe));
                if (in[static_cast<std::size_t>(id)]) continue;
                const u64 c = random_cost();
                lru.push(items[static_cast<std::size_t>(id)], c);
                m.push(id, c);
                in[static_cast<std::size_t>(id)] = true;
            } else if (op == 1) {
                const int id = random_member();
                lru.erase(items[static_cast<std::size_t>(id)]);
                m.erase(id);
                in[static_cast<std::size_t>(id)] = false;
            } else if (op == 2 || op == 3) {
                const int id = random_member();
                lru.touch(items[static_cast<std::size_t>(id)]);
                m.touch(id);
            } else if (op == 4) {
                const int id = random_member();
                const u64 c = random_cost();
                lru.set_cost(items[static_cast<std::size_t>(id)], c);
                m.set_cost(id, c);
            } else {
                // A bound somewhere between nothing and the whole sum; a spared member now and then.
                const u64 total = m.total();
                const u64 bound = total == 0 ? 0 : rng() % (total + 1);
                const int spare = rng() % 3 == 0 ? random_member() : -1;
                const Item* spare_item = spare < 0 ? nullptr : &items[static_cast<std::size_t>(spare)];
                std::vector<int> got;
                const std::size_t n = lru.shed(bound, spare_item, [&](Item& x) {
                    REQUIRE(Lru::warmer(x) == nullptr);  // handed over only once it is out
                    REQUIRE(Lru::colder(x) == nullptr);
                    got.push_back(x.id);
                    in[static_cast<std::size_t>(x.id)] = false;
                });
                const auto want = m.shed(bound, spare);
                REQUIRE(got == want);
                REQUIRE(n == want.size());
                // Over the bound afterwards only if nothing but the spared item is left.
                REQUIRE((lru.total_cost() <= bound || (lru.size() == 1 && lru.hottest() == spare_item)));
            }
            check_same(lru, m);
        }
    }
}
