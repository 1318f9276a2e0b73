// cli/cmd_ls.cpp: `barstore ls`: one line per series in a store (symbol, base, bars, span,
// session), read-only, in the catalog's order.
#include <cstdio>

#include "cli.hpp"

namespace barstore::cli {

namespace {

struct LsArgs {
    std::string db;
};

void run_ls(const LsArgs& a) {
    auto store = Store::open(a.db, StoreOptions{.read_only = true});
    for (const auto& s : store.list())
        std::printf("%s\t%s\t%llu bars\t%s\t%s\n", s.key.symbol.c_str(), format_timeframe(s.key.base).c_str(),
                    static_cast<unsigned long long>(s.rows), format_span(s).c_str(), format_session(s.session).c_str());
}

}  // namespace

void setup_ls(CLI::App& app) {
    auto a = std::make_shared<LsArgs>();
    auto* sub = app.add_subcommand("ls", "List the series in a store");
    sub->add_option("--db", a->db, "Store directory")->required();
    sub->callback([a] { run_ls(*a); });
}

}  // namespace barstore::cli
