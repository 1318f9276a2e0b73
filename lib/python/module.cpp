// lib/python/module.cpp: `barstore._core`, the compiled part of the `barstore` Python package
// (pybind11; barstore/__init__.py re-exports it). Thin like the CLI: it converts
// arguments and results and maps errors; every behaviour lives once, in the library.
// Invariant it guards: int64 columns and ts reach numpy without a copy (a capsule holds the columns).
//
// Speed: a backtest calls Reader.bars once per step, so its fixed cost is what a user feels
// (issue 14: <= 3 us). The common argument types are read through the C APIs of datetime and
// numpy (no attribute lookups, no imports per call), and a Bars makes its numpy arrays only
// when a column is first read (tools/bench_python.py measures both).
#include <Python.h>
#include <datetime.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>
#include <numpy/arrayscalars.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "barstore/barstore.hpp"

namespace py = pybind11;
using namespace barstore;

namespace {

// ---- errors -------------------------------------------------------------------------------------

// Created once at import; module-lifetime references (the module keeps them alive too).
PyObject* exc_error = nullptr;
PyObject* exc_invalid_input = nullptr;
PyObject* exc_not_found = nullptr;
PyObject* exc_corrupt_data = nullptr;
PyObject* exc_storage_full = nullptr;
PyObject* exc_io_error = nullptr;

/// A Python exception class barstore.NAME deriving from `bases`, added to the module.
PyObject* make_exception(py::module_& m, const char* name, py::tuple bases, const char* doc) {
    const std::string qualified = std::string("barstore.") + name;  // re-exported there: pickles by that name
    PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
    if (!type) throw py::error_already_set();
    m.add_object(name, py::handle(type));  // add_object steals nothing: it increfs
    return type;
}

// ---- arguments ----------------------------------------------------------------------------------

__extension__ using i128 = __int128;  // __extension__: -Wpedantic knows no 128-bit integers

/// pandas.Timestamp's type once pandas has been imported by someone (barstore never imports it):
/// a Timestamp carries nanoseconds in .value, which a datetime's fields would lose.
PyObject* pandas_timestamp_type() {
    static PyObject* type = nullptr;
    if (type) return type;
    PyObject* modules = PyImport_GetModuleDict();  // borrowed
    PyObject* pd = PyDict_GetItemString(modules, "pandas");  // borrowed, NULL if not imported
    if (!pd) return nullptr;
    PyObject* t = PyObject_GetAttrString(pd, "Timestamp");
    if (!t) {
        PyErr_Clear();
        return nullptr;
    }
    type = t;  // kept for the life of the process, as the module's classes are
    return type;
}

/// Nanoseconds since the epoch of a datetime's fields, minus its utcoffset() when aware (naive
/// means UTC, as the CLI's times do).
i128 datetime_ns(PyObject* o) {
    using namespace std::chrono;
    const auto day = sys_days{year{PyDateTime_GET_YEAR(o)} / PyDateTime_GET_MONTH(o) / PyDateTime_GET_DAY(o)};
    i128 ns = static_cast<i128>(day.time_since_epoch().count()) * 86'400'000'000'000;
    ns += (static_cast<i128>(PyDateTime_DATE_GET_HOUR(o)) * 3600 + PyDateTime_DATE_GET_MINUTE(o) * 60 +
           PyDateTime_DATE_GET_SECOND(o)) * 1'000'000'000 +
          static_cast<i128>(PyDateTime_DATE_GET_MICROSECOND(o)) * 1000;
    if (PyDateTime_DATE_GET_TZINFO(o) != Py_None) {
        const py::object offset = py::reinterpret_steal<py::object>(PyObject_CallMethod(o, "utcoffset", nullptr));
        if (!offset) throw py::error_already_set();
        if (!offset.is_none()) {
            PyObject* d = offset.ptr();
            ns -= (static_cast<i128>(PyDateTime_DELTA_GET_DAYS(d)) * 86400 + PyDateTime_DELTA_GET_SECONDS(d)) * 1'000'000'000 +
                  static_cast<i128>(PyDateTime_DELTA_GET_MICROSECONDS(d)) * 1000;
        }
    }
    return ns;
}

/// Nanoseconds since the epoch of a numpy.datetime64 scalar in a linear unit (weeks to
/// attoseconds; a finer unit floors, as numpy's own casts do), or nullopt for years, months and
/// the generic unit, which the caller converts through numpy. No cast here can wrap: i128.
std::optional<i128> datetime64_ns_linear(PyObject* o) {
    const auto* s = reinterpret_cast<PyDatetimeScalarObject*>(o);
    const i128 value = static_cast<i128>(s->obval) * s->obmeta.num;
    auto floor_div = [](i128 a, i128 b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); };
    switch (s->obmeta.base) {
        case NPY_FR_W: return value * 7 * 86'400'000'000'000;
        case NPY_FR_D: return value * 86'400'000'000'000;
        case NPY_FR_h: return value * 3'600'000'000'000;
        case NPY_FR_m: return value * 60'000'000'000;
        case NPY_FR_s: return value * 1'000'000'000;
        case NPY_FR_ms: return value * 1'000'000;
        case NPY_FR_us: return value * 1000;
        case NPY_FR_ns: return value;
        case NPY_FR_ps: return floor_div(value, 1000);
        case NPY_FR_fs: return floor_div(value, 1'000'000);
        case NPY_FR_as: return floor_div(value, 1'000'000'000);
        default: return std::nullopt;
    }
}

/// datetime/date/numpy.datetime64/pandas.Timestamp/ISO string -> Timestamp. Naive means UTC, as
/// the CLI's times do. Outside the supported range (time.hpp) is InvalidInput naming `what`.
Timestamp to_time(py::handle obj, const char* what) {
    PyObject* o = obj.ptr();
    if (PyUnicode_Check(o)) return parse_time(obj.cast<std::string>());
    i128 ns = 0;
    if (PyArray_IsScalar(o, Datetime)) {
        if (reinterpret_cast<PyDatetimeScalarObject*>(o)->obval == NPY_DATETIME_NAT)
            throw InvalidInput(std::string(what) + ": NaT is not a time");
        if (const auto linear = datetime64_ns_linear(o)) {
            ns = *linear;
        } else {
            // Years and months: numpy knows the calendar. Microseconds reach +-290,000 years,
            // so they carry the range check (numpy wraps a time past int64 ns silently).
            ns = static_cast<i128>(obj.attr("astype")("datetime64[us]").attr("astype")("int64").cast<std::int64_t>()) * 1000;
        }
    } else if (PyDateTime_Check(o)) {
        // A subclass is pandas.Timestamp (or pandas.NaT, whose .value INT64_MIN the range check
        // refuses) when it has .value; the type check spares a Timestamp the attribute probe.
        bool has_value = false;
        if (!PyDateTime_CheckExact(o)) {
            PyObject* pd_timestamp = pandas_timestamp_type();
            has_value = (pd_timestamp && PyObject_TypeCheck(o, reinterpret_cast<PyTypeObject*>(pd_timestamp))) ||
                        py::hasattr(obj, "value");
        }
        ns = has_value ? static_cast<i128>(obj.attr("value").cast<std::int64_t>()) : datetime_ns(o);
    } else if (PyDate_Check(o)) {
        using namespace std::chrono;
        const auto day = sys_days{year{PyDateTime_GET_YEAR(o)} / PyDateTime_GET_MONTH(o) / PyDateTime_GET_DAY(o)};
        ns = static_cast<i128>(day.time_since_epoch().count()) * 86'400'000'000'000;
    } else {
        throw py::type_error(std::string(what) + ": expected datetime, numpy.datetime64, pandas.Timestamp or an ISO 8601 string, got " +
                             std::string(py::str(obj.get_type().attr("__name__"))));
    }
    if (ns < INT64_MIN || ns > INT64_MAX)
        throw InvalidInput(std::string(what) + ": " + std::string(py::str(obj)) + " is outside the supported range");
    const Timestamp t{Duration{static_cast<std::int64_t>(ns)}};
    check_supported_time(t, what);
    return t;
}

std::optional<Timestamp> to_opt_time(py::handle obj, const char* what) {
    if (obj.is_none()) return std::nullopt;
    return to_time(obj, what);
}

/// "5m", "5 minutes", "hour", "day" (parse_timeframe), or a datetime.timedelta.
Duration to_timeframe(py::handle obj) {
    if (py::isinstance<py::str>(obj)) return parse_timeframe(obj.cast<std::string>());
    auto dt = py::module_::import("datetime");
    if (py::isinstance(obj, dt.attr("timedelta"))) {
        const auto us = (obj.attr("days").cast<std::int64_t>() * 86400 + obj.attr("seconds").cast<std::int64_t>()) * 1'000'000 +
                        obj.attr("microseconds").cast<std::int64_t>();
        if (us <= 0 || us % 1'000'000 != 0)
            throw InvalidInput("timeframe: " + std::string(py::str(obj)) + " is not a positive whole number of seconds");
        return parse_timeframe(std::to_string(us / 1'000'000) + "s");  // the library's limits and messages
    }
    throw py::type_error("timeframe: expected a string such as '5m' or a datetime.timedelta, got " +
                         std::string(py::str(obj.get_type().attr("__name__"))));
}

std::optional<Duration> to_opt_timeframe(py::handle obj) {
    if (obj.is_none()) return std::nullopt;
    return to_timeframe(obj);
}

std::optional<Alignment> to_align(const std::optional<std::string>& align) {
    if (!align) return std::nullopt;
    if (*align == "utc") return Alignment::utc;
    if (*align == "session") return Alignment::session;
    throw InvalidInput("align: expected 'utc' or 'session' (got '" + *align + "')");
}

std::size_t to_count(py::handle obj, const char* what) {
    const auto n = obj.cast<long long>();
    if (n < 0) throw InvalidInput(std::string(what) + " needs a count of 0 or more (got " + std::to_string(n) + ")");
    return static_cast<std::size_t>(n);
}

/// A str, os.PathLike, or a list of them.
std::vector<std::filesystem::path> to_paths(py::handle obj) {
    if (py::isinstance<py::str>(obj) || py::hasattr(obj, "__fspath__")) return {obj.cast<std::filesystem::path>()};
    return obj.cast<std::vector<std::filesystem::path>>();
}
std::vector<std::string> to_strings(py::handle obj) {
    if (py::isinstance<py::str>(obj)) return {obj.cast<std::string>()};
    return obj.cast<std::vector<std::string>>();
}

// ---- results ------------------------------------------------------------------------------------

py::object datetime64_ns(Timestamp t) {
    return py::module_::import("numpy").attr("datetime64")(t.time_since_epoch().count(), "ns");
}

/// numpy's datetime64[ns] and int64 dtypes, made once: parsing a dtype string per array costs
/// more than the rest of a Reader call. Deliberately never freed (the module lives until exit).
const py::dtype& ns_dtype() {
    static const auto* d = new py::dtype("datetime64[ns]");
    return *d;
}
const py::dtype& i64_dtype() {
    static const auto* d = new py::dtype(py::dtype::of<std::int64_t>());
    return *d;
}

/// The six columns behind a Bars, shared by the Bars and by every array made over them: either
/// a query's own vectors, moved in, or one block holding a copy of a Reader's view (one
/// allocation instead of six: a backtest makes one of these per step).
struct Columns {
    BarColumns owned;
    std::unique_ptr<std::int64_t[]> block;
    std::array<std::span<const std::int64_t>, 6> col;

    explicit Columns(BarColumns&& bars) : owned(std::move(bars)) {
        const auto all = owned.columns();
        for (std::size_t c = 0; c < col.size(); ++c) col[c] = *all[c];
    }
    explicit Columns(const BarView& view) : block(new std::int64_t[6 * view.size()]) {
        const std::array<std::span<const std::int64_t>, 6> from{view.ts, view.open, view.high, view.low, view.close, view.volume};
        for (std::size_t c = 0; c < col.size(); ++c) {
            std::int64_t* dst = block.get() + c * view.size();
            std::copy(from[c].begin(), from[c].end(), dst);
            col[c] = {dst, view.size()};
        }
    }
    std::size_t size() const { return col[0].size(); }
};
using SharedColumns = std::shared_ptr<const Columns>;

/// A numpy array over `col` without a copy: a capsule holding a reference to the columns is the
/// array's base, so the array (and any view of it) keeps them alive after the Bars is gone.
py::array adopt(const SharedColumns& cols, std::span<const std::int64_t> col, const py::dtype& dtype) {
    py::capsule owner(new SharedColumns(cols), [](void* p) { delete static_cast<SharedColumns*>(p); });
    return py::array(dtype, {static_cast<py::ssize_t>(col.size())}, {static_cast<py::ssize_t>(sizeof(std::int64_t))},
                     col.data(), owner);
}

/// mantissa / 10^decimals, correctly rounded: both are exact doubles when |m| < 2^53, so the
/// quotient is the double nearest the decimal value (what float() of the CLI's text gives).
py::array scaled(std::span<const std::int64_t> col, int decimals) {
    py::array_t<double> out(static_cast<py::ssize_t>(col.size()));
    double* dst = out.mutable_data();
    const double div = std::pow(10.0, decimals);  // exact for 0..18
    for (std::size_t i = 0; i < col.size(); ++i) dst[i] = static_cast<double>(col[i]) / div;
    return out;
}

std::int64_t pow10(int decimals) {
    std::int64_t p = 1;
    for (int i = 0; i < decimals; ++i) p *= 10;
    return p;
}

/// One query's bars. The numpy array of a column is made when it is first read, then kept:
/// a backtest step that reads one column of a Reader answer pays for one array, not six.
struct Bars {
    enum Column : std::size_t { ts_col, open_col, high_col, low_col, close_col, volume_col };

    SharedColumns cols;
    Scale scale;
    bool exact = false;
    std::string symbol;
    Duration timeframe_length{};
    mutable std::array<py::object, 6> arrays;  // made on first read

    Bars(SharedColumns c, Scale s, bool exact_values, std::string sym, Duration tf)
        : cols(std::move(c)), scale(s), exact(exact_values), symbol(std::move(sym)), timeframe_length(tf) {}

    const py::object& column(Column c) const {
        auto& a = arrays[c];
        if (!a) {
            const auto col = cols->col[c];
            if (c == ts_col) a = adopt(cols, col, ns_dtype());
            else if (exact) a = adopt(cols, col, i64_dtype());
            else a = scaled(col, c == volume_col ? scale.volume_decimals : scale.price_decimals);
        }
        return a;
    }
    py::ssize_t size() const { return static_cast<py::ssize_t>(cols->size()); }
    std::string timeframe() const { return format_timeframe(timeframe_length); }

    py::object to_pandas() const {
        auto pd = py::module_::import("pandas");
        py::dict frame;
        frame["open"] = column(open_col), frame["high"] = column(high_col), frame["low"] = column(low_col);
        frame["close"] = column(close_col), frame["volume"] = column(volume_col);
        auto index = pd.attr("DatetimeIndex")(column(ts_col), py::arg("name") = "ts").attr("tz_localize")("UTC");
        return pd.attr("DataFrame")(frame, py::arg("index") = index, py::arg("copy") = false);
    }
    py::object to_numpy() const {
        auto np = py::module_::import("numpy");
        const char* value = exact ? "i8" : "f8";
        py::list fields;
        fields.append(py::make_tuple("ts", "M8[ns]"));
        for (const char* name : {"open", "high", "low", "close", "volume"}) fields.append(py::make_tuple(name, value));
        py::object out = np.attr("empty")(size(), py::arg("dtype") = np.attr("dtype")(fields));
        out["ts"] = column(ts_col), out["open"] = column(open_col), out["high"] = column(high_col);
        out["low"] = column(low_col), out["close"] = column(close_col), out["volume"] = column(volume_col);
        return out;
    }
};

py::dict series_dict(const SeriesInfo& s, bool with_disk) {
    py::dict d;
    d["symbol"] = s.key.symbol;
    d["timeframe"] = format_timeframe(s.key.base);
    d["rows"] = s.rows;
    d["chunks"] = s.chunks;
    d["stored_bytes"] = s.stored_bytes;
    if (with_disk) d["disk_bytes"] = s.disk_bytes;
    d["generation"] = s.generation;
    d["first"] = s.rows ? datetime64_ns(s.first) : py::none();
    d["last"] = s.rows ? datetime64_ns(s.last) : py::none();
    d["price_decimals"] = s.scale.price_decimals;
    d["volume_decimals"] = s.scale.volume_decimals;
    d["session"] = format_session(s.session);
    return d;
}

const char* align_name(Alignment a) { return a == Alignment::utc ? "utc" : "session"; }

// ---- Store and Reader ---------------------------------------------------------------------------

Bars store_query(const Store& store, const std::string& symbol, py::handle timeframe, py::handle start, py::handle end,
                 py::handle last, py::handle as_of, bool include_forming, std::optional<std::string> align, bool exact) {
    QueryOptions q;
    q.timeframe = to_opt_timeframe(timeframe);
    q.from = to_opt_time(start, "start");
    q.to = to_opt_time(end, "end");
    q.as_of = to_opt_time(as_of, "as_of");
    if (!last.is_none()) q.last = to_count(last, "last");
    if (include_forming && !q.as_of) throw InvalidInput("include_forming needs as_of");
    q.include_forming = include_forming;
    q.align = to_align(align);
    SeriesInfo series;
    BarColumns bars;
    {
        py::gil_scoped_release unlocked;
        series = store.resolve(symbol, q.timeframe);
        bars = query(store, series.key, q);
    }
    return Bars(std::make_shared<const Columns>(std::move(bars)), series.scale, exact, symbol,
                q.timeframe.value_or(series.key.base));
}

py::list store_ingest(Store& store, py::handle paths, std::optional<std::string> symbol, py::handle timeframe,
                      std::optional<std::string> tz, bool replace, const std::string& format, const std::string& stamp,
                      std::optional<std::string> session, py::handle columns) {
    // As the CLI: an empty symbol must not quietly become the file name.
    if (symbol && symbol->empty())
        throw InvalidInput("symbol is empty; give a symbol, or leave it out to use each CSV file's name");
    LoadOptions load;
    load.parse.symbol = symbol.value_or("");
    load.parse.timeframe = to_opt_timeframe(timeframe);
    if (tz) load.parse.tz = *tz;
    if (stamp != "start" && stamp != "end") throw InvalidInput("stamp: expected 'start' or 'end' (got '" + stamp + "')");
    load.parse.stamp = stamp == "end" ? Stamp::end : Stamp::start;
    if (format == "auto") load.format = FileFormat::auto_detect;
    else if (format == "csv") load.format = FileFormat::csv;
    else if (format == "dbn") load.format = FileFormat::dbn;
    else throw InvalidInput("format: expected 'auto', 'csv' or 'dbn' (got '" + format + "')");
    if (session) load.session = parse_session(*session);
    load.mode = replace ? WriteMode::replace : WriteMode::append;
    // columns: "date,time,open,..." as on the command line, or a sequence of role names.
    if (!columns.is_none()) {
        if (py::isinstance<py::str>(columns)) {
            const auto text = columns.cast<std::string>();
            for (std::size_t start = 0;;) {
                const auto comma = text.find(',', start);
                load.parse.columns.push_back(text.substr(start, comma == std::string::npos ? comma : comma - start));
                if (comma == std::string::npos) break;
                start = comma + 1;
            }
        } else {
            for (const auto item : columns) load.parse.columns.push_back(py::cast<std::string>(item));
        }
    }
    py::list out;
    // Files are committed one by one, as the CLI does: a bad file raises, earlier files stay.
    for (const auto& file : to_paths(paths)) {
        std::vector<LoadedSeries> loaded;
        {
            py::gil_scoped_release unlocked;
            loaded = load_file(store, file, load);
        }
        std::uint64_t bars = 0;
        py::list series;
        for (const auto& s : loaded) {
            bars += s.bars;
            py::dict d;
            d["symbol"] = s.key.symbol;
            d["timeframe"] = format_timeframe(s.key.base);
            d["bars"] = s.bars;
            d["rounded_values"] = s.rounded_values;
            d["notes"] = s.notes;
            series.append(d);
        }
        py::dict f;
        f["file"] = file.string();
        f["bars"] = bars;
        f["series"] = series;
        out.append(f);
    }
    return out;
}

py::list store_prewarm(Store& store, py::handle symbols, py::handle timeframes, std::optional<std::string> align_text,
                       unsigned threads) {
    const auto align = to_align(align_text);
    std::vector<Duration> tfs;
    if (py::isinstance<py::str>(timeframes)) tfs.push_back(to_timeframe(timeframes));
    else for (auto tf : timeframes) tfs.push_back(to_timeframe(tf));
    const auto names = to_strings(symbols);
    py::list out;
    {
        // Every (series, spec) is resolved and put to the binner (resample of no bars) before the
        // first write, as `barstore prewarm` does, so a bad request writes nothing.
        std::vector<std::pair<SeriesInfo, std::vector<AggregateSpec>>> plans;
        std::vector<PrewarmOutcome> outcomes;
        {
            py::gil_scoped_release unlocked;
            for (const auto& symbol : names)
                for (const auto tf : tfs) {
                    const auto series = store.resolve(symbol, tf);
                    const AggregateSpec spec{tf, align.value_or(series.session.is_24x7() ? Alignment::utc : Alignment::session)};
                    (void)resample(BarColumns{}, series.key.base, spec.timeframe, spec.align, series.session);
                    auto it = plans.begin();
                    while (it != plans.end() && it->first.key != series.key) ++it;
                    if (it == plans.end()) it = plans.insert(plans.end(), {series, {}});
                    if (std::find(it->second.begin(), it->second.end(), spec) == it->second.end()) it->second.push_back(spec);
                }
            for (const auto& [series, specs] : plans)
                outcomes.push_back(store.prewarm(series.key, specs, PrewarmOptions{.threads = threads}));
        }
        for (std::size_t i = 0; i < plans.size(); ++i)
            for (const auto& item : outcomes[i].items) {
                py::dict d;
                d["symbol"] = plans[i].first.key.symbol;
                d["base"] = format_timeframe(plans[i].first.key.base);
                d["timeframe"] = format_timeframe(item.info.spec.timeframe);
                d["align"] = align_name(item.info.spec.align);
                d["built"] = item.built;
                d["bins"] = item.info.rows;
                d["stored_bytes"] = item.info.stored_bytes;
                out.append(d);
            }
    }
    return out;
}

/// A Reader and the series its calls resolved, re-resolved whenever the store's version moves
/// (a write may add a series or rescale one), so a lookup per call costs one version check,
/// and that version is handed to the Reader's call: one read transaction per Python call.
struct PyReader {
    const Store* store;
    Reader reader;
    std::uint64_t resolved_version = 0;
    std::map<std::pair<std::string, std::int64_t>, SeriesInfo> resolved;

    /// The last few timeframe arguments (str or timedelta: immutable, so the same object means
    /// the same length) and their lengths: a backtest passes the same constants every step.
    std::array<std::pair<py::object, Duration>, 4> timeframes;
    std::size_t next_timeframe = 0;

    PyReader(const Store& s, ReaderOptions opts) : store(&s), reader(s, std::move(opts)) {}

    Duration timeframe(py::handle obj) {
        for (const auto& [seen, length] : timeframes)
            if (seen.ptr() == obj.ptr()) return length;
        const auto length = to_timeframe(obj);
        timeframes[next_timeframe++ % timeframes.size()] = {py::reinterpret_borrow<py::object>(obj), length};
        return length;
    }

    /// A series as resolved at the store's version read now, and that version, for this call's
    /// Reader call (Reader::last_bars' store_version).
    struct Resolved {
        const SeriesInfo& info;
        std::uint64_t store_version;
    };
    Resolved series(const std::string& symbol, std::optional<Duration> tf) {
        const auto version = store->version();
        if (version != resolved_version) resolved.clear(), resolved_version = version;
        const auto k = std::make_pair(symbol, tf ? tf->count() : std::int64_t{0});
        auto it = resolved.find(k);
        if (it == resolved.end()) it = resolved.emplace(k, store->resolve(symbol, tf)).first;
        return {it->second, version};
    }
};

py::dict stats_dict(const ReaderStats& s) {
    py::dict d;
#define BARSTORE_STAT(name) d[#name] = s.name
    BARSTORE_STAT(hits); BARSTORE_STAT(misses); BARSTORE_STAT(evictions); BARSTORE_STAT(spills);
    BARSTORE_STAT(spill_hits); BARSTORE_STAT(spill_evictions); BARSTORE_STAT(spill_errors);
    BARSTORE_STAT(store_reads); BARSTORE_STAT(prewarmed_hits); BARSTORE_STAT(transients); BARSTORE_STAT(trims);
    BARSTORE_STAT(budget_bytes); BARSTORE_STAT(resident_bytes); BARSTORE_STAT(raw_bytes);
    BARSTORE_STAT(aggregate_bytes); BARSTORE_STAT(peak_resident_bytes); BARSTORE_STAT(raw_entries);
    BARSTORE_STAT(aggregate_entries); BARSTORE_STAT(spill_bytes); BARSTORE_STAT(spill_entries);
    BARSTORE_STAT(spill_disabled); BARSTORE_STAT(spill_disabled_reason);
#undef BARSTORE_STAT
    return d;
}

/// Runs a compact_to or snapshot_to call without the GIL (it copies the whole store) and returns
/// what it wrote as a dict.
template <class Copy>
py::dict copy_unlocked(Copy&& copy) {
    CopyInfo info;
    {
        py::gil_scoped_release unlocked;
        info = copy();
    }
    py::dict d;
    d["source_bytes"] = info.source_bytes;
    d["copy_bytes"] = info.copy_bytes;
    return d;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "barstore: a memory-mapped on-disk store of OHLCV bars (docs/python.md).";
    m.attr("__version__") = std::string(version());
    PyDateTime_IMPORT;  // the datetime C API, for to_time
    if (!PyDateTimeAPI) throw py::error_already_set();
    if (_import_array() < 0) throw py::error_already_set();  // numpy's C API, for datetime64 scalars

    exc_error = make_exception(m, "Error", py::make_tuple(py::handle(PyExc_Exception)),
                               "Base of every barstore error; the message is the library's.");
    exc_invalid_input = make_exception(m, "InvalidInput", py::make_tuple(py::handle(exc_error), py::handle(PyExc_ValueError)),
                                       "Fix the input or the call (a bad file, argument or bar; a write to a read-only store).");
    exc_not_found = make_exception(m, "NotFound", py::make_tuple(py::handle(exc_error), py::handle(PyExc_LookupError)),
                                   "Ask for something that exists (an unknown series; no store where a read-only open looked).");
    exc_corrupt_data = make_exception(m, "CorruptData", py::make_tuple(py::handle(exc_error)),
                                      "A stored byte is wrong: restore or re-ingest (Store.verify lists what).");
    exc_storage_full = make_exception(m, "StorageFull", py::make_tuple(py::handle(exc_error)),
                                      "Free space, or reopen with a larger map size.");
    exc_io_error = make_exception(m, "IoError", py::make_tuple(py::handle(exc_error), py::handle(PyExc_OSError)),
                                  "The OS or LMDB refused (permissions, no reader slot left, a network file system).");
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const InvalidInput& e) {
            PyErr_SetString(exc_invalid_input, e.what());
        } catch (const NotFound& e) {
            PyErr_SetString(exc_not_found, e.what());
        } catch (const CorruptData& e) {
            PyErr_SetString(exc_corrupt_data, e.what());
        } catch (const StorageFull& e) {
            PyErr_SetString(exc_storage_full, e.what());
        } catch (const IoError& e) {
            PyErr_SetString(exc_io_error, e.what());
        } catch (const Error& e) {
            PyErr_SetString(exc_error, e.what());
        }
    });

    py::class_<Bars>(m, "Bars",
                     "Bars of one query: numpy columns, oldest first. ts is datetime64[ns] (bin start, UTC); prices and "
                     "volume are float64, or int64 mantissas with exact=True (value = mantissa / price_scale).")
        .def_property_readonly("ts", [](const Bars& b) { return b.column(Bars::ts_col); })
        .def_property_readonly("open", [](const Bars& b) { return b.column(Bars::open_col); })
        .def_property_readonly("high", [](const Bars& b) { return b.column(Bars::high_col); })
        .def_property_readonly("low", [](const Bars& b) { return b.column(Bars::low_col); })
        .def_property_readonly("close", [](const Bars& b) { return b.column(Bars::close_col); })
        .def_property_readonly("volume", [](const Bars& b) { return b.column(Bars::volume_col); })
        .def_readonly("exact", &Bars::exact)
        .def_readonly("symbol", &Bars::symbol)
        .def_property_readonly("timeframe", &Bars::timeframe)
        .def_property_readonly("price_decimals", [](const Bars& b) { return b.scale.price_decimals; })
        .def_property_readonly("volume_decimals", [](const Bars& b) { return b.scale.volume_decimals; })
        .def_property_readonly("price_scale", [](const Bars& b) { return pow10(b.scale.price_decimals); },
                               "10**price_decimals: an exact price is mantissa / price_scale")
        .def_property_readonly("volume_scale", [](const Bars& b) { return pow10(b.scale.volume_decimals); },
                               "10**volume_decimals: an exact volume is mantissa / volume_scale")
        .def("__len__", &Bars::size)
        .def("__repr__", [](const Bars& b) {
            return "<barstore.Bars " + b.symbol + " " + b.timeframe() + ", " + std::to_string(b.size()) + " bars" +
                   (b.exact ? ", exact" : "") + ">";
        })
        .def("to_pandas", &Bars::to_pandas,
             "A pandas.DataFrame with a UTC DatetimeIndex named 'ts' and columns open, high, low, close, volume. "
             "Imports pandas (only now).")
        .def("to_numpy", &Bars::to_numpy,
             "A numpy structured array (ts, open, high, low, close, volume): a copy, one row per bar.");

    py::class_<Store>(m, "Store",
                      "A store: one directory (or a snapshot file). Safe to share between threads; the GIL is released "
                      "during ingest, query, prewarm and verify.")
        .def(py::init([](const std::filesystem::path& path, bool read_only, std::uint64_t map_size_bytes) {
                 py::gil_scoped_release unlocked;
                 return Store::open(path, StoreOptions{.read_only = read_only, .map_size_bytes = map_size_bytes});
             }),
             py::arg("path"), py::arg("read_only") = false, py::arg("map_size_bytes") = StoreOptions{}.map_size_bytes,
             "Opens the store in `path` (created when read_only is False). Raises NotFound (read-only, no store "
             "there), InvalidInput, IoError, StorageFull, CorruptData. map_size_bytes: the most the store may hold.")
        .def_property_readonly("path", [](const Store& s) { return s.path(); })
        .def("query", &store_query, py::arg("symbol"), py::arg("timeframe") = py::none(), py::arg("start") = py::none(),
             py::arg("end") = py::none(), py::arg("last") = py::none(), py::arg("as_of") = py::none(),
             py::arg("include_forming") = false, py::arg("align") = py::none(), py::arg("exact") = false,
             "Bars of `symbol` resampled to `timeframe` (default its base), as `barstore query` prints them.\n\n"
             "start/end: bin labels in [start, end); last: only the last N bins; as_of: only bins closed by then "
             "(include_forming adds the forming one); align: 'utc' or 'session' (default session when the series "
             "has one). Times: datetime (naive = UTC), numpy.datetime64, pandas.Timestamp or ISO 8601 text. "
             "timeframe: '5m', '5 minutes', 'hour', 'day', ... or a datetime.timedelta. exact=True gives int64 "
             "mantissas. Raises NotFound (unknown symbol), InvalidInput (bad argument).")
        .def("list", [](const Store& s) {
            py::list out;
            for (const auto& info : s.list()) out.append(series_dict(info, false));
            return out;
        }, "Every series in the store, as dicts (symbol, timeframe, rows, first, last, ...).")
        .def("info", [](const Store& s, const std::string& symbol, py::handle timeframe) {
            const auto series = s.resolve(symbol, to_opt_timeframe(timeframe));
            const auto info = s.info(series.key);
            if (!info) throw NotFound("no series '" + symbol + "' in " + s.path().string());
            py::dict d = series_dict(*info, true);
            py::list prewarmed;
            for (const auto& p : s.prewarmed(series.key)) {
                py::dict a;
                a["timeframe"] = format_timeframe(p.spec.timeframe);
                a["align"] = align_name(p.spec.align);
                a["bins"] = p.rows;
                a["stored_bytes"] = p.stored_bytes;
                a["current"] = p.current;
                prewarmed.append(a);
            }
            d["prewarmed"] = prewarmed;
            return d;
        }, py::arg("symbol"), py::arg("timeframe") = py::none(),
           "One series of `symbol` (the one query would read for `timeframe`) as a dict, with disk_bytes and its "
           "prewarmed aggregates. Raises NotFound.")
        .def("verify", [](const Store& s, bool deep) {
            std::vector<VerifyProblem> problems;
            {
                py::gil_scoped_release unlocked;
                problems = s.verify({.deep = deep});
            }
            py::list out;
            for (const auto& p : problems) {
                py::dict d;
                d["symbol"] = p.key.symbol;
                d["timeframe"] = format_timeframe(p.key.base);
                d["first"] = datetime64_ns(p.first);
                d["last"] = datetime64_ns(p.last);
                d["reason"] = p.reason;
                d["undecodable"] = p.undecodable;
                d["aggregate"] = p.aggregate ? py::object(py::str(format_timeframe(p.aggregate->timeframe) + " " +
                                                                  align_name(p.aggregate->align)))
                                             : py::none();
                out.append(d);
            }
            return out;
        }, py::arg("deep") = false,
           "Checks every chunk; returns a list of problems as dicts (empty: the store is sound).")
        .def("ingest", &store_ingest, py::arg("paths"), py::arg("symbol") = py::none(), py::arg("timeframe") = py::none(),
             py::arg("tz") = py::none(), py::arg("replace") = false, py::arg("format") = "auto", py::arg("stamp") = "start",
             py::arg("session") = py::none(), py::arg("columns") = py::none(),
             "Loads CSV or DBN files as `barstore ingest` does, one transaction per file (a bad file raises "
             "InvalidInput and leaves earlier files committed); gzip and zstd CSV are read by their bytes. "
             "columns: each CSV field's role by position ('date,time,open,high,low,close,volume,skip' or a list), "
             "as --columns. Returns a dict per file: file, bars, series.")
        .def("prewarm", &store_prewarm, py::arg("symbols"), py::arg("timeframes"), py::arg("align") = py::none(),
             py::arg("threads") = 0,
             "Computes aggregates once and stores them, as `barstore prewarm` does; returns a dict per aggregate "
             "(built False: it was current).")
        .def("snapshot", [](const Store& s, const std::filesystem::path& file) {
            return copy_unlocked([&] { return s.snapshot_to(file); });
        }, py::arg("file"),
           "Writes a read-only one-file copy of the store as of its newest commit to the new file `file`, as "
           "`barstore snapshot` does (docs/deploy.md); Store(file, read_only=True) opens it on any machine. "
           "Returns {'source_bytes', 'copy_bytes'}. Raises InvalidInput (`file` exists), StorageFull, IoError.")
        .def("compact", [](const Store& s, const std::filesystem::path& dir) {
            return copy_unlocked([&] { return s.compact_to(dir); });
        }, py::arg("dir"),
           "Writes a compacted copy of the store into the new or empty directory `dir`, as `barstore compact` "
           "does. Returns {'source_bytes', 'copy_bytes'}.")
        .def_property_readonly("is_snapshot", &Store::is_snapshot, "Whether this Store was opened from a snapshot file.");

    py::class_<PyReader>(m, "Reader",
                         "The resident cache for a backtest (docs/cache.md): the last N closed bars as of t, from "
                         "memory. One per thread; answers are copies, valid for as long as you keep them.")
        .def(py::init([](const Store& store, std::uint64_t budget_bytes, std::size_t history_bars, std::size_t lookahead_bars,
                         std::optional<std::filesystem::path> spill_dir, std::uint64_t spill_budget_bytes) {
                 ReaderOptions o;
                 o.budget_bytes = budget_bytes;
                 o.history_bars = history_bars;
                 o.lookahead_bars = lookahead_bars;
                 if (spill_dir) o.spill_dir = *spill_dir;
                 o.spill_budget_bytes = spill_budget_bytes;
                 return std::make_unique<PyReader>(store, std::move(o));
             }),
             py::keep_alive<1, 2>(),  // the Store must outlive its Reader
             py::arg("store"), py::arg("budget_bytes") = ReaderOptions{}.budget_bytes,
             py::arg("history_bars") = ReaderOptions{}.history_bars, py::arg("lookahead_bars") = ReaderOptions{}.lookahead_bars,
             py::arg("spill_dir") = py::none(), py::arg("spill_budget_bytes") = ReaderOptions{}.spill_budget_bytes)
        .def("bars", [](PyReader& r, const std::string& symbol, py::handle timeframe, py::handle n, py::handle as_of,
                        std::optional<std::string> align, bool exact) {
            const auto tf = r.timeframe(timeframe);
            const auto t = to_time(as_of, "as_of");
            const auto series = r.series(symbol, tf);
            // Copied: the view is valid only until the next call on the Reader, and N bars are small.
            // The GIL stays held: it is what keeps two Python threads off one Reader.
            auto bars = std::make_shared<const Columns>(r.reader.last_bars(series.info.key, tf, to_count(n, "n"), t,
                                                                           to_align(align), series.store_version));
            return Bars(std::move(bars), series.info.scale, exact, symbol, tf);
        }, py::arg("symbol"), py::arg("timeframe"), py::arg("n"), py::arg("as_of"), py::arg("align") = py::none(),
           py::arg("exact") = false,
           "The last n bins of `timeframe` that closed by as_of; equal to Store.query(symbol, timeframe, last=n, "
           "as_of=as_of). A copy: later calls do not change it.")
        .def("last_price", [](PyReader& r, const std::string& symbol, py::handle as_of, bool exact) -> py::object {
            const auto t = to_time(as_of, "as_of");
            const auto series = r.series(symbol, std::nullopt);
            const auto price = r.reader.last_price(series.info.key, t, series.store_version);
            if (!price) return py::none();
            if (exact) return py::int_(*price);
            return py::float_(static_cast<double>(*price) / std::pow(10.0, series.info.scale.price_decimals));
        }, py::arg("symbol"), py::arg("as_of"), py::arg("exact") = false,
           "Close of the last base bar that ended by as_of, or None.")
        .def_property_readonly("store", [](const PyReader& r) { return py::cast(r.store, py::return_value_policy::reference); },
                               "The Store this Reader reads (for its list() and info()).")
        .def("stats", [](const PyReader& r) { return stats_dict(r.reader.stats()); }, "Every counter of the Reader, as a dict.")
        .def("clear", [](PyReader& r) { r.reader.clear(); }, "Evicts every resident entry; counters are kept.");
}
