// cli/cmd_ingest.cpp: `barstore ingest`: parse each file, write it in one transaction.
#include <iostream>

#include "cli.hpp"

namespace barstore::cli {

namespace {

struct IngestOptions {
    std::string db;
    std::vector<std::string> files;
    std::string symbol, timeframe, format = "auto", tz = "UTC", stamp = "start", session;
    bool replace = false;
};

void run_ingest(const IngestOptions& o) {
    ParseOptions parse;
    parse.symbol = o.symbol;
    if (!o.timeframe.empty()) parse.timeframe = parse_timeframe(o.timeframe);
    parse.tz = o.tz;
    parse.stamp = o.stamp == "end" ? Stamp::end : Stamp::start;
    const FileFormat format = o.format == "csv" ? FileFormat::csv : o.format == "dbn" ? FileFormat::dbn : FileFormat::auto_detect;

    std::optional<Session> session;
    if (!o.session.empty()) session = parse_session(o.session);
    auto store = Store::open(o.db);
    // Files are committed one by one: a bad file stops the run, earlier files stay.
    for (const auto& file : o.files) {
        Progress progress(file);
        parse.progress = [&](std::uint64_t done, std::uint64_t total) { progress.update(done, total); };
        auto batches = parse_file(file, format, parse);
        for (auto& b : batches) b.session = session;
        try {
            store.write(batches, o.replace ? WriteMode::replace : WriteMode::append);
        } catch (const InvalidInput& e) {
            throw InvalidInput(file + ": error: " + e.what());
        }
        progress.finish();
        std::size_t bars = 0;
        for (const auto& b : batches) bars += b.bars.size();
        std::cout << file << ": " << bars << " bars";
        for (const auto& b : batches)
            std::cout << (&b == &batches.front() ? " -> " : ", ") << b.key.symbol << " " << format_timeframe(b.key.base);
        std::cout << std::endl;  // flushed before any note on stderr, so a terminal shows them in order
        for (const auto& b : batches)
            if (b.rounded_values > 0)
                std::cerr << file << ": note: " << b.rounded_values << " values of " << b.key.symbol
                          << " had more than 15 significant digits (float noise) and were rounded to 15\n";
    }
}

}  // namespace

void setup_ingest(CLI::App& app) {
    auto o = std::make_shared<IngestOptions>();
    auto* sub = app.add_subcommand("ingest", "Load OHLCV bars from CSV or Databento DBN files (one transaction per file)");
    sub->add_option("--db", o->db, "Store directory (created if missing)")->required();
    sub->add_option("--symbol", o->symbol, "Symbol (CSV default: the file name's stem)");
    sub->add_option("--timeframe", o->timeframe, "Base timeframe, e.g. 1m (CSV default: smallest step)");
    sub->add_option("--format", o->format, "auto, csv or dbn")->check(CLI::IsMember({"auto", "csv", "dbn"}));
    sub->add_option("--tz", o->tz, "IANA zone of naive CSV timestamps");
    sub->add_option("--stamp", o->stamp, "Whether a CSV stamp is the bar's start or end")
        ->check(CLI::IsMember({"start", "end"}));
    sub->add_option("--session", o->session,
                    "24x7, us-equity, us-equity-extended, cme-globex, or \"ZONE HH:MM-HH:MM [Mon-Fri]\"");
    sub->add_flag("--replace", o->replace, "Replace stored bars in the files' time ranges");
    sub->add_option("FILE", o->files, "Files to ingest")->required();
    sub->callback([o] { run_ingest(*o); });
}

}  // namespace barstore::cli
