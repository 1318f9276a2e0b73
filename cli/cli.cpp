// cli/cli.cpp: what the subcommands share (cli.hpp): which series a symbol names, counts given on
// the command line, the progress bar and byte sizes. One place for each message, so every
// subcommand words the same miss the same way.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "cli.hpp"

namespace barstore::cli {

int usage_error(const CLI::App& app, int argc, const char* const* argv) {
    // The app itself takes only --help and --version, so a first word that is no option can
    // only be a mistyped command.
    std::string what = "no command given";
    if (argc > 1) {
        const std::string arg = argv[1];
        what = (arg.empty() || arg[0] != '-' ? "unknown command '" : "unknown option '") + arg + "'";
    }
    std::string out = "barstore: " + what + "\nUsage: barstore COMMAND [OPTIONS]\n\nCommands:\n";
    std::size_t width = 0;
    const auto subs = app.get_subcommands([](const CLI::App*) { return true; });
    for (const auto* s : subs) width = std::max(width, s->get_name().size());
    for (const auto* s : subs)
        out += "  " + s->get_name() + std::string(width - s->get_name().size() + 2, ' ') + s->get_description() + "\n";
    out += "\n'barstore COMMAND --help' describes a command; docs/cli.md describes them all.\n";
    std::fwrite(out.data(), 1, out.size(), stderr);
    return kBadInput;
}

CLI::Option* add_db(CLI::App* sub, std::string& db, const std::string& description) {
    return sub->add_option("--db", db, description)->envname("BARSTORE_DB")->required();
}

void add_selection(CLI::App* sub, BarSelection& sel) {
    add_db(sub, sel.db, "Store directory (or snapshot file)");
    sub->add_option("SYMBOL", sel.symbol, "Symbol")->required();
    sub->add_option("--timeframe", sel.timeframe, "e.g. 5m, 1h, 1d (default: the base)");
    sub->add_option("--from", sel.from, "Bins whose label is at or after T (ISO 8601, UTC if no zone)");
    sub->add_option("--to", sel.to, "Bins whose label is before T");
    sub->add_option("--last", sel.last, "Only the last N bins (N >= 0)");
    sub->add_option("--as-of", sel.as_of, "Only bins that ended at or before T");
    sub->add_option("--align", sel.align, "Bin starts: session or utc (default: session when the series has one)")
        ->check(CLI::IsMember({"session", "utc"}));
}

QueryOptions query_options(const BarSelection& sel) {
    QueryOptions q;
    if (!sel.timeframe.empty()) q.timeframe = parse_timeframe(sel.timeframe);
    if (!sel.from.empty()) q.from = parse_time(sel.from);
    if (!sel.to.empty()) q.to = parse_time(sel.to);
    if (!sel.as_of.empty()) q.as_of = parse_time(sel.as_of);
    if (sel.last) q.last = parse_count(*sel.last, "--last");
    if (sel.align == "utc") q.align = Alignment::utc;
    if (sel.align == "session") q.align = Alignment::session;
    return q;
}

void examples(CLI::App* sub, std::initializer_list<const char*> lines) {
    std::string text = "Examples:";
    for (const char* line : lines) text += std::string("\n  ") + line;
    sub->footer(text);
}

std::vector<SeriesInfo> find_series(const Store& store, const std::string& symbol) {
    auto all = store.find(symbol);
    if (all.empty()) throw NotFound("no series '" + symbol + "' in " + store.path().string() + " (barstore ls lists them)");
    return all;
}

SeriesInfo resolve_series(const Store& store, const std::string& symbol, std::optional<Duration> timeframe) {
    try {
        return store.resolve(symbol, timeframe);
    } catch (const NotFound& e) {
        throw NotFound(std::string(e.what()) + " (barstore ls lists them)");
    }
}

std::size_t parse_count(const std::string& text, const char* option) {
    std::size_t i = text.size() > 1 && text[0] == '+' ? 1 : 0;
    if (i == text.size()) throw InvalidInput(std::string(option) + " needs a count of 0 or more (got '')");
    std::size_t n = 0;
    bool clamped = false;
    for (; i < text.size(); ++i) {
        if (text[i] < '0' || text[i] > '9')
            throw InvalidInput(std::string(option) + " needs a count of 0 or more (got '" + text + "')");
        clamped = clamped || __builtin_mul_overflow(n, std::size_t{10}, &n) ||
                  __builtin_add_overflow(n, static_cast<std::size_t>(text[i] - '0'), &n);
    }
    return clamped ? SIZE_MAX : n;
}

std::vector<std::string> split_list(const std::string& text, const char* what) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : text + ",") {
        if (c == ',') {
            if (!cur.empty()) out.push_back(cur);
            cur.clear();
        } else if (c != ' ') {
            cur += c;
        }
    }
    if (out.empty()) throw InvalidInput(std::string("--") + what + " needs at least one item");
    return out;
}

std::string format_aggregate(const AggregateSpec& spec) {
    return format_timeframe(spec.timeframe) + (spec.align == Alignment::utc ? " utc" : " session");
}

std::string format_span(const SeriesInfo& s) {
    return s.rows == 0 ? "-" : format_time(s.first) + " .. " + format_time(s.last);
}

std::string json_string(const std::string& text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
            out += b;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string series_json(const Store& store, const SeriesInfo& s, bool with_disk_bytes) {
    const auto num = [](std::uint64_t v) { return std::to_string(v); };
    const auto when = [&](Timestamp t) { return s.rows == 0 ? std::string("null") : json_string(format_time(t)); };
    std::string out = "{\"symbol\":" + json_string(s.key.symbol) + ",\"base\":" + json_string(format_timeframe(s.key.base)) +
                      ",\"rows\":" + num(s.rows) + ",\"first\":" + when(s.first) + ",\"last\":" + when(s.last) +
                      ",\"price_decimals\":" + std::to_string(s.scale.price_decimals) +
                      ",\"volume_decimals\":" + std::to_string(s.scale.volume_decimals) +
                      ",\"session\":" + json_string(format_session(s.session)) + ",\"chunks\":" + num(s.chunks) +
                      ",\"stored_bytes\":" + num(s.stored_bytes);
    if (with_disk_bytes) out += ",\"disk_bytes\":" + num(s.disk_bytes);
    out += ",\"generation\":" + num(s.generation) + ",\"prewarmed\":";
    std::vector<PrewarmedInfo> all;
    try {
        all = store.prewarmed(s.key);
    } catch (const CorruptData& e) {
        return out + "null,\"prewarmed_error\":" + json_string(e.what()) + "}";
    }
    out += "[";
    for (const auto& p : all)
        out += std::string(&p == &all.front() ? "" : ",") + "{\"timeframe\":" + json_string(format_timeframe(p.spec.timeframe)) +
               ",\"align\":" + (p.spec.align == Alignment::utc ? "\"utc\"" : "\"session\"") + ",\"bins\":" + num(p.rows) +
               ",\"chunks\":" + num(p.chunks) + ",\"stored_bytes\":" + num(p.stored_bytes) +
               ",\"current\":" + (p.current ? "true" : "false") + "}";
    return out + "]}";
}

namespace {
std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}
}  // namespace

Progress::Progress(std::string label) : label_(std::move(label)), tty_(::isatty(STDERR_FILENO)), start_ns_(now_ns()) {}
Progress::~Progress() { finish(); }

void Progress::update(std::uint64_t done, std::uint64_t total) {
    if (!tty_ || total == 0) return;
    const auto t = now_ns();
    if (t - start_ns_ < 1'000'000'000 || t - last_draw_ns_ < 100'000'000) return;
    last_draw_ns_ = t;
    drawn_ = true;
    const int width = 30;
    const double f = static_cast<double>(done) / static_cast<double>(total);
    const int fill = static_cast<int>(f * width);
    std::fprintf(stderr, "\r%s [%.*s%*s] %3d%% %s/%s", label_.c_str(), fill, "##############################",
                 width - fill, "", static_cast<int>(f * 100), format_bytes(done).c_str(), format_bytes(total).c_str());
    std::fflush(stderr);
}

void Progress::finish() {
    if (drawn_) std::fprintf(stderr, "\r\033[K");
    drawn_ = false;
}

std::string format_bytes(std::uint64_t b) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(b);
    int u = 0;
    while (v >= 1024 && u < 4) v /= 1024, ++u;
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
    return buf;
}

std::string format_ratio(std::uint64_t part, std::uint64_t whole) {
    if (whole == 0) return "-";
    return std::to_string((part * 100 + whole / 2) / whole) + "%";
}

}  // namespace barstore::cli
