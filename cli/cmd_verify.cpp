// cli/cmd_verify.cpp: `barstore verify`: every chunk's checksum and the bar invariants (Store::verify).
// A bad chunk is printed with the `rm` that cuts it out and exits 1; a sound store prints one line.
#include <cstdio>

#include "cli.hpp"

namespace barstore::cli {

namespace {

struct VerifyArgs {
    std::string db;
    bool deep = false;
};

void run_verify(const VerifyArgs& a) {
    auto store = Store::open(a.db, StoreOptions{.read_only = true});
    const auto problems = store.verify({.deep = a.deep});
    for (const auto& p : problems) {
        if (p.aggregate) {
            // Derived data: readers aggregate the base bars instead, and a rebuild repairs it.
            std::printf("bad prewarmed aggregate: %s %s %s %s %s .. %s: %s\n", p.key.symbol.c_str(),
                        format_timeframe(p.key.base).c_str(), format_timeframe(p.aggregate->timeframe).c_str(),
                        p.aggregate->align == Alignment::utc ? "utc" : "session", format_time(p.first).c_str(),
                        format_time(p.last).c_str(), p.reason.c_str());
            // A prewarm finds its record current and would skip it: it has to be dropped first.
            std::printf("  to rebuild it: barstore prewarm --db %s --symbols %s --drop --timeframes %s --align %s, then "
                        "prewarm it again\n",
                        a.db.c_str(), p.key.symbol.c_str(), format_timeframe(p.aggregate->timeframe).c_str(),
                        p.aggregate->align == Alignment::utc ? "utc" : "session");
            continue;
        }
        std::printf("bad chunk: %s %s %s .. %s: %s\n", p.key.symbol.c_str(), format_timeframe(p.key.base).c_str(),
                    format_time(p.first).c_str(), format_time(p.last).c_str(), p.reason.c_str());
        // None of its bars can be read, but its range is known from the keys: removing or
        // replacing all of it never decodes it.
        if (p.undecodable)
            std::printf("  to cut it out: barstore rm --db %s %s --timeframe %s --from %s --to %s (or ingest its bars "
                        "again with --replace)\n",
                        a.db.c_str(), p.key.symbol.c_str(), format_timeframe(p.key.base).c_str(),
                        format_time(p.first).c_str(), format_time(p.last + p.key.base).c_str());
    }
    if (!problems.empty()) {
        std::fflush(stdout);
        throw ExitWith{kStoreError};
    }
    const auto series = store.list();
    std::uint64_t chunks = 0;
    for (const auto& s : series) chunks += s.chunks;
    std::printf("ok: %zu series, %llu chunks verified\n", series.size(), static_cast<unsigned long long>(chunks));
}

}  // namespace

void setup_verify(CLI::App& app) {
    auto a = std::make_shared<VerifyArgs>();
    auto* sub = app.add_subcommand("verify", "Check every chunk's checksum and the bar invariants");
    add_db(sub, a->db, "Store directory");
    sub->add_flag("--deep", a->deep, "Also recompute every prewarmed aggregate from its base bars and compare");
    examples(sub, {"barstore verify --db store --deep"});
    sub->callback([a] { run_verify(*a); });
}

}  // namespace barstore::cli
