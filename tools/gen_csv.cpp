// tools/gen_csv.cpp: writes the benchmarks' synthetic 24x7 1-minute bars (gen_bars.cpp) as a CSV,
// for benchmarks outside C++ (tools/bench_python.py) to read the same bytes the C++ ones do.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <exception>
#include <iostream>
#include <string>

#include "gen_bars.hpp"

int main(int argc, char** argv) {
    using namespace barstore::tools;
    CLI::App app{"gen_csv: synthetic 24x7 1-minute bars from 2015-01-01 as ts,open,high,low,close,volume"};
    double years = 1;
    std::uint64_t seed = kDefaultSeed;
    std::string out, ts = "text";
    app.add_option("--years", years, "How many years (365.25 days each)")->capture_default_str();
    app.add_option("--seed", seed, "Generator seed")->capture_default_str();
    app.add_option("--ts", ts, "Time column: text (2015-01-01 00:00:00, UTC) or epoch (seconds)")
        ->check(CLI::IsMember({"text", "epoch"}))->capture_default_str();
    app.add_option("--out", out, "CSV file to write")->required();
    CLI11_PARSE(app, argc, argv);
    try {
        const auto bars = gen_24x7(years, seed);
        const auto size_bytes = write_csv(out, bars, ts == "epoch" ? TsFormat::epoch_s : TsFormat::text);
        std::cout << out << ": " << bars.size() << " bars, " << size_bytes << " bytes\n";
    } catch (const std::exception& e) {
        std::cerr << "gen_csv: " << e.what() << "\n";
        return 1;
    }
}
