// cli/cmd_catalog.cpp: `barstore ls`, `info` and `verify`: what is in a store and whether it is sound.
#include <cstdio>
#include <iostream>

#include "cli.hpp"

namespace barstore::cli {

namespace {

std::string span_of(const SeriesInfo& s) {
    return s.rows == 0 ? "-" : format_time(s.first) + " .. " + format_time(s.last);
}

}  // namespace

void setup_ls(CLI::App& app) {
    auto db = std::make_shared<std::string>();
    auto* sub = app.add_subcommand("ls", "List the series in a store");
    sub->add_option("--db", *db, "Store directory")->required();
    sub->callback([db] {
        auto store = Store::open(*db, StoreOptions{.read_only = true});
        for (const auto& s : store.list())
            std::printf("%s\t%s\t%llu bars\t%s\t%s\n", s.key.symbol.c_str(), format_timeframe(s.key.base).c_str(),
                        static_cast<unsigned long long>(s.rows), span_of(s).c_str(), format_session(s.session).c_str());
    });
}

void setup_info(CLI::App& app) {
    auto db = std::make_shared<std::string>();
    auto symbol = std::make_shared<std::string>();
    auto* sub = app.add_subcommand("info", "Rows, span, chunks and size of a symbol's series");
    sub->add_option("--db", *db, "Store directory")->required();
    sub->add_option("SYMBOL", *symbol, "Symbol")->required();
    sub->callback([db, symbol] {
        auto store = Store::open(*db, StoreOptions{.read_only = true});
        const auto all = store.find(*symbol);
        if (all.empty()) throw NotFound("no series '" + *symbol + "' in " + *db + " (barstore ls lists them)");
        for (const auto& found : all) {
            const auto s = *store.info(found.key);
            const double per_bar = s.rows ? static_cast<double>(s.disk_bytes) / static_cast<double>(s.rows) : 0.0;
            std::printf("symbol:       %s\n", s.key.symbol.c_str());
            std::printf("timeframe:    %s\n", format_timeframe(s.key.base).c_str());
            std::printf("session:      %s\n", format_session(s.session).c_str());
            std::printf("rows:         %llu\n", static_cast<unsigned long long>(s.rows));
            std::printf("span:         %s\n", span_of(s).c_str());
            std::printf("decimals:     price %d, volume %d\n", s.scale.price_decimals, s.scale.volume_decimals);
            std::printf("chunks:       %llu\n", static_cast<unsigned long long>(s.chunks));
            std::printf("chunk bytes:  %llu\n", static_cast<unsigned long long>(s.stored_bytes));
            std::printf("disk bytes:   %llu\n", static_cast<unsigned long long>(s.disk_bytes));
            std::printf("bytes/bar:    %.2f\n", per_bar);
            std::printf("generation:   %llu\n", static_cast<unsigned long long>(s.generation));
            if (&found != &all.back()) std::printf("\n");
        }
    });
}

void setup_session(CLI::App& app) {
    struct Args {
        std::string db, symbol, session, timeframe;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("session", "Set a series' trading session (invalidates derived data)");
    sub->add_option("--db", a->db, "Store directory")->required();
    sub->add_option("SYMBOL", a->symbol, "Symbol")->required();
    sub->add_option("SESSION", a->session,
                    "24x7, us-equity, us-equity-extended, cme-globex, or \"ZONE HH:MM-HH:MM [Mon-Fri]\"")
        ->required();
    sub->add_option("--timeframe", a->timeframe, "The series' base, when the symbol has several");
    sub->callback([a] {
        const auto session = parse_session(a->session);
        auto store = Store::open(a->db);
        std::vector<SeriesInfo> targets = store.find(a->symbol);
        if (targets.empty()) throw NotFound("no series '" + a->symbol + "' in " + a->db + " (barstore ls lists them)");
        if (!a->timeframe.empty()) {
            const auto base = parse_timeframe(a->timeframe);
            std::erase_if(targets, [&](const SeriesInfo& s) { return s.key.base != base; });
            if (targets.empty()) throw NotFound("no series '" + a->symbol + "' at " + format_timeframe(base));
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
    });
}

void setup_verify(CLI::App& app) {
    auto db = std::make_shared<std::string>();
    auto* sub = app.add_subcommand("verify", "Check every chunk's checksum and the bar invariants");
    sub->add_option("--db", *db, "Store directory")->required();
    sub->callback([db] {
        auto store = Store::open(*db, StoreOptions{.read_only = true});
        const auto problems = store.verify();
        for (const auto& p : problems) {
            std::printf("bad chunk: %s %s %s .. %s: %s\n", p.key.symbol.c_str(), format_timeframe(p.key.base).c_str(),
                        format_time(p.first).c_str(), format_time(p.last).c_str(), p.reason.c_str());
            // None of its bars can be read, but its range is known from the keys: removing or
            // replacing all of it never decodes it.
            if (p.undecodable)
                std::printf("  to cut it out: barstore rm --db %s %s --timeframe %s --from %s --to %s (or ingest its bars "
                            "again with --replace)\n",
                            db->c_str(), p.key.symbol.c_str(), format_timeframe(p.key.base).c_str(),
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
    });
}

}  // namespace barstore::cli
