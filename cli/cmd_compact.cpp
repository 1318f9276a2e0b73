// cli/cmd_compact.cpp: `barstore compact`: LMDB's compacting copy of a store into a new store
// directory (Store::compact_to), with the data file's size before and after. The store is opened
// read-only, so writers go on meanwhile; the copy is one commit, whole.
#include <cstdio>

#include "cli.hpp"

namespace barstore::cli {

namespace {

struct CompactArgs {
    std::string db, out;
};

void run_compact(const CompactArgs& a) {
    const auto store = Store::open(a.db, StoreOptions{.read_only = true});
    const CopyInfo c = store.compact_to(a.out);
    std::printf("compacted %s -> %s: %s -> %s (%s)\n", a.db.c_str(), a.out.c_str(), format_bytes(c.source_bytes).c_str(),
                format_bytes(c.copy_bytes).c_str(), format_ratio(c.copy_bytes, c.source_bytes).c_str());
}

}  // namespace

void setup_compact(CLI::App& app) {
    auto a = std::make_shared<CompactArgs>();
    auto* sub = app.add_subcommand("compact", "Copy a store into a new, compacted store directory");
    add_db(sub, a->db, "Store directory (or snapshot file) to copy");
    sub->add_option("--out", a->out, "New store directory: must not exist, or be empty")->required();
    examples(sub, {"barstore compact --db store --out store-compacted"});
    sub->callback([a] { run_compact(*a); });
}

}  // namespace barstore::cli
