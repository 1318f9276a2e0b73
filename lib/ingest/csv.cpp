// ingest/csv.cpp: CSV bytes -> one validated SeriesBatch, the driver of the pieces in csv_*.cpp.
// Owns the order of the steps and so which problem is reported: the call's own arguments first,
// then the first problem in file order, whichever chunk or thread found it.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <filesystem>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <thread>

#include <date/tz.h>

#include "barstore/error.hpp"
#include "barstore/ingest.hpp"
#include "barstore/time.hpp"
#include "core/decimal_parse.hpp"
#include "ingest/csv_dialect.hpp"
#include "ingest/csv_internal.hpp"
#include "ingest/csv_rows.hpp"
#include "ingest/csv_text.hpp"

namespace barstore::csv_detail {

namespace {

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

// ---------------------------------------------------------------------------------------------
// Step 1: the call's own arguments. They are wrong whatever the file holds, so they go first.

struct Call {
    std::string symbol;                     // given, else each series' own (split_by_symbol)
    bool symbol_given = false;
    const date::time_zone* zone = nullptr;  // null: UTC, no tz lookups at all
    std::optional<Duration> stored_base;
    std::vector<Role> roles;                // --columns, empty: from the header
};

bool is_utc(const std::string& tz) { return tz == "UTC" || tz == "Etc/UTC"; }

// The name a CSV's series takes by default: the file's stem, past a compression suffix
// (`spy.csv.gz` is SPY's file as much as `spy.csv` is).
std::string default_symbol(const std::string& name) {
    std::filesystem::path p(name);
    for (const char* ext : {".gz", ".zst", ".zstd"})
        if (p.extension() == ext) p = p.stem();
    std::string symbol = p.stem().string();
    return symbol.empty() ? name : symbol;
}

Call check_call(const std::string& name, const ParseOptions& opts) {
    Call call;
    call.symbol = opts.symbol;
    call.symbol_given = !opts.symbol.empty();
    if (call.symbol_given) {
        try {
            validate_symbol(call.symbol);
        } catch (const InvalidInput& e) {
            throw InvalidInput(name + ": error: " + e.what());
        }
    }
    if (!is_utc(opts.tz)) {
        try {
            call.zone = date::locate_zone(opts.tz);
        } catch (const std::exception&) {
            throw_arg(name, "unknown --tz time zone, expected an IANA name such as America/New_York", opts.tz);
        }
    }
    if (opts.timeframe && opts.timeframe->count() <= 0)
        throw_arg(name, "--timeframe must be positive", std::to_string(opts.timeframe->count()) + "ns");
    call.roles = roles_from_columns(opts.columns, name);
    return call;
}

// The stored base of the resolved symbol: a symbol with several bases fails before any row
// is parsed.
void ask_stored_base(Call& call, const std::string& name, const ParseOptions& opts) {
    if (opts.timeframe || !opts.stored_base) return;
    try {
        call.stored_base = opts.stored_base(call.symbol);
    } catch (const InvalidInput& e) {
        throw InvalidInput(name + ": error: " + e.what());
    }
    if (call.stored_base && call.stored_base->count() <= 0)
        throw_arg(name, "stored base must be positive", std::to_string(call.stored_base->count()) + "ns");
}

// ---------------------------------------------------------------------------------------------
// Step 2b: the symbol column, read before the rows. Each symbol is its own series: a file of one
// symbol is parsed in place; a long-format file of several is cut into one text per symbol (or
// only --symbol's), each with the file's line number of every line, so messages name the file's
// lines whichever copy they were found in.

struct SymbolText {
    std::string symbol;
    std::string copy;                // empty: the caller's bytes, whole (one symbol)
    std::vector<std::size_t> lines;  // copy's data lines -> the file's line numbers
    std::size_t first_line = 0;      // file line of the symbol's first row, for the symbol's own errors
};

std::string_view symbol_field(std::string_view text, char delim, std::size_t col, bool& has) {
    const auto fields = split(text, delim);
    has = !text.empty() && col < fields.size();
    return has ? trim(fields[col], " \"") : std::string_view{};
}

std::vector<SymbolText> split_by_symbol(std::string_view data, const Dialect& dialect, const Call& call,
                                        const std::string& name, std::vector<std::string>& others) {
    const std::size_t col = dialect.layout.column[static_cast<std::size_t>(Role::symbol)];
    if (col == kNpos) {
        SymbolText one;
        if (call.symbol_given) {
            one.symbol = call.symbol;
        } else {
            if (name == "<stdin>")
                throw InvalidInput(name + ": error: standard input has no file name to take a symbol from: pass --symbol");
            one.symbol = default_symbol(name);
            try {
                validate_symbol(one.symbol);
            } catch (const InvalidInput& e) {
                throw InvalidInput(name + ": error: " + e.what() + " (the default symbol is the file name's stem; pass --symbol)");
            }
        }
        return {std::move(one)};
    }
    const char* const e = data.data() + data.size();
    const char delim = dialect.layout.delim;
    // Pass 1: the symbols, in order of first appearance; `index` keeps both passes linear in
    // the rows however many symbols a file has.
    std::vector<SymbolText> out;
    std::map<std::string, std::size_t, std::less<>> index;
    std::size_t line = dialect.first_data_line;
    for (const char* p = dialect.data_begin; p < e; ++line) {
        const char* eol = line_end(p, e);
        bool has = false;
        const auto sym = symbol_field(line_text(p, eol), delim, col, has);
        p = std::min(eol + 1, e);
        if (!has) continue;
        if (call.symbol_given && sym != call.symbol) {
            if (others.size() < 5 && std::find(others.begin(), others.end(), sym) == others.end()) others.emplace_back(sym);
            continue;
        }
        if (index.try_emplace(std::string(sym), out.size()).second) {
            SymbolText t;
            t.symbol = sym;
            t.first_line = line;
            out.push_back(std::move(t));
        }
    }
    if (out.empty()) return out;  // the caller says so if no block had a row of a kept symbol
    for (const auto& t : out) {
        try {
            validate_symbol(t.symbol);
        } catch (const InvalidInput&) {
            // Not validate_symbol's message: it quotes the symbol raw, and this one is file bytes.
            throw_at(name, t.first_line, "symbol column: a symbol is 1 to 64 bytes of printable UTF-8", t.symbol);
        }
    }
    if (out.size() == 1 && others.empty()) return out;  // every row is this symbol's: no copy

    // Pass 2: each symbol's lines into its own text, after the file's own first lines (BOM,
    // header), which detect_dialect read. A line without a symbol field goes to every text,
    // so its field count is reported whichever symbol is parsed.
    const std::string_view head(data.data(), static_cast<std::size_t>(dialect.data_begin - data.data()));
    for (auto& t : out) t.copy.assign(head);
    line = dialect.first_data_line;
    for (const char* p = dialect.data_begin; p < e; ++line) {
        const char* eol = line_end(p, e);
        const auto text = line_text(p, eol);
        const char* next = std::min(eol + 1, e);
        bool has = false;
        const auto sym = symbol_field(text, delim, col, has);
        const auto add = [&](SymbolText& t) {
            t.copy.append(p, next);
            t.lines.push_back(line);
        };
        if (!text.empty() && !has) {
            for (auto& t : out) add(t);
        } else if (has) {
            if (const auto it = index.find(sym); it != index.end()) add(out[it->second]);
        }
        p = next;
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Step 3: cut the data lines into chunks, one per thread, for the row parser's contract.

struct Chunks {
    std::vector<const char*> bounds;  // chunk i is [bounds[i], bounds[i + 1]), in the caller's bytes
    std::string tail;                 // the lines after bounds.back(), with a '\n' and kPad zero bytes
    std::size_t tail_len = 0;         // bytes of `tail` before the padding
    bool unterminated = false;        // the file's last line had no '\n' (tail got one)
    std::size_t count() const { return bounds.size() - 1; }
};

Chunks split_into_chunks(std::string_view data, const char* ds, const Tuning& tuning) {
    const char* const e = data.data() + data.size();
    Chunks chunks;
    // The last lines go to a padded copy, so fixed-width peeks in the big range stay inside the
    // buffer and a last line without newline gets one.
    const char* cut = ds;
    if (e - ds > static_cast<std::ptrdiff_t>(kPad)) {
        const char* limit = e - kPad;
        const auto* nl = static_cast<const char*>(memrchr(ds, '\n', static_cast<std::size_t>(limit - ds)));
        cut = nl ? nl + 1 : ds;
    }
    chunks.tail.assign(cut, e);
    chunks.unterminated = !chunks.tail.empty() && chunks.tail.back() != '\n';
    if (chunks.unterminated) chunks.tail += '\n';
    chunks.tail_len = chunks.tail.size();
    chunks.tail.append(kPad, '\0');

    // Split the big range at line starts, one chunk per thread.
    const auto main_len = static_cast<std::size_t>(cut - ds);
    std::size_t threads = 1;
    if (data.size() > tuning.parallel_min_bytes) {
        const unsigned hw = tuning.threads ? tuning.threads : std::min(std::max(std::thread::hardware_concurrency(), 1u), 8u);
        threads = std::min<std::size_t>(hw, std::max<std::size_t>(1, main_len / std::max<std::size_t>(tuning.min_chunk_bytes, 1)));
    }
    chunks.bounds.push_back(ds);
    for (std::size_t i = 1; i < threads; ++i) {
        const char* t = std::max(ds + main_len * i / threads, chunks.bounds.back());
        const auto* nl = static_cast<const char*>(std::memchr(t, '\n', static_cast<std::size_t>(cut - t)));
        if (nl && nl + 1 < cut && nl + 1 > chunks.bounds.back()) chunks.bounds.push_back(nl + 1);
    }
    chunks.bounds.push_back(cut);
    return chunks;
}

// ---------------------------------------------------------------------------------------------
// Step 4: one row parser per chunk, run in parallel.

// Columns are reserved once, from the rows per byte of the first lines: growing them while
// parsing would copy hundreds of MB.
std::vector<ChunkParser> make_parsers(std::string_view data, const Dialect& dialect, const Chunks& chunks,
                                      const Call& call, const std::string& tz_name, ColumnPool* pool) {
    const char* const ds = dialect.data_begin;
    const char* const e = data.data() + data.size();
    std::size_t sample_lines = 0;
    const char* sample_end = ds;
    while (sample_lines < 64 && sample_end < e) {
        sample_end = std::min(line_end(sample_end, e) + 1, e);
        ++sample_lines;
    }
    const double bytes_per_row = sample_lines ? static_cast<double>(sample_end - ds) / static_cast<double>(sample_lines) : 64.0;
    const auto estimate = [&](std::size_t bytes) {
        // No row is shorter than `1,1,1,1,1,1\n`, so blank or odd first lines cannot make this explode.
        return static_cast<std::size_t>(static_cast<double>(bytes) / std::max(bytes_per_row, 12.0) * 1.02) + 16;
    };
    const auto& bounds = chunks.bounds;
    std::vector<ChunkParser> parsers;
    parsers.reserve(chunks.count());
    for (std::size_t i = 0; i < chunks.count(); ++i) {
        // The first chunk's columns become the result, so they reserve for the whole file.
        const std::size_t rows =
            estimate(i == 0 ? static_cast<std::size_t>(e - ds) : static_cast<std::size_t>(bounds[i + 1] - bounds[i]));
        parsers.emplace_back(dialect.layout, call.zone, tz_name, rows, pool ? pool->take(rows) : BarColumns{});
    }
    return parsers;
}

// Chunk 0 runs on the calling thread and reports progress for all (chunks are equal in size);
// the last chunk also parses the padded tail. An exception in any chunk is rethrown, the
// first chunk's first; a row error stays in its parser for merge_chunks.
void parse_chunks(std::vector<ChunkParser>& parsers, const Chunks& chunks, std::string_view data, const char* ds,
                  const ProgressFn& progress) {
    const std::size_t nchunks = chunks.count();
    std::atomic<std::size_t> first_failed{kNpos};
    const std::uint64_t total_bytes = data.size();
    for (std::size_t i = 0; i < nchunks; ++i) {
        if (i == 0) {
            parsers[0].checkpoint = [&](const char* p) {
                if (progress) {
                    const auto done = static_cast<std::uint64_t>(ds - data.data()) +
                                      static_cast<std::uint64_t>(p - ds) * nchunks;
                    progress(std::min(done, total_bytes), total_bytes);
                }
                return true;
            };
        } else {
            // A chunk after one that failed is wasted work: the earlier error wins anyway.
            parsers[i].checkpoint = [&first_failed, i](const char*) { return first_failed.load(std::memory_order_relaxed) > i; };
        }
    }
    std::vector<std::exception_ptr> thrown(nchunks);
    const auto run = [&](std::size_t i) {
        bool failed = false;
        try {
            auto& cp = parsers[i];
            bool ok = cp.parse(chunks.bounds[i], chunks.bounds[i + 1], false);
            if (ok && i + 1 == nchunks)
                ok = cp.parse(chunks.tail.data(), chunks.tail.data() + chunks.tail_len, chunks.unterminated);
            failed = !ok && cp.error.has_value();  // not ok without an error: cancelled
        } catch (...) {
            thrown[i] = std::current_exception();
            failed = true;
        }
        if (!failed) return;
        std::size_t cur = first_failed.load();
        while (i < cur && !first_failed.compare_exchange_weak(cur, i)) {
        }
    };
    {
        std::vector<std::jthread> workers;
        workers.reserve(nchunks);
        for (std::size_t i = 1; i < nchunks; ++i) workers.emplace_back(run, i);
        run(0);
    }  // joins
    for (auto& t : thrown)
        if (t) std::rethrow_exception(t);
}

// ---------------------------------------------------------------------------------------------
// Step 5: merge the chunks into one set of columns at one scale.

struct Pending {
    std::size_t row;   // global index of the bad row
    std::size_t line;  // 0: look it up
    std::string reason, got;
};

struct Merged {
    BarColumns bars;
    int price_decimals = 0, volume_decimals = 0;
    std::uint64_t rounded_values = 0;
    std::optional<Pending> pending;  // the first row error in file order, if any
};

// Appends src to dst, multiplying prices by 10^kp and volumes by 10^kv. Returns the index in
// src of the first row that overflows (rows before it are appended), or kNpos.
std::size_t append_rescaled(BarColumns& dst, const BarColumns& src, int kp, int kv) {
    if (kp == 0 && kv == 0) {
        dst.append(src, 0, src.size());
        return kNpos;
    }
    const std::int64_t fp = decimal_core::pow10(kp), fv = decimal_core::pow10(kv);
    const std::size_t n = src.size();
    for (std::size_t i = 0; i < n; ++i) {
        std::int64_t o, h, l, c, v;
        if (__builtin_mul_overflow(src.open[i], fp, &o) || __builtin_mul_overflow(src.high[i], fp, &h) ||
            __builtin_mul_overflow(src.low[i], fp, &l) || __builtin_mul_overflow(src.close[i], fp, &c) ||
            __builtin_mul_overflow(src.volume[i], fv, &v))
            return i;
        dst.ts.push_back(src.ts[i]);
        dst.open.push_back(o);
        dst.high.push_back(h);
        dst.low.push_back(l);
        dst.close.push_back(c);
        dst.volume.push_back(v);
    }
    return kNpos;
}

// Chunks up to the first failed one, all at the finest scale any of them saw. nullopt when only
// a serial parse can tell the right error: which row a scale overflow blames, and at how many
// decimals, depends on the order values were seen in, and a chunk after the first saw only part
// of that order (rare: values near 9.2e18 / 10^decimals).
std::optional<Merged> merge_chunks(std::vector<ChunkParser>& parsers, std::size_t first_data_line) {
    const std::size_t nchunks = parsers.size();
    std::size_t used = nchunks;
    for (std::size_t i = 0; i < nchunks; ++i)
        if (parsers[i].error) {
            used = i + 1;
            break;
        }
    if (used > 1 && parsers[used - 1].error && parsers[used - 1].error->scale) return std::nullopt;
    Merged m;
    for (std::size_t i = 0; i < used; ++i) {
        m.rounded_values += parsers[i].rounded_values;
        m.price_decimals = std::max(m.price_decimals, parsers[i].price_decimals);
        m.volume_decimals = std::max(m.volume_decimals, parsers[i].volume_decimals);
    }
    {
        std::size_t row_base = 0, line_base = first_data_line;
        for (std::size_t i = 0; i < used; ++i) {
            if (const auto& er = parsers[i].error)
                m.pending = Pending{row_base + er->row, er->line ? line_base + er->line - 1 : 0, er->reason, er->got};
            row_base += parsers[i].bars.size();
            line_base += parsers[i].lines;
        }
    }
    m.bars = std::move(parsers[0].bars);
    if (m.price_decimals != parsers[0].price_decimals || m.volume_decimals != parsers[0].volume_decimals) {
        BarColumns scaled;
        scaled.reserve(m.bars.ts.capacity());
        const auto bad = append_rescaled(scaled, m.bars, m.price_decimals - parsers[0].price_decimals,
                                         m.volume_decimals - parsers[0].volume_decimals);
        if (bad != kNpos) return std::nullopt;
        m.bars = std::move(scaled);
    }
    for (std::size_t i = 1; i < used; ++i) {
        const auto& cp = parsers[i];
        if (append_rescaled(m.bars, cp.bars, m.price_decimals - cp.price_decimals,
                            m.volume_decimals - cp.volume_decimals) != kNpos)
            return std::nullopt;
    }
    return m;
}

// ---------------------------------------------------------------------------------------------
// Steps 6-8: errors and checks on the merged bars, each blaming a line of the file.

// Problems found on a bar by index are reported with that bar's line, found by walking the
// lines again: the row parser keeps no line numbers, which would cost on every row.
class RowReporter {
public:
    /// `lines`: for a symbol's copy of a long-format file, the file's line of each data line.
    RowReporter(std::string_view data, const Dialect& dialect, const std::string& name,
                const std::vector<std::size_t>& lines)
        : data_(data), dialect_(dialect), name_(name), lines_(lines) {}

    [[noreturn]] void fail(std::size_t row, const std::string& reason) const {
        std::string_view text;
        const std::size_t line = find(row, text);
        throw_at(name_, line, reason, text);
    }
    /// The file line of row `row`, and its text (copied: the caller may keep it past the block).
    std::size_t line_of(std::size_t row, std::string& text) const {
        std::string_view t;
        const std::size_t line = find(row, t);
        text.assign(t);
        return line;
    }
    [[noreturn]] void fail_at_line(std::size_t line, const std::string& reason, std::string_view got) const {
        throw_at(name_, file_line(line), reason, got);
    }

private:
    std::size_t find(std::size_t row, std::string_view& text) const {
        const char* const e = data_.data() + data_.size();
        std::size_t line = dialect_.first_data_line, seen = 0;
        for (const char* p = dialect_.data_begin; p < e; ++line) {
            const char* eol = line_end(p, e);
            text = line_text(p, eol);
            if (!text.empty() && seen++ == row) return file_line(line);
            p = eol + 1;
        }
        text = {};
        return file_line(line);
    }
    std::size_t file_line(std::size_t line) const {
        if (lines_.empty() || line < dialect_.first_data_line) return line;
        const std::size_t i = line - dialect_.first_data_line;
        return i < lines_.size() ? lines_[i] : lines_.back() + 1;
    }
    std::string_view data_;
    const Dialect& dialect_;
    const std::string& name_;
    const std::vector<std::size_t>& lines_;
};

// A row error is reported after any broken invariant on an earlier row: that comes first in
// file order. Returns if there is no row error.
// check_bars, and the first bar against the one before it (the block before's last): that comes
// right after the first bar's own checks, in file order. `prev`: nullopt for a file's first bar.
std::optional<BarProblem> check_after(const BarColumns& bars, Duration base, std::optional<std::int64_t> prev) {
    auto problem = check_bars(bars, base);
    if (prev && !bars.empty() && !(problem && problem->index == 0)) {
        if (bars.ts[0] == *prev) return BarProblem{0, "duplicate timestamp"};
        if (bars.ts[0] < *prev) return BarProblem{0, "timestamp goes backwards"};
    }
    return problem;
}

void report_row_error(Merged& m, const RowReporter& rows, std::optional<std::int64_t> prev) {
    if (!m.pending) return;
    const Pending& pending = *m.pending;
    if (pending.row < m.bars.size())
        for (auto* col : {&m.bars.ts, &m.bars.open, &m.bars.high, &m.bars.low, &m.bars.close, &m.bars.volume})
            col->resize(pending.row);
    if (const auto problem = check_after(m.bars, Duration{0}, prev)) rows.fail(problem->index, problem->reason);
    if (pending.line) rows.fail_at_line(pending.line, pending.reason, pending.got);
    rows.fail(pending.row, pending.reason);
}

// With Stamp::end a stamp T means the bar [T - tf, T); the store keys bars by their start.
void shift_end_stamps(BarColumns& bars, Duration tf, const RowReporter& rows) {
    const auto step = tf.count();
    for (std::size_t i = 0; i < bars.size(); ++i)
        if (__builtin_sub_overflow(bars.ts[i], step, &bars.ts[i]))
            rows.fail(i, "timestamp minus the timeframe is before 1677");
}

// The store's invariants, with the fix named when an update is off the stored series' base.
void check_merged(const BarColumns& bars, Duration tf, const Call& call, const RowReporter& rows,
                  std::optional<std::int64_t> prev) {
    if (const auto problem = check_after(bars, tf, prev)) {
        if (problem->misaligned && call.stored_base)
            rows.fail(problem->index, "timestamp not aligned to the " + format_timeframe(tf) +
                                          " base of the stored series " + call.symbol + " " + format_timeframe(tf) +
                                          " (a new base for " + call.symbol + " needs --timeframe)");
        rows.fail(problem->index, problem->reason);
    }
}

Tuning serial(Tuning tuning) {
    tuning.threads = 1;
    tuning.parallel_min_bytes = kNpos;
    return tuning;
}

// ---------------------------------------------------------------------------------------------
// Blocks: a file is read and parsed a block of lines at a time, so memory follows the block
// size, not the file's. What one block must know of those before it is kept per symbol.

struct SeriesState {
    bool asked = false;                   // the stored base was asked (once per symbol)
    std::optional<Duration> stored_base;
    std::optional<Duration> base;         // --timeframe, the stored base, or inferred so far
    bool any = false;                     // bars were handed out
    std::int64_t last_stamp = 0;          // the last bar's stamp as written (before --stamp end)
    // A symbol's first bar alone in its block: held until a later bar gives a step to infer the
    // base from (a long-format file cut into blocks can leave a symbol one row in a block).
    std::optional<SeriesBatch> held;
    std::size_t held_line = 0;
    std::string held_text;
    bool noted = false;                   // the file's notes went with the first piece
};

// The stamp (as written) of the bar before the next block's first, if there is one.
std::optional<std::int64_t> prev_stamp(const SeriesState& st) {
    if (st.held) return st.held->bars.ts[0];
    if (st.any) return st.last_stamp;
    return std::nullopt;
}

struct StreamState {
    Call call;
    Dialect dialect;              // as detected on the first block; data_begin is per block
    std::string first_text;       // dialect.first_text, owned: blocks move
    std::map<std::string, SeriesState, std::less<>> series;
    std::vector<std::string> others;  // symbols passed over by --symbol, for the message when none match
    std::size_t line = 0;         // file line number of the current block's first line
    bool any_rows = false;
};

std::vector<std::string> file_notes(const Dialect& dialect) {
    std::vector<std::string> notes;
    if (!dialect.unstored_columns.empty()) {
        std::string names;
        for (const auto& c : dialect.unstored_columns) names += (names.empty() ? "" : ", ") + (c.empty() ? "(unnamed)" : c);
        notes.push_back("columns not stored: " + names);
    }
    if (dialect.layout.column[static_cast<std::size_t>(Role::volume)] == kNpos)
        notes.push_back("no volume column: volume stored as 0");
    return notes;
}

// The smallest step forward between neighbours (and from the bar before the block), or 0.
std::int64_t smallest_step(const BarColumns& bars, const SeriesState& st, std::size_t& at) {
    std::uint64_t best = std::numeric_limits<std::uint64_t>::max();
    at = 0;
    const auto consider = [&](std::int64_t a, std::int64_t b, std::size_t i) {
        if (b > a && static_cast<std::uint64_t>(b) - static_cast<std::uint64_t>(a) < best) {
            best = static_cast<std::uint64_t>(b) - static_cast<std::uint64_t>(a);
            at = i;
        }
    };
    if (st.any) consider(st.last_stamp, bars.ts[0], 0);
    if (st.held) consider(st.held->bars.ts[0], bars.ts[0], 0);
    for (std::size_t i = 1; i < bars.size(); ++i) consider(bars.ts[i - 1], bars.ts[i], i);
    return best > static_cast<std::uint64_t>(kInt64Max) ? 0 : static_cast<std::int64_t>(best);
}

// The base of this block's bars: --timeframe, else the stored series', else the smallest step
// seen so far (1m bars with gaps still say 1m). A later block with a smaller step lowers an
// inferred base to the greatest common divisor of the two, which every earlier bar is on too.
// nullopt: a first lone bar, no step yet.
std::optional<Duration> block_base(const BarColumns& bars, const ParseOptions& opts, SeriesState& st,
                                   const RowReporter& rows) {
    if (opts.timeframe) return *opts.timeframe;
    if (st.stored_base) return *st.stored_base;
    std::size_t at = 0;
    const std::int64_t step = smallest_step(bars, st, at);
    if (step == 0) {
        if (st.base) return st.base;
        if (bars.size() == 1 && !st.any) return std::nullopt;
        // No step forward at all: check_bars names the duplicate or backwards row.
        if (const auto problem = check_after(bars, Duration{0}, prev_stamp(st))) rows.fail(problem->index, problem->reason);
        rows.fail(1, "cannot infer the timeframe; pass --timeframe");
    }
    if (!st.base || step == st.base->count()) {
        if (!st.base) st.base = Duration{step};
        return st.base;
    }
    if (step > st.base->count()) return st.base;
    // The bars before were shifted by the old base already.
    if (opts.stamp == Stamp::end)
        rows.fail(at, "a step of " + format_timeframe(Duration{step}) + " is smaller than the " + format_timeframe(*st.base) +
                          " timeframe inferred from the rows before it, and --stamp end shifted those by it; pass --timeframe");
    // Every earlier bar is a multiple of the old base, so of any divisor of it: the series is
    // renamed to the largest base both the earlier bars and this step are on.
    st.base = Duration{std::gcd(st.base->count(), step)};
    return st.base;
}

// Steps 3-8 for one symbol's text in one block: its rows into validated pieces, in order (a held
// first bar, then the block's). nullopt when the parallel merge needs a serial parse to name its
// error (merge_chunks).
std::optional<std::vector<SeriesBatch>> parse_series(std::string_view data, const Dialect& dialect, Call call,
                                                     const std::vector<std::size_t>& lines, const std::string& name,
                                                     const ParseOptions& opts, const Tuning& tuning, SeriesState& st) {
    if (!st.asked) {
        ask_stored_base(call, name, opts);
        st.stored_base = call.stored_base;
        st.asked = true;
    }
    call.stored_base = st.stored_base;
    const Chunks chunks = split_into_chunks(data, dialect.data_begin, tuning);
    auto parsers = make_parsers(data, dialect, chunks, call, opts.tz, opts.column_pool);
    parse_chunks(parsers, chunks, data, dialect.data_begin, opts.progress);
    auto merged = merge_chunks(parsers, dialect.first_data_line);
    if (opts.column_pool)  // the other chunks' columns were copied into the first's
        for (std::size_t i = 1; i < parsers.size(); ++i) opts.column_pool->give(std::move(parsers[i].bars));
    if (!merged) return std::nullopt;

    const RowReporter rows(data, dialect, name, lines);
    BarColumns& bars = merged->bars;
    report_row_error(*merged, rows, prev_stamp(st));
    std::vector<SeriesBatch> out;
    if (bars.empty()) return out;
    const auto tf = block_base(bars, opts, st, rows);
    if (!tf) {
        st.held = SeriesBatch{SeriesKey{call.symbol, Duration{0}}, Scale{merged->price_decimals, merged->volume_decimals},
                              std::move(bars), merged->rounded_values};
        st.held_line = rows.line_of(0, st.held_text);
        return out;
    }
    if (st.held) {
        SeriesBatch h = std::move(*st.held);
        st.held.reset();
        if (opts.stamp == Stamp::end && __builtin_sub_overflow(h.bars.ts[0], tf->count(), &h.bars.ts[0]))
            throw_at(name, st.held_line, "timestamp minus the timeframe is before 1677", st.held_text);
        if (const auto problem = check_bars(h.bars, *tf)) throw_at(name, st.held_line, problem->reason, st.held_text);
        h.key.base = *tf;
        st.any = true;
        out.push_back(std::move(h));
    }
    const std::int64_t last_stamp = bars.ts.back();
    auto prev = prev_stamp(st);  // the held bar went out above, shifted already
    if (!out.empty()) prev = out.back().bars.ts[0];
    if (opts.stamp == Stamp::end) {
        shift_end_stamps(bars, *tf, rows);
        if (prev && out.empty()) *prev -= tf->count();  // passed this very shift before
    }
    check_merged(bars, *tf, call, rows, prev);
    st.any = true;
    st.last_stamp = last_stamp;
    out.push_back(SeriesBatch{SeriesKey{std::move(call.symbol), *tf}, Scale{merged->price_decimals, merged->volume_decimals},
                              std::move(bars), merged->rounded_values, std::nullopt, {}});
    return out;
}

// One block of whole lines: every symbol's pieces go to `fn` in file order of their symbols'
// first rows. Every symbol is parsed; of their errors the one on the file's earliest line is
// thrown, as a file of one symbol reports its first problem in file order.
void parse_block(std::string_view block, StreamState& state, const std::string& name, const ParseOptions& opts,
                 const Tuning& tuning, const PieceFn& fn, const ProgressFn& progress) {
    Dialect d = state.dialect;
    d.data_begin = block.data() + (state.line == 0 ? state.dialect.data_begin - block.data() : 0);
    d.first_data_line = state.line == 0 ? state.dialect.first_data_line : state.line;
    d.first_text = state.first_text;
    const auto texts = split_by_symbol(block, d, state.call, name, state.others);
    ParseOptions each = opts;
    // Progress is per text; with several it would run from 0 to done once per symbol.
    each.progress = texts.size() == 1 ? progress : nullptr;
    std::optional<LineError> first_error;
    std::vector<std::vector<SeriesBatch>> pieces;
    pieces.reserve(texts.size());
    for (const auto& t : texts) {
        const std::string_view text = t.copy.empty() ? block : std::string_view(t.copy);
        Dialect td = d;
        td.data_begin = text.data() + (d.data_begin - block.data());
        Call c = state.call;
        c.symbol = t.symbol;
        auto& st = state.series.try_emplace(t.symbol).first->second;
        try {
            auto got = parse_series(text, td, c, t.lines, name, each, tuning, st);
            if (!got) got = parse_series(text, td, c, t.lines, name, each, serial(tuning), st);
            if (!got) throw Error(Errc::internal, name + ": a serial CSV parse asked for a serial parse");
            pieces.push_back(std::move(*got));
        } catch (const LineError& e) {
            if (texts.size() == 1) throw;
            if (!first_error || e.line() < first_error->line()) first_error = e;
        }
    }
    if (first_error) throw *first_error;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        auto& st = state.series.find(texts[i].symbol)->second;
        for (auto& piece : pieces[i]) {
            state.any_rows = true;
            if (!st.noted) {
                piece.notes = file_notes(state.dialect);
                st.noted = true;
            }
            fn(std::move(piece));
        }
        if (st.held) state.any_rows = true;
    }
}

// After the last block: what no single block could tell.
void finish_stream(const StreamState& state, const std::string& name) {
    for (const auto& [symbol, st] : state.series)
        if (st.held) throw_at(name, st.held_line, "cannot infer the timeframe from a single bar; pass --timeframe", st.held_text);
    if (state.any_rows) return;
    const bool by_column = state.dialect.layout.column[static_cast<std::size_t>(Role::symbol)] != kNpos;
    if (!by_column || !state.call.symbol_given) throw_at(name, state.dialect.first_line, "header but no data rows", state.first_text);
    std::string list;
    for (const auto& o : state.others) list += (list.empty() ? "" : ", ") + printable(o);
    throw_arg(name, "no row has symbol " + state.call.symbol + " in the symbol column" +
                        (list.empty() ? std::string() : " (it holds " + list + (state.others.size() == 5 ? ", ..." : "") + ")"),
              state.call.symbol);
}

// The whole lines of the next block: up to `block_bytes`, cut after the last newline in it
// (or after the first one past it, for a line longer than a block).
std::size_t cut_block(std::string_view rest, std::size_t block_bytes, bool at_end) {
    if (rest.size() <= block_bytes && at_end) return rest.size();
    const std::size_t upto = std::min(rest.size(), block_bytes);
    if (const auto* nl = static_cast<const char*>(memrchr(rest.data(), '\n', upto))) return static_cast<std::size_t>(nl - rest.data()) + 1;
    if (const auto* nl = static_cast<const char*>(std::memchr(rest.data() + upto, '\n', rest.size() - upto)))
        return static_cast<std::size_t>(nl - rest.data()) + 1;
    return at_end ? rest.size() : 0;  // 0: no newline yet, read more
}

}  // namespace

void stream_csv(TextSource& source, const std::string& name, const ParseOptions& opts, const Tuning& tuning,
                const PieceFn& fn) {
    StreamState state;
    state.call = check_call(name, opts);
    bool first = true;
    for (;;) {
        const std::uint64_t before = source.done_bytes();
        const auto [block, at_end] = source.next(tuning.block_bytes, cut_block);
        if (first) {
            state.dialect = detect_dialect(block, name, state.call.roles);
            state.first_text = std::string(state.dialect.first_text);
        }
        // The parser's progress through the block, as a share of the input the block took.
        ProgressFn progress;
        if (opts.progress)
            progress = [&, before, after = source.done_bytes()](std::uint64_t done, std::uint64_t total) {
                const double share = total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
                opts.progress(before + static_cast<std::uint64_t>(static_cast<double>(after - before) * share),
                              source.total_bytes());
            };
        parse_block(block, state, name, opts, tuning, fn, progress);
        first = false;
        state.line = (state.line == 0 ? 1 : state.line) +
                     static_cast<std::size_t>(std::count(block.data(), block.data() + block.size(), '\n'));
        if (opts.progress) opts.progress(source.done_bytes(), source.total_bytes());
        if (at_end) break;
    }
    finish_stream(state, name);
}

namespace {

// An in-memory text cut into blocks.
class ViewSource final : public TextSource {
public:
    explicit ViewSource(std::string_view data) : data_(data) {}
    Block next(std::size_t block_bytes, CutFn cut) override {
        const auto rest = data_.substr(pos_);
        const std::size_t n = cut(rest, block_bytes, true);
        pos_ += n;
        return {rest.substr(0, n), pos_ == data_.size()};
    }
    std::uint64_t done_bytes() const override { return pos_; }
    std::uint64_t total_bytes() const override { return data_.size(); }

private:
    std::string_view data_;
    std::size_t pos_ = 0;
};

// The pieces of each series joined into one batch, at the finest scale any piece had.
void join(std::vector<SeriesBatch>& out, std::map<std::string, std::size_t, std::less<>>& index, SeriesBatch&& piece) {
    const auto [it, fresh] = index.try_emplace(piece.key.symbol, out.size());
    if (fresh) {
        out.push_back(std::move(piece));
        return;
    }
    SeriesBatch& b = out[it->second];
    b.key = piece.key;  // a lowered inferred base holds for the earlier pieces too
    b.rounded_values += piece.rounded_values;
    const Scale to{std::max(b.scale.price_decimals, piece.scale.price_decimals),
                   std::max(b.scale.volume_decimals, piece.scale.volume_decimals)};
    const auto fail = [&] {
        throw InvalidInput(piece.key.symbol + ": a value does not fit int64 at " + std::to_string(to.price_decimals) +
                           " price decimals and " + std::to_string(to.volume_decimals) + " volume decimals");
    };
    if (to != b.scale) {
        BarColumns scaled;
        scaled.reserve(b.bars.size() + piece.bars.size());
        if (append_rescaled(scaled, b.bars, to.price_decimals - b.scale.price_decimals,
                            to.volume_decimals - b.scale.volume_decimals) != kNpos)
            fail();
        b.bars = std::move(scaled);
        b.scale = to;
    }
    if (append_rescaled(b.bars, piece.bars, to.price_decimals - piece.scale.price_decimals,
                        to.volume_decimals - piece.scale.volume_decimals) != kNpos)
        fail();
}

}  // namespace

std::vector<SeriesBatch> parse_csv(std::string_view data, const std::string& name,
                                   const ParseOptions& opts, const Tuning& tuning) {
    ViewSource source(data);
    std::vector<SeriesBatch> out;
    std::map<std::string, std::size_t, std::less<>> index;
    stream_csv(source, name, opts, tuning, [&](SeriesBatch&& piece) {
        join(out, index, std::move(piece));
        // join() keeps a series' first piece and copies any later one, whose columns can go back.
        if (opts.column_pool) opts.column_pool->give(std::move(piece.bars));
    });
    return out;
}

}  // namespace barstore::csv_detail

namespace barstore {

std::vector<SeriesBatch> parse_csv(std::string_view data, const std::string& name, const ParseOptions& opts) {
    return csv_detail::parse_csv(data, name, opts, csv_detail::Tuning{});
}

}  // namespace barstore
