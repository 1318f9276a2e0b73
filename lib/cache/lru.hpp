// cache/lru.hpp: a least-recently-used list whose items carry a cost (bytes held), with the sum
// kept, for caches bounded by cost rather than by count: the Reader's two tiers and the spill's
// copies. Intrusive: the links live in the item, so a touch is a few pointer writes (no
// allocation, no lookup, no hashing) and the list owns nothing; the caller owns the items.
// Tested on its own against a naive model: tests/test_lru.cpp.
#pragma once
#include <cstddef>
#include <cstdint>

namespace barstore::cache {

/// The links and cost an item of a CostLru carries: a member of the item, named to the list by a
/// pointer to member. An item is in at most one list per hook.
template <class T>
struct LruHook {
    T* newer = nullptr;       ///< towards the most recently used; null for the hottest
    T* older = nullptr;       ///< towards the least recently used; null for the coldest
    std::uint64_t cost = 0;   ///< as last given to the list (push, set_cost)
};

/// Items of type T, most recently used first, linked through the member `Hook`. Every operation
/// is O(1) except shed(), which is O(items it passes). Not thread-safe (neither is its user).
///
/// Contracts (checked by nobody, as with an intrusive list everywhere: breaking one corrupts the
/// list): push() only an item that is in no list; erase(), touch(), set_cost() only an item that
/// is in this one. The items must outlive their membership; clear() forgets them all without
/// touching them, for when they are destroyed together.
template <class T, LruHook<T> T::*Hook>
class CostLru {
public:
    using Cost = std::uint64_t;

    CostLru() = default;
    CostLru(const CostLru&) = delete;
    CostLru& operator=(const CostLru&) = delete;

    /// Makes x the most recently used, at `cost`.
    void push(T& x, Cost cost) noexcept {
        LruHook<T>& h = x.*Hook;
        h.newer = nullptr;
        h.older = hottest_;
        h.cost = cost;
        if (hottest_) (hottest_->*Hook).newer = &x;
        hottest_ = &x;
        if (!coldest_) coldest_ = &x;
        total_ += cost;
        ++size_;
    }

    /// Takes x out; its cost leaves the total.
    void erase(T& x) noexcept {
        LruHook<T>& h = x.*Hook;
        (h.newer ? (h.newer->*Hook).older : hottest_) = h.older;
        (h.older ? (h.older->*Hook).newer : coldest_) = h.newer;
        h.newer = h.older = nullptr;
        total_ -= h.cost;
        --size_;
    }

    /// Makes x the most recently used (on every hit: a few pointer writes).
    void touch(T& x) noexcept {
        if (hottest_ == &x) return;
        const Cost cost = (x.*Hook).cost;
        erase(x);
        push(x, cost);
    }

    /// x now costs `cost`; its recency is unchanged.
    void set_cost(T& x, Cost cost) noexcept {
        Cost& c = (x.*Hook).cost;
        total_ = total_ - c + cost;
        c = cost;
    }

    static Cost cost_of(const T& x) noexcept { return (x.*Hook).cost; }

    T* hottest() const noexcept { return hottest_; }
    T* coldest() const noexcept { return coldest_; }
    /// The item used just after x (towards the hottest); null if x is the hottest.
    static T* warmer(const T& x) noexcept { return (x.*Hook).newer; }
    /// The item used just before x (towards the coldest); null if x is the coldest.
    static T* colder(const T& x) noexcept { return (x.*Hook).older; }

    Cost total_cost() const noexcept { return total_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }

    /// Forgets every item without touching it (their hooks go stale): for when the items are
    /// destroyed along with the list's contents.
    void clear() noexcept {
        hottest_ = coldest_ = nullptr;
        total_ = 0;
        size_ = 0;
    }

    /// The cost bound: takes out the least recently used items, coldest first, passing over
    /// `spare` (may be null), until total_cost() <= max_cost or nothing but `spare` is left, and
    /// calls evicted(T&) with each once it is out (it may destroy the item). Returns how many.
    /// The bound is a parameter, not a member, because a caller may bound several lists by one
    /// budget (the Reader: aggregates are shed to what raw windows leave of it, then the reverse).
    template <class Evicted>
    std::size_t shed(Cost max_cost, const T* spare, Evicted&& evicted) {
        std::size_t n = 0;
        for (T* x = coldest_; x && total_ > max_cost;) {
            T* next = warmer(*x);  // read before x is taken out (and perhaps destroyed)
            if (x != spare) {
                erase(*x);
                evicted(*x);
                ++n;
            }
            x = next;
        }
        return n;
    }

private:
    T* hottest_ = nullptr;
    T* coldest_ = nullptr;
    Cost total_ = 0;
    std::size_t size_ = 0;
};

}  // namespace barstore::cache
