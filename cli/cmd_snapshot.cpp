// cli/cmd_snapshot.cpp: `barstore snapshot`: a consistent, compacted, read-only single-file copy
// of a store (Store::snapshot_to) that every read command opens with --db FILE, on any machine
// (docs/deploy.md). Taken read-only, so writers go on meanwhile.
#include <cstdio>

#include "cli.hpp"

namespace barstore::cli {

namespace {

struct SnapshotArgs {
    std::string db, out;
};

void run_snapshot(const SnapshotArgs& a) {
    const auto store = Store::open(a.db, StoreOptions{.read_only = true});
    const CopyInfo c = store.snapshot_to(a.out);
    std::printf("snapshot of %s -> %s: %s -> %s (%s)\n", a.db.c_str(), a.out.c_str(),
                format_bytes(c.source_bytes).c_str(), format_bytes(c.copy_bytes).c_str(),
                format_ratio(c.copy_bytes, c.source_bytes).c_str());
}

}  // namespace

void setup_snapshot(CLI::App& app) {
    auto a = std::make_shared<SnapshotArgs>();
    auto* sub = app.add_subcommand("snapshot", "Write a read-only single-file snapshot of a store");
    add_db(sub, a->db, "Store directory (or snapshot file) to copy");
    sub->add_option("--out", a->out, "Snapshot file to write: must not exist")->required();
    examples(sub, {"barstore snapshot --db store --out store.snapshot"});
    sub->callback([a] { run_snapshot(*a); });
}

}  // namespace barstore::cli
