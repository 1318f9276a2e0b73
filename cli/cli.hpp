// cli/cli.hpp: what the subcommands share: registration, exit codes, output helpers.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "barstore/barstore.hpp"

namespace barstore::cli {

enum Exit { kOk = 0, kStoreError = 1, kBadInput = 2 };

void setup_ingest(CLI::App& app);
void setup_query(CLI::App& app);
void setup_ls(CLI::App& app);
void setup_info(CLI::App& app);
void setup_verify(CLI::App& app);
void setup_session(CLI::App& app);
void setup_replay(CLI::App& app);
void setup_stats(CLI::App& app);
void setup_rm(CLI::App& app);
void setup_compact(CLI::App& app);
void setup_snapshot(CLI::App& app);
void setup_prewarm(CLI::App& app);
void setup_chart(CLI::App& app);

/// `barstore` with no command, an unknown one, or an unknown top-level option: says which on
/// stderr, then lists the commands; returns kBadInput.
int usage_error(const CLI::App& app, int argc, const char* const* argv);

/// "Examples:" and the given command lines, as the end of a subcommand's --help. Each must be a
/// real command that works on a store built from the shared data (tests/cli/check_docs.py runs them).
void examples(CLI::App* sub, std::initializer_list<const char*> lines);

/// The required `--db` of every subcommand, defaulting to $BARSTORE_DB (an explicit --db wins;
/// an empty variable counts as unset). CLI11 names the variable in --help.
CLI::Option* add_db(CLI::App* sub, std::string& db, const std::string& description);

/// Which bins of which series a read command shows, as `query` and `chart` take them (their
/// options are one set: docs/cli.md, "query").
struct BarSelection {
    std::string db, symbol, timeframe, from, to, as_of, align;
    std::optional<std::string> last;  // parse_count: CLI11 would wrap "-1" into a size_t
};
/// Adds --db, SYMBOL, --timeframe, --from, --to, --last, --as-of and --align, read into `sel`.
void add_selection(CLI::App* sub, BarSelection& sel);
/// The QueryOptions `sel` names; throws InvalidInput for a bad time, timeframe or count.
QueryOptions query_options(const BarSelection& sel);

/// Thrown by a subcommand to end with a given exit code after printing its own output.
struct ExitWith {
    int code;
};

/// Every series of SYMBOL, finest base first (Store::find). None is NotFound, naming the store
/// and `barstore ls`: the one wording of that miss for every subcommand.
std::vector<SeriesInfo> find_series(const Store& store, const std::string& symbol);

/// The one series a user means by SYMBOL: the only one, or the coarsest base that divides
/// `timeframe` (cheapest to aggregate, exact), or the finest. Throws NotFound / InvalidInput.
SeriesInfo resolve_series(const Store& store, const std::string& symbol, std::optional<Duration> timeframe);

/// A count given on the command line (`query --last`, `replay --bars`): decimal digits only. A
/// negative or malformed count is InvalidInput naming the option; one past SIZE_MAX is clamped
/// to it (more bars than any series holds), never wrapped. CLI11 would wrap "-1" into a size_t.
std::size_t parse_count(const std::string& text, const char* option);

/// A progress bar on stderr: drawn only on a terminal and only once the work has taken more
/// than a second, so piped runs and quick files print nothing extra.
class Progress {
public:
    explicit Progress(std::string label);
    ~Progress();
    void update(std::uint64_t done, std::uint64_t total);
    void finish();

private:
    std::string label_;
    bool tty_;
    bool drawn_ = false;
    std::int64_t start_ns_;
    std::int64_t last_draw_ns_ = 0;
};

/// The items of a comma-separated option (`--symbols A,B`), spaces dropped, empty items skipped;
/// none at all is InvalidInput naming `--what`.
std::vector<std::string> split_list(const std::string& text, const char* what);

std::string format_bytes(std::uint64_t bytes);

/// `part` as a whole percentage of `whole` ("63%"), "-" when whole is 0.
std::string format_ratio(std::uint64_t part, std::uint64_t whole);

/// "1h utc", "1d session": a prewarmed aggregate as prewarm, ls and info print it.
std::string format_aggregate(const AggregateSpec& spec);

/// "first .. last" of a series' bars (format_time), or "-" when it has none.
std::string format_span(const SeriesInfo& s);

/// `text` as a JSON string literal: quotes, backslashes and control bytes escaped (symbols and
/// paths may hold any of them).
std::string json_string(const std::string& text);

/// One series as a single-line JSON object, what `ls --json` and `info --json` print (docs/cli.md):
/// symbol, base, rows, first/last (null when empty), decimals, session, chunks, stored_bytes,
/// disk_bytes when `s` came from Store::info (measured there only), generation and its prewarmed
/// aggregates. A damaged prewarm record is `"prewarmed": null` plus `"prewarmed_error"`.
std::string series_json(const Store& store, const SeriesInfo& s, bool with_disk_bytes);

}  // namespace barstore::cli
