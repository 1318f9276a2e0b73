// cli/cmd_query.cpp: `barstore query`: bars of one series at any multiple of its base timeframe.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "cli.hpp"
#include "row_format.hpp"

namespace barstore::cli {

namespace {

struct QueryArgs {
    BarSelection sel;
    std::string format = "table";
    bool include_forming = false;
};

// Rows go through OutBuffer as digits written in place (row_format.hpp): no string per cell.
constexpr const char* kNames[6] = {"ts", "open", "high", "low", "close", "volume"};
/// More than a csv or jsonl row, or a table line, can take (6 cells of at most 30 + 2 + 39 bytes).
constexpr std::size_t kLineBytes = 512;

void write_csv(OutBuffer& out, const BarColumns& b, const Scale& s) {
    const int pd = s.price_decimals, vd = s.volume_decimals;
    for (std::size_t i = 0; i < b.size(); ++i) {
        char* p = out.room(kLineBytes);
        p = write_time(p, b.ts[i]);
        *p++ = ',';
        p = write_decimal(p, b.open[i], pd);
        *p++ = ',';
        p = write_decimal(p, b.high[i], pd);
        *p++ = ',';
        p = write_decimal(p, b.low[i], pd);
        *p++ = ',';
        p = write_decimal(p, b.close[i], pd);
        *p++ = ',';
        p = write_decimal(p, b.volume[i], vd);
        *p++ = '\n';
        out.end(p);
    }
}

char* put(char* p, std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    return p + s.size();
}

void write_jsonl(OutBuffer& out, const BarColumns& b, const Scale& s) {
    const int pd = s.price_decimals, vd = s.volume_decimals;
    for (std::size_t i = 0; i < b.size(); ++i) {
        char* p = out.room(kLineBytes);
        p = put(p, "{\"ts\":\"");
        p = write_time(p, b.ts[i]);
        p = put(p, "\",\"open\":");
        p = write_decimal(p, b.open[i], pd);
        p = put(p, ",\"high\":");
        p = write_decimal(p, b.high[i], pd);
        p = put(p, ",\"low\":");
        p = write_decimal(p, b.low[i], pd);
        p = put(p, ",\"close\":");
        p = write_decimal(p, b.close[i], pd);
        p = put(p, ",\"volume\":");
        p = write_decimal(p, b.volume[i], vd);
        p = put(p, "}\n");
        out.end(p);
    }
}

/// Cell c of row i written at p; returns its end.
char* write_cell(char* p, const BarColumns& b, const Scale& s, std::size_t i, std::size_t c) {
    switch (c) {
        case 0: return write_time(p, b.ts[i]);
        case 1: return write_decimal(p, b.open[i], s.price_decimals);
        case 2: return write_decimal(p, b.high[i], s.price_decimals);
        case 3: return write_decimal(p, b.low[i], s.price_decimals);
        case 4: return write_decimal(p, b.close[i], s.price_decimals);
        default: return write_decimal(p, b.volume[i], s.volume_decimals);
    }
}

/// Where the point is in a cell of `len` bytes (len when it has none).
std::size_t point_of(const char* cell, std::size_t len) {
    const void* dot = std::memchr(cell, '.', len);
    return dot ? static_cast<std::size_t>(static_cast<const char*>(dot) - cell) : len;
}

void write_table(OutBuffer& out, const BarColumns& b, const Scale& s) {
    // Numbers align on the decimal point: each column's integer parts are right-aligned and
    // its fractions left-aligned, so 128.7 sits above 128.68 and 41869 above 41869.5. The widths
    // need every row, so the cells are written twice: once to measure, once to print.
    std::size_t int_width[6] = {}, frac_width[6] = {};
    char cell[64];
    for (std::size_t i = 0; i < b.size(); ++i)
        for (std::size_t c = 0; c < 6; ++c) {
            const auto len = static_cast<std::size_t>(write_cell(cell, b, s, i, c) - cell);
            const std::size_t point = c == 0 ? len : point_of(cell, len);
            int_width[c] = std::max(int_width[c], point);
            frac_width[c] = std::max(frac_width[c], len - point);
        }
    std::size_t width[6];
    for (std::size_t c = 0; c < 6; ++c) width[c] = std::max(std::strlen(kNames[c]), int_width[c] + frac_width[c]);
    // One line: cell c > 0 is two blanks, `lead` blanks, the cell, blanks to the column's width.
    auto line = [&](auto&& cell_at, bool is_header) {
        char* const start = out.room(kLineBytes);
        char* p = start;
        for (std::size_t c = 0; c < 6; ++c) {
            char* const v = c == 0 ? p : p + 2;
            const auto len = static_cast<std::size_t>(cell_at(v, c) - v);
            if (c == 0) {  // time left-aligned
                p = v + len;
                std::memset(p, ' ', width[0] - len);
                p += width[0] - len;
                continue;
            }
            const std::size_t point = point_of(v, len);
            // A header has no point: right-aligned over the whole column.
            const std::size_t lead = is_header ? width[c] - len : width[c] - frac_width[c] - point;
            std::memmove(v + lead, v, len);
            std::memset(p, ' ', 2 + lead);
            p = v + lead + len;
            std::memset(p, ' ', width[c] - lead - len);
            p += width[c] - lead - len;
        }
        while (p > start && p[-1] == ' ') --p;  // padded fractions leave no trailing blanks
        *p++ = '\n';
        out.end(p);
    };
    line([&](char* p, std::size_t c) { return put(p, kNames[c]); }, true);
    for (std::size_t i = 0; i < b.size(); ++i)
        line([&](char* p, std::size_t c) { return write_cell(p, b, s, i, c); }, false);
}

void run_query(const QueryArgs& a) {
    auto store = Store::open(a.sel.db, StoreOptions{.read_only = true});
    QueryOptions q = query_options(a.sel);
    if (a.include_forming && !q.as_of) throw InvalidInput("--include-forming needs --as-of");
    q.include_forming = a.include_forming;
    const auto series = resolve_series(store, a.sel.symbol, q.timeframe);
    OutBuffer out(stdout);
    if (a.format == "table") {
        write_table(out, query(store, series.key, q), series.scale);
    } else {
        // csv and jsonl rows need no other row: printed as the bins close, so memory does not
        // grow with the answer.
        const bool csv = a.format == "csv";
        if (csv) out.put("ts,open,high,low,close,volume\n");
        query_each(store, series.key, q, [&](const BarColumns& bins) {
            if (csv) write_csv(out, bins, series.scale);
            else write_jsonl(out, bins, series.scale);
        });
    }
    out.flush();
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
