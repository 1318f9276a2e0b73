// cli/cmd_query.cpp: `barstore query`: bars of one series at any multiple of its base timeframe.
#include <algorithm>
#include <array>
#include <cstdio>
#include <iostream>

#include "cli.hpp"

namespace barstore::cli {

namespace {

struct QueryArgs {
    BarSelection sel;
    std::string format = "table";
    bool include_forming = false;
};

void print(const BarColumns& b, const Scale& s, const std::string& format) {
    std::string out;
    out.reserve(b.size() * 80);
    auto row = [&](std::size_t i, std::string cells[6]) {
        cells[0] = format_time(Timestamp{Duration{b.ts[i]}});
        cells[1] = format_decimal(b.open[i], s.price_decimals);
        cells[2] = format_decimal(b.high[i], s.price_decimals);
        cells[3] = format_decimal(b.low[i], s.price_decimals);
        cells[4] = format_decimal(b.close[i], s.price_decimals);
        cells[5] = format_decimal(b.volume[i], s.volume_decimals);
    };
    static const char* names[6] = {"ts", "open", "high", "low", "close", "volume"};
    std::string cells[6];
    if (format == "csv") {
        out += "ts,open,high,low,close,volume\n";
        for (std::size_t i = 0; i < b.size(); ++i) {
            row(i, cells);
            for (int c = 0; c < 6; ++c) out += cells[c], out += c == 5 ? '\n' : ',';
        }
    } else if (format == "jsonl") {
        for (std::size_t i = 0; i < b.size(); ++i) {
            row(i, cells);
            out += "{\"ts\":\"" + cells[0] + "\"";
            for (int c = 1; c < 6; ++c) out += std::string(",\"") + names[c] + "\":" + cells[c];
            out += "}\n";
        }
    } else {
        // Numbers align on the decimal point: each column's integer parts are right-aligned and
        // its fractions left-aligned, so 128.7 sits above 128.68 and 41869 above 41869.5.
        std::vector<std::array<std::string, 6>> rows(b.size());
        std::size_t int_width[6] = {}, frac_width[6] = {};
        for (std::size_t i = 0; i < b.size(); ++i) {
            row(i, cells);
            for (int c = 0; c < 6; ++c) {
                const std::size_t point = c == 0 ? cells[c].size() : std::min(cells[c].find('.'), cells[c].size());
                int_width[c] = std::max(int_width[c], point);
                frac_width[c] = std::max(frac_width[c], cells[c].size() - point);
                rows[i][static_cast<std::size_t>(c)] = std::move(cells[c]);
            }
        }
        std::size_t width[6];
        for (std::size_t c = 0; c < 6; ++c) width[c] = std::max(std::string(names[c]).size(), int_width[c] + frac_width[c]);
        auto emit = [&](const std::array<std::string, 6>& r, bool is_header) {
            const std::size_t start = out.size();
            for (std::size_t c = 0; c < 6; ++c) {
                const std::string& v = r[c];
                if (c == 0) {
                    out += v + std::string(width[0] - v.size(), ' ');  // time left-aligned
                    continue;
                }
                const std::size_t point = std::min(v.find('.'), v.size());
                // A header has no point: right-aligned over the whole column.
                const std::size_t lead = is_header ? width[c] - v.size() : width[c] - frac_width[c] - point;
                out += "  " + std::string(lead, ' ') + v + std::string(width[c] - lead - v.size(), ' ');
            }
            while (out.size() > start && out.back() == ' ') out.pop_back();  // padded fractions leave no trailing blanks
            out += '\n';
        };
        emit({names[0], names[1], names[2], names[3], names[4], names[5]}, true);
        for (const auto& r : rows) emit(r, false);
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
}

void run_query(const QueryArgs& a) {
    auto store = Store::open(a.sel.db, StoreOptions{.read_only = true});
    QueryOptions q = query_options(a.sel);
    if (a.include_forming && !q.as_of) throw InvalidInput("--include-forming needs --as-of");
    q.include_forming = a.include_forming;
    const auto series = resolve_series(store, a.sel.symbol, q.timeframe);
    const auto bars = query(store, series.key, q);
    print(bars, series.scale, a.format);
}

}  // namespace

void setup_query(CLI::App& app) {
    auto a = std::make_shared<QueryArgs>();
    auto* sub = app.add_subcommand("query", "Print bars of one series, resampled to any multiple of its base");
    add_selection(sub, a->sel);
    sub->add_flag("--include-forming", a->include_forming, "With --as-of, add the bin still forming at T");
    sub->add_option("--format", a->format, "table, csv or jsonl")->check(CLI::IsMember({"table", "csv", "jsonl"}));
    examples(sub, {"barstore query --db store SPY --timeframe 1h --last 5",
                   "barstore query --db store BTC --timeframe 1d --from 2022-01-10 --to 2022-01-14 --format csv"});
    sub->callback([a] { run_query(*a); });
}

}  // namespace barstore::cli
