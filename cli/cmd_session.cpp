// cli/cmd_session.cpp: `barstore session`: sets the trading session of a symbol's series (or of
// one base, with --timeframe). Every target is checked before any changes: all or none.
#include <cstdio>
#include <vector>

#include "cli.hpp"

namespace barstore::cli {

namespace {

struct SessionArgs {
    std::string db, symbol, session, timeframe;
};

void run_session(const SessionArgs& a) {
    const auto session = parse_session(a.session);
    auto store = Store::open(a.db);
    std::vector<SeriesInfo> targets = find_series(store, a.symbol);
    if (!a.timeframe.empty()) {
        const auto base = parse_timeframe(a.timeframe);
        std::erase_if(targets, [&](const SeriesInfo& s) { return s.key.base != base; });
        if (targets.empty()) throw NotFound("no series '" + a.symbol + "' at " + format_timeframe(base));
    }
    // Every target is checked before any is changed: all of them get the session or none.
    for (const auto& t : targets)
        if (const auto why = session_base_problem(session, t.key.base))
            throw InvalidInput(t.key.symbol + " " + format_timeframe(t.key.base) + ": " + *why);
    for (const auto& t : targets) {
        store.set_session(t.key, session);
        std::printf("%s %s: session %s\n", t.key.symbol.c_str(), format_timeframe(t.key.base).c_str(),
                    format_session(session).c_str());
    }
}

}  // namespace

void setup_session(CLI::App& app) {
    auto a = std::make_shared<SessionArgs>();
    auto* sub = app.add_subcommand("session", "Set a series' trading session (invalidates derived data)");
    add_db(sub, a->db, "Store directory");
    sub->add_option("SYMBOL", a->symbol, "Symbol")->required();
    sub->add_option("SESSION", a->session,
                    "24x7, us-equity, us-equity-extended, cme-globex, or \"ZONE HH:MM-HH:MM [Mon-Fri]\"")
        ->required();
    sub->add_option("--timeframe", a->timeframe, "The series' base, when the symbol has several");
    examples(sub, {"barstore session --db store SPY \"America/New_York 09:30-16:00 Mon-Fri\"",
                   "barstore session --db store SPY us-equity-extended"});
    sub->callback([a] { run_session(*a); });
}

}  // namespace barstore::cli
