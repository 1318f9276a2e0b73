// cli/cmd_chart.cpp: `barstore chart`: one series' bins as a candlestick chart with a volume panel,
// written as a self-contained SVG. The bins are exactly `barstore query`'s (same query() call and
// options); the x axis has one slot per bin that exists, so weekends and nights are not drawn.
#include <date/tz.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "chart_layout.hpp"
#include "cli.hpp"
#include "svg.hpp"

namespace barstore::cli {

namespace {

struct ChartArgs {
    BarSelection sel;
    std::string tz, out;
};

// The page, in CSS pixels: wide enough for a few hundred readable candles, and the price labels
// on the right where trading charts put them.
constexpr double kWidth = 1200, kHeight = 700;
constexpr double kLeft = 12, kRight = 76, kTop = 46, kBottom = 30;
constexpr double kPanelGap = 20, kVolumeShare = 0.22;
constexpr double kLabelGapPx = 64;  // "Jan 18" at 11px is ~40px; the rest keeps labels apart

constexpr const char* kCss =
    "text{font-family:DejaVu Sans,Arial,sans-serif;font-size:11px;fill:#333}"
    ".title{font-size:15px;font-weight:bold;fill:#111}.sub{font-size:12px;fill:#555}"
    ".grid{stroke:#e6e6e6;stroke-width:1}.major{stroke:#c8c8c8}.frame{fill:none;stroke:#999}"
    ".up line{stroke:#1a9850}.up rect{fill:#1a9850}.down line{stroke:#d73027}.down rect{fill:#d73027}"
    ".vol rect.up{fill:#1a9850;opacity:.45}.vol rect.down{fill:#d73027;opacity:.45}";

/// UTC instants to local seconds in one zone; a zone's rule is looked up only when a bin leaves
/// the span of the previous one (sys_info), so a long series costs a few lookups.
class LocalClock {
public:
    explicit LocalClock(const date::time_zone* zone) : zone_(zone) {}
    std::int64_t local_s(std::int64_t ts_ns) {
        const date::sys_seconds t{std::chrono::floor<std::chrono::seconds>(Duration{ts_ns})};
        if (!(t >= info_.begin && t < info_.end)) info_ = zone_->get_info(t);
        return t.time_since_epoch().count() + info_.offset.count();
    }

private:
    const date::time_zone* zone_;
    date::sys_info info_{};
};

const date::time_zone* find_zone(const std::string& name, const char* what) {
    try {
        return date::locate_zone(name);
    } catch (const std::exception&) {
        throw InvalidInput(std::string("unknown ") + what + " '" + name +
                           "', expected an IANA name such as America/New_York or UTC");
    }
}

std::string render(const BarColumns& b, const SeriesInfo& series, Duration tf, const std::string& zone_name,
                   const date::time_zone* zone, const std::string& as_of) {
    const std::size_t n = b.size();
    const Scale& scale = series.scale;
    LocalClock clock(zone);
    std::vector<std::int64_t> local(n);
    for (std::size_t i = 0; i < n; ++i) local[i] = clock.local_s(b.ts[i]);

    const double plot_w = kWidth - kLeft - kRight;
    const double panels_h = kHeight - kTop - kBottom - kPanelGap;
    const double price_top = kTop, price_h = panels_h * (1 - kVolumeShare);
    const double vol_top = price_top + price_h + kPanelGap, vol_h = panels_h * kVolumeShare;
    const double slot = plot_w / static_cast<double>(n);
    const double x_right = kLeft + plot_w;

    const auto lo = *std::min_element(b.low.begin(), b.low.end());
    const auto hi = *std::max_element(b.high.begin(), b.high.end());
    const auto price = chart::nice_axis(lo, hi, 6);
    const auto vmax = *std::max_element(b.volume.begin(), b.volume.end());
    const auto vol = chart::nice_axis(0, std::max<std::int64_t>(vmax, 0), 2);
    const auto py = [&](std::int64_t v) {
        // 8px inside the frame, so a wick at the axis' end does not vanish into the frame line.
        constexpr double inset = 8;
        return price_top + inset +
               (price_h - 2 * inset) * (1 - static_cast<double>(v - price.min) / static_cast<double>(price.max - price.min));
    };
    const auto vy = [&](std::int64_t v) {
        return vol_top + vol_h * (1 - static_cast<double>(v - vol.min) / static_cast<double>(vol.max - vol.min));
    };
    const auto cx = [&](std::size_t i) { return kLeft + (static_cast<double>(i) + 0.5) * slot; };
    using svg::num;

    svg::Writer w(kWidth, kHeight);
    w.style(kCss);
    w.empty("rect", {{"width", num(kWidth)}, {"height", num(kHeight)}, {"fill", "#fff"}});
    std::string title = series.key.symbol + "  " + format_timeframe(tf);
    std::string sub = chart::format_local(local.front()) + " .. " + chart::format_local(local.back()) + "  " +
                      zone_name + "  (" + std::to_string(n) + (n == 1 ? " bar" : " bars") +
                      (as_of.empty() ? "" : ", as of " + as_of) + ")";
    w.text_element("text", {{"class", "title"}, {"x", num(kLeft)}, {"y", "20"}}, title);
    w.text_element("text", {{"class", "sub"}, {"x", num(kLeft)}, {"y", "37"}}, sub);

    // Grid first, so candles draw over it.
    w.open("g", {{"class", "price-axis"}});
    for (auto t : price.ticks()) {
        const double y = py(t);
        w.empty("line", {{"class", "grid"}, {"x1", num(kLeft)}, {"x2", num(x_right)}, {"y1", num(y)}, {"y2", num(y)}});
        w.text_element("text", {{"x", num(x_right + 6)}, {"y", num(y + 4)}},
                       chart::format_tick(t, scale.price_decimals, price.step));
    }
    w.close("g");
    w.open("g", {{"class", "volume-axis"}});
    for (auto t : vol.ticks()) {
        const double y = vy(t);
        w.empty("line", {{"class", "grid"}, {"x1", num(kLeft)}, {"x2", num(x_right)}, {"y1", num(y)}, {"y2", num(y)}});
        if (t == 0) continue;  // "0" at the panel's foot says nothing and crowds the price panel's label
        w.text_element("text", {{"x", num(x_right + 6)}, {"y", num(y + 4)}},
                       chart::format_compact(static_cast<double>(t) / std::pow(10.0, scale.volume_decimals)));
    }
    w.close("g");
    const auto labels = chart::time_labels(local, slot, kLabelGapPx);
    w.open("g", {{"class", "time-axis"}});
    for (const auto& l : labels) {
        const double x = cx(l.index);
        // Lines at a new day are darker: that is where the chart jumps over a night or a weekend.
        const bool major = l.level >= chart::Level::day;
        w.empty("line", {{"class", major ? "grid major" : "grid"}, {"x1", num(x)}, {"x2", num(x)},
                         {"y1", num(price_top)}, {"y2", num(vol_top + vol_h)}});
        // Centred under its bar, but kept on the page: the first bar's label would stick out left.
        const double half_px = 3.3 * static_cast<double>(l.text.size());
        const double text_x = std::max(x, half_px + 2);
        w.text_element("text", {{"x", num(text_x)}, {"y", num(vol_top + vol_h + 16)}, {"text-anchor", "middle"}}, l.text);
    }
    w.close("g");

    // At most 40px: a handful of bars as slabs a quarter of the page wide reads as a bar chart.
    const double body_w = std::clamp(slot * 0.7, 1.0, 40.0);
    const double wick_w = std::min(1.0, std::max(0.5, slot * 0.3));
    w.open("g", {{"class", "candles"}});
    for (std::size_t i = 0; i < n; ++i) {
        const bool up = b.close[i] >= b.open[i];
        const double x = cx(i);
        const double top = py(std::max(b.open[i], b.close[i])), bottom = py(std::min(b.open[i], b.close[i]));
        // A doji still shows a 1px body: a missing body would read as a missing bar.
        const double body_h = std::max(1.0, bottom - top);
        w.open("g", {{"class", up ? "candle up" : "candle down"}, {"data-ts", format_time(Timestamp{Duration{b.ts[i]}})}});
        w.text_element("title", {},
                       chart::format_local(local[i]) + "  O " + format_decimal(b.open[i], scale.price_decimals) +
                           "  H " + format_decimal(b.high[i], scale.price_decimals) + "  L " +
                           format_decimal(b.low[i], scale.price_decimals) + "  C " +
                           format_decimal(b.close[i], scale.price_decimals) + "  V " +
                           format_decimal(b.volume[i], scale.volume_decimals));
        w.empty("line", {{"x1", num(x)}, {"x2", num(x)}, {"y1", num(py(b.high[i]))}, {"y2", num(py(b.low[i]))},
                         {"stroke-width", num(wick_w)}});
        w.empty("rect", {{"x", num(x - body_w / 2)}, {"y", num(bottom - body_h)}, {"width", num(body_w)},
                         {"height", num(body_h)}});
        w.close("g");
    }
    w.close("g");
    w.open("g", {{"class", "vol"}});
    for (std::size_t i = 0; i < n; ++i) {
        const double top = vy(std::max<std::int64_t>(b.volume[i], 0));
        w.empty("rect", {{"class", b.close[i] >= b.open[i] ? "up" : "down"}, {"x", num(cx(i) - body_w / 2)},
                         {"y", num(top)}, {"width", num(body_w)}, {"height", num(vol_top + vol_h - top)}});
    }
    w.close("g");
    w.empty("rect", {{"class", "frame"}, {"x", num(kLeft)}, {"y", num(price_top)}, {"width", num(plot_w)},
                     {"height", num(price_h)}});
    w.empty("rect", {{"class", "frame"}, {"x", num(kLeft)}, {"y", num(vol_top)}, {"width", num(plot_w)},
                     {"height", num(vol_h)}});
    return w.finish();
}

/// Writes `text` to `out` through a temporary file in the same directory and a rename, so `out`
/// is either the old file or the whole new chart, never a torn one.
void write_atomically(const std::string& out, const std::string& text) {
    const std::string tmp = out + ".tmp-" + std::to_string(::getpid());
    const auto fail = [&](const char* doing) {
        const std::string why = std::strerror(errno);
        std::remove(tmp.c_str());
        throw IoError("cannot write chart to '" + out + "': " + doing + ": " + why);
    };
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) fail("create");
    // Synced before the rename, so a crash cannot leave `out` naming a file whose bytes never landed.
    const bool wrote = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0 &&
                       ::fsync(::fileno(f)) == 0;
    if (std::fclose(f) != 0 || !wrote) fail("write");
    if (std::rename(tmp.c_str(), out.c_str()) != 0) fail("rename");
}

void run_chart(const ChartArgs& a) {
    auto store = Store::open(a.sel.db, StoreOptions{.read_only = true});
    const QueryOptions q = query_options(a.sel);
    const auto series = resolve_series(store, a.sel.symbol, q.timeframe);
    const std::string zone_name = a.tz.empty() ? series.session.zone : a.tz;
    const auto* zone = find_zone(zone_name, a.tz.empty() ? "session zone" : "--tz zone");
    const Duration tf = q.timeframe.value_or(series.key.base);
    const auto bars = query(store, series.key, q);
    if (bars.empty())
        throw NotFound("no bars of '" + a.sel.symbol + "' at " + format_timeframe(tf) + " in the range asked, nothing to chart" +
                       " (the series spans " + format_span(series) + ")");
    write_atomically(a.out, render(bars, series, tf, zone_name, zone, a.sel.as_of));
    std::printf("%s: %s %s, %zu bars\n", a.out.c_str(), series.key.symbol.c_str(), format_timeframe(tf).c_str(),
                bars.size());
}

}  // namespace

void setup_chart(CLI::App& app) {
    auto a = std::make_shared<ChartArgs>();
    auto* sub = app.add_subcommand("chart", "Draw bars of one series as a candlestick chart with volume (SVG)");
    add_selection(sub, a->sel);
    sub->add_option("--tz", a->tz, "Zone of the time axis (default: the series' session zone, else UTC)");
    sub->add_option("--out", a->out, "SVG file to write (replaced whole, or left as it was)")->required();
    examples(sub, {"barstore chart --db store SPY --timeframe 1h --from 2011-01-12 --to 2011-01-20 --out spy-1h.svg"});
    sub->callback([a] { run_chart(*a); });
}

}  // namespace barstore::cli
