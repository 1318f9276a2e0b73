// tests/make_golden.cpp: writes the golden chunks and prewarm records of tests/golden/ and their
// expected values. Run once per format version (see tests/golden/README.md); never rewrite
// existing files. The companion .csv files are written from this program's INPUT rows and
// fields, not by decoding.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "barstore/types.hpp"
#include "codec/chunk.hpp"
#include "reference/naive_bars.hpp"
#include "store/prewarm_record.hpp"

namespace {

using barstore::BarColumns;
using barstore::codec::EncodeOptions;
using barstore::codec::Transform;

void write_pair(const std::string& dir, const std::string& name, const std::vector<reference::IntBar>& rows,
                const EncodeOptions& opts) {
    BarColumns cols;
    for (const auto& r : rows) {
        cols.ts.push_back(r.ts);
        cols.open.push_back(r.open);
        cols.high.push_back(r.high);
        cols.low.push_back(r.low);
        cols.close.push_back(r.close);
        cols.volume.push_back(r.volume);
    }
    const auto bytes = barstore::codec::encode_chunk(cols, 0, cols.size(), opts);
    std::ofstream bin(dir + "/" + name + ".bin", std::ios::binary);
    bin.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    std::ofstream csv(dir + "/" + name + ".csv", std::ios::binary);
    csv << "ts,open,high,low,close,volume\n";
    for (const auto& r : rows)
        csv << r.ts << ',' << r.open << ',' << r.high << ',' << r.low << ',' << r.close << ',' << r.volume << '\n';
    std::cout << name << ": " << rows.size() << " rows, " << bytes.size() << " bytes\n";
}

/// One prewarm record (docs/format.md, "`prewarm`") and, in NAME.csv, its fields as
/// `field,value` rows, from the input struct.
void write_record(const std::string& dir, const std::string& name, const barstore::prewarm::Record& r) {
    const auto bytes = barstore::prewarm::encode_record(r);
    std::ofstream bin(dir + "/" + name + ".bin", std::ios::binary);
    bin.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    std::ofstream csv(dir + "/" + name + ".csv", std::ios::binary);
    csv << "field,value\nprice_decimals," << r.scale.price_decimals << "\nvolume_decimals," << r.scale.volume_decimals
        << "\nbuilt_generation," << r.built_generation << "\nrows," << r.rows << "\nchunks," << r.chunks
        << "\nstored_bytes," << r.stored_bytes << "\nfirst_label," << r.first_label << "\nlast_label," << r.last_label
        << "\nsession," << r.session << "\n";
    std::cout << name << ": " << bytes.size() << " bytes\n";
}

int write_prewarm_records(const std::string& dir) {
    // A session-aligned aggregate of a series with a custom session and holidays: a session
    // text of some length, 5 chunks, labels around 2024.
    barstore::prewarm::Record r;
    r.scale = {2, 4};
    r.built_generation = 0x0102030405060708;
    r.rows = 4 * 4096 + 17;
    r.chunks = 5;
    r.stored_bytes = 123457;
    r.first_label = 1704205800000000000;  // 2024-01-02T14:30:00Z
    r.last_label = 1735590600000000000;   // 2024-12-30T20:30:00Z
    r.session = "America/New_York 09:30-16:00 Mon-Fri holidays=2024-01-01,2024-07-04,2024-12-25";
    write_record(dir, "prewarm-v1-session", r);
    // An empty series' aggregate: no bins, 24x7, labels 0.
    barstore::prewarm::Record e;
    e.scale = {0, 0};
    e.built_generation = 7;
    e.session = "24x7";
    write_record(dir, "prewarm-v1-empty", e);
    // Extremes: 18 decimals, the largest generation, a label before 1970.
    barstore::prewarm::Record old;
    old.scale = {18, 18};
    old.built_generation = UINT64_MAX;
    old.rows = 1;
    old.chunks = 1;
    old.stored_bytes = 300;
    old.first_label = old.last_label = -2208988800000000000;  // 1900-01-01
    old.session = "24x7";
    write_record(dir, "prewarm-v1-1900", old);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::string(argv[1]) == "--prewarm") return write_prewarm_records(argv[2]);
    if (argc != 3) {
        std::cerr << "usage: make_golden BTC_CSV OUT_DIR | make_golden --prewarm OUT_DIR\n";
        return 2;
    }
    const std::string btc = argv[1], dir = argv[2];

    // 1. chunk-v1-btc: the first 600 BTC rows whose prices need <= 2 and volume <= 4 decimals
    //    (a few volumes carry up to 11), at price decimals 2 and volume decimals 4: exact.
    {
        std::vector<reference::TextBar> picked;
        for (const auto& b : reference::load_btc(btc)) {
            if (picked.size() == 600) break;
            bool fits = reference::decimals_needed(b.field[4]) <= 4;
            for (int k = 0; k < 4; ++k) fits = fits && reference::decimals_needed(b.field[k]) <= 2;
            if (fits) picked.push_back(b);
        }
        std::size_t rounded = 0;
        const auto rows = reference::to_int(picked, 2, 4, &rounded);
        if (rounded != 0) return 1;
        write_pair(dir, "chunk-v1-btc", rows, EncodeOptions{});
    }

    // 2. chunk-v1-edge: hand-made edge values, default encoder options.
    {
        const std::int64_t MIN = INT64_MIN, MAX = INT64_MAX;
        const std::vector<reference::IntBar> rows = {
            {MIN, MIN, MAX, MIN, MAX, 0},
            {-2208988800000000000, -5, 3, -7, -6, MAX},  // 1900-01-01, negative prices
            {-1, 0, 0, 0, 0, 1},
            {0, 1, 1, 1, 1, 0},
            {60000000000, MAX, MAX, MAX, MAX, MAX},
            {60000000001, MIN, MIN, MIN, MIN, MIN},
            {1640991660000000000, 4631900, 4638500, 4631900, 4637700, 23004137295},
            {1640991720000000000, 4637700, 4641100, 4637700, 4641100, 18296231938},
            {MAX - 1, -1, MAX, MIN, 1, 1},
            {MAX, 42, 42, 42, 42, 42},
        };
        write_pair(dir, "chunk-v1-edge", rows, EncodeOptions{});
    }

    // 3. chunk-v1-varint: a deterministic synthetic walk (64-bit LCG), varint packing, plain and
    //    delta transforms, zstd level 1; covers packings 3 and 4 and transforms 0 and 1.
    {
        std::uint64_t s = 0x9E3779B97F4A7C15ull;
        auto next = [&] { return (s = s * 6364136223846793005ull + 1442695040888963407ull) >> 33; };
        std::vector<reference::IntBar> rows;
        std::int64_t ts = 1293840000000000000, px = 12635;  // 2011-01-01, $126.35
        for (int i = 0; i < 300; ++i) {
            ts += 60000000000LL * static_cast<std::int64_t>(1 + (next() % 7 == 0 ? next() % 90 : 0));
            const std::int64_t open = px + static_cast<std::int64_t>(next() % 11) - 5;
            const std::int64_t close = open + static_cast<std::int64_t>(next() % 21) - 10;
            const std::int64_t high = std::max(open, close) + static_cast<std::int64_t>(next() % 4);
            const std::int64_t low = std::min(open, close) - static_cast<std::int64_t>(next() % 4);
            rows.push_back({ts, open, high, low, close, static_cast<std::int64_t>(next() % 100000) * 100});
            px = close;
        }
        EncodeOptions o;
        o.varint = true;
        o.zstd_level = 1;
        o.transforms = {Transform::delta, Transform::plain, Transform::delta,
                        Transform::plain, Transform::delta, Transform::delta};
        write_pair(dir, "chunk-v1-varint", rows, o);
    }
    return 0;
}
