// tests/fuzz/fuzz_csv.cpp: libFuzzer target for barstore::parse_csv. The input is the file;
// its length picks the options (zone, stamp, forced timeframe, a --columns mapping with a
// symbol field) so plain CSV files are seeds. gzip or zstd input is decoded first, as
// parse_file does, so compressed seeds reach both the decoder and the parser.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "fuzz_common.hpp"
#include "ingest/decompress.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    barstore::ParseOptions opts;
    switch (size % 6) {
        case 1: opts.tz = "America/New_York"; break;  // DST gaps and folds in naive times
        case 2: opts.stamp = barstore::Stamp::end; break;
        case 3: opts.timeframe = std::chrono::minutes(1); break;
        case 4: opts.symbol = "FUZZ"; break;
        case 5: opts.columns = {"symbol", "date", "time", "open", "high", "low", "close", "volume", "skip"}; break;
        default: break;
    }
    namespace d = barstore::ingest_detail;
    const auto bytes = std::as_bytes(std::span<const std::uint8_t>(data, size));
    d::GrowBuffer plain;
    if (const auto c = d::sniff_compression(bytes); c != d::Compression::none) {
        try {
            plain = d::decompress(bytes, c, "fuzz.csv");
        } catch (const barstore::InvalidInput&) {
            return 0;
        }
        text = plain.view();
    }
    fuzz::expect_clean([&] { return barstore::parse_csv(text, "fuzz.csv", opts); });
    return 0;
}
