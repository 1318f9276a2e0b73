// cli/cmd_ingest.cpp: `barstore ingest`: each file through load_file (one transaction per file),
// then a line per file and the notes. Which series a file joins is the library's rule.
#include <iostream>
#include <set>
#include <string>
#include <utility>

#include "cli.hpp"

namespace barstore::cli {

namespace {

struct IngestOptions {
    std::string db;
    std::vector<std::string> files, columns;
    std::string symbol, timeframe, format = "auto", tz = "UTC", stamp = "start", session;
    bool symbol_given = false;
    bool replace = false;
};

void run_ingest(const IngestOptions& o) {
    // An empty --symbol (an unset shell variable, say) must not quietly become the file name.
    if (o.symbol_given && o.symbol.empty())
        throw InvalidInput("--symbol is empty; give a symbol, or leave --symbol out to use each CSV file's name");
    LoadOptions load;
    load.parse.symbol = o.symbol;
    if (!o.timeframe.empty()) load.parse.timeframe = parse_timeframe(o.timeframe);
    load.parse.tz = o.tz;
    load.parse.columns = o.columns;
    load.parse.stamp = o.stamp == "end" ? Stamp::end : Stamp::start;
    load.format = o.format == "csv" ? FileFormat::csv : o.format == "dbn" ? FileFormat::dbn : FileFormat::auto_detect;
    if (!o.session.empty()) load.session = parse_session(o.session);
    load.mode = o.replace ? WriteMode::replace : WriteMode::append;

    auto store = Store::open(o.db);
    // Files are committed one by one: a bad file stops the run, earlier files stay. A run of
    // several files ends with what it did: on success a line on stdout, on failure, after the
    // error, which files are in the store and which were never read.
    const bool several = o.files.size() > 1;
    std::size_t committed = 0;
    std::uint64_t total_bars = 0;
    std::set<std::pair<std::string, std::int64_t>> touched;
    const auto totals = [&] {
        return std::to_string(total_bars) + " bars, " + std::to_string(touched.size()) + " series";
    };
    for (const auto& file : o.files) {
        const std::string name = input_name(file);
        Progress progress(name);
        load.parse.progress = [&](std::uint64_t done, std::uint64_t total) { progress.update(done, total); };
        std::vector<LoadedSeries> loaded;
        try {
            loaded = load_file(store, file, load);
        } catch (const Error& e) {
            if (!several) throw;
            progress.finish();
            std::cerr << e.what() << '\n';
            std::string rest;
            for (std::size_t i = committed + 1; i < o.files.size(); ++i)
                rest += (rest.empty() ? "" : ", ") + input_name(o.files[i]);
            std::cerr << "ingest stopped at " << name << ": " << committed << " of " << o.files.size()
                      << " files committed (" << totals() << ")"
                      << (rest.empty() ? std::string() : "; not attempted: " + rest) << '\n';
            throw ExitWith{e.code() == Errc::invalid_input || e.code() == Errc::not_found ? kBadInput : kStoreError};
        }
        progress.finish();
        ++committed;
        std::uint64_t bars = 0;
        for (const auto& s : loaded) {
            bars += s.bars;
            touched.emplace(s.key.symbol, s.key.base.count());
        }
        total_bars += bars;
        std::cout << name << ": " << bars << " bars";
        for (const auto& s : loaded)
            std::cout << (&s == &loaded.front() ? " -> " : ", ") << s.key.symbol << " " << format_timeframe(s.key.base);
        std::cout << std::endl;  // flushed before any note on stderr, so a terminal shows them in order
        for (const auto& s : loaded)
            if (s.rounded_values > 0)
                std::cerr << name << ": note: " << s.rounded_values << " values of " << s.key.symbol
                          << " had more than 15 significant digits and a fraction (float noise): each was rounded "
                             "half to even to 15 significant digits, or to a whole number where its integer part "
                             "is longer\n";
        for (const auto& s : loaded)
            for (const auto& note : s.notes) std::cerr << name << ": note: " << note << "\n";
    }
    if (several) std::cout << committed << " files committed: " << totals() << std::endl;
}

}  // namespace

void setup_ingest(CLI::App& app) {
    auto o = std::make_shared<IngestOptions>();
    auto* sub = app.add_subcommand("ingest", "Load OHLCV bars from CSV or Databento DBN files (one transaction per file)");
    add_db(sub, o->db, "Store directory (created if missing)");
    auto* symbol = sub->add_option("--symbol", o->symbol,
                                   "Symbol (CSV default: its symbol column, one series per symbol, else the file "
                                   "name's stem); with a symbol column, keeps only this symbol's rows");
    sub->add_option("--timeframe", o->timeframe,
                    "Base timeframe, e.g. 1m (CSV default: the symbol's stored base, else the smallest step)");
    sub->add_option("--format", o->format, "auto, csv or dbn")->check(CLI::IsMember({"auto", "csv", "dbn"}));
    sub->add_option("--columns", o->columns,
                    "CSV fields' roles by position, instead of the header: ts, date, time, open, high, low, "
                    "close, volume, symbol, skip (a first line that is not data is skipped)")
        ->delimiter(',');
    sub->add_option("--tz", o->tz, "IANA zone of naive CSV timestamps");
    sub->add_option("--stamp", o->stamp, "Whether a CSV stamp is the bar's start or end")
        ->check(CLI::IsMember({"start", "end"}));
    sub->add_option("--session", o->session,
                    "24x7, us-equity, us-equity-extended, cme-globex, or \"ZONE HH:MM-HH:MM [Mon-Fri]\"");
    sub->add_flag("--replace", o->replace, "Replace stored bars in the files' time ranges");
    sub->add_option("FILE", o->files, "Files to ingest: CSV (plain, gzip or zstd) or DBN; - reads standard input")
        ->required();
    examples(sub, {"barstore ingest --db store --symbol SPY --stamp end --session us-equity-extended data/csv/nt-spy-minute-2011.csv",
                   "barstore ingest --db store --symbol BTC data/csv/btc-perp-20211231-20220201_1m.csv"});
    sub->callback([o, symbol] {
        o->symbol_given = symbol->count() > 0;
        run_ingest(*o);
    });
}

}  // namespace barstore::cli
