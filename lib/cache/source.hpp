// cache/source.hpp: the store as raw windows and aggregates read it: through one Source per
// Reader, which counts every read (ReaderStats::store_reads) and notes it for the Reader's
// end-of-call version check, and carries the Reader's read limits.
#pragma once
#include "barstore/reader.hpp"
#include "barstore/store.hpp"

namespace barstore::cache {

struct Source {
    const Store* store = nullptr;
    /// The Reader's options; history_bars and lookahead_bars already clamped (reader.cpp).
    const ReaderOptions* opts = nullptr;
    /// The Reader's counters: store_reads here, spill_hits where an aggregate makes its window.
    ReaderStats* st = nullptr;
    /// A read was made in this call: what it read may predate a write that landed meanwhile.
    bool read_in_call = false;

    /// Called before each Store::read_last or Store::scan (catalog lookups are not counted).
    void note_read() noexcept {
        ++st->store_reads;
        read_in_call = true;
    }
};

}  // namespace barstore::cache
