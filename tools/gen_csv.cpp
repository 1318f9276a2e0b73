// tools/gen_csv.cpp: writes the benchmarks' synthetic 24x7 1-minute bars (gen_bars.cpp) as a CSV,
// for benchmarks outside C++ (tools/bench_python.py, tools/scaling) to read the same bytes the C++
// ones do. With --symbols N: one long-format file of N series, each from its own seed.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "gen_bars.hpp"

int main(int argc, char** argv) {
    using namespace barstore::tools;
    CLI::App app{"gen_csv: synthetic 24x7 1-minute bars from 2015-01-01 as ts,open,high,low,close,volume"};
    double years = 1, days = 0;
    std::uint64_t seed = kDefaultSeed;
    std::size_t symbols = 0;
    std::string out, ts = "text";
    auto* years_opt = app.add_option("--years", years, "How many years (365.25 days each), per symbol")->capture_default_str();
    app.add_option("--days", days, "How many days per symbol, instead of --years")->excludes(years_opt);
    app.add_option("--seed", seed, "Generator seed; symbol i (from 0) uses seed + i")->capture_default_str();
    app.add_option("--symbols", symbols,
                   "Long format: ts,symbol,open,high,low,close,volume with N symbols (S0001, S0002, ...), "
                   "rows sorted by ts, then symbol")->check(CLI::Range(1, 1'000'000));
    app.add_option("--ts", ts, "Time column: text (2015-01-01 00:00:00, UTC) or epoch (seconds)")
        ->check(CLI::IsMember({"text", "epoch"}))->capture_default_str();
    app.add_option("--out", out, "CSV file to write")->required();
    CLI11_PARSE(app, argc, argv);
    if (days > 0) years = days / 365.25;
    const auto ts_format = ts == "epoch" ? TsFormat::epoch_s : TsFormat::text;
    try {
        if (symbols == 0) {
            const auto bars = gen_24x7(years, seed);
            const auto size_bytes = write_csv(out, bars, ts_format);
            std::cout << out << ": " << bars.size() << " bars, " << size_bytes << " bytes\n";
            return 0;
        }
        // Zero-padded names, so that sorting by name is sorting by number.
        const int width = static_cast<int>(std::to_string(symbols).size());
        std::vector<std::vector<RawBar>> series(symbols);
        std::vector<std::string> names(symbols);
        std::size_t bars = 0;
        for (std::size_t i = 0; i < symbols; ++i) {
            series[i] = gen_24x7(years, seed + i);
            char name[32];
            std::snprintf(name, sizeof name, "S%0*zu", width, i + 1);
            names[i] = name;
            bars += series[i].size();
        }
        const auto size_bytes = write_long_csv(out, series, names, ts_format);
        std::cout << out << ": " << symbols << " symbols, " << bars << " bars, " << size_bytes << " bytes\n";
    } catch (const std::exception& e) {
        std::cerr << "gen_csv: " << e.what() << "\n";
        return 1;
    }
}
