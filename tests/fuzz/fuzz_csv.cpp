// tests/fuzz/fuzz_csv.cpp: libFuzzer target for barstore::parse_csv. The input is the file;
// its length picks the options (zone, stamp, forced timeframe) so plain CSV files are seeds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    barstore::ParseOptions opts;
    switch (size % 5) {
        case 1: opts.tz = "America/New_York"; break;  // DST gaps and folds in naive times
        case 2: opts.stamp = barstore::Stamp::end; break;
        case 3: opts.timeframe = std::chrono::minutes(1); break;
        case 4: opts.symbol = "FUZZ"; break;
        default: break;
    }
    fuzz::expect_clean([&] { return barstore::parse_csv(text, "fuzz.csv", opts); });
    return 0;
}
