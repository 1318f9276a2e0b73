// load/load.cpp: file -> store. Owns the rule that an update joins the series already stored
// for its symbol, never one inferred from the file alone (docs/cli.md, "ingest"); composes
// ingest and store, which know nothing of each other.
#include "barstore/load.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "barstore/error.hpp"
#include "barstore/time.hpp"

namespace barstore {

namespace {

// The base of the only series in `all`; InvalidInput naming the bases when there are several.
std::optional<Duration> only_base(const std::vector<SeriesInfo>& all, const std::string& symbol) {
    if (all.empty()) return std::nullopt;
    if (all.size() == 1) return all.front().key.base;
    std::string bases;
    for (const auto& s : all) bases += (bases.empty() ? "" : ", ") + format_timeframe(s.key.base);
    throw InvalidInput(symbol + " has series at several bases (" + bases + "); pass --timeframe to pick one");
}

// One piece for the writing thread, after its series moved to a lowered inferred base if it did.
struct Step {
    std::optional<SeriesKey> renamed_from;
    SeriesBatch piece;
};

// The pieces parsed but not yet written, from the parsing thread to the writing one. Bounded in
// bars, counted until a piece is written (not when it is taken), so the parse runs at most about
// one block ahead of the writes: memory stays set by the block size, not the file's.
class Handoff {
public:
    explicit Handoff(std::size_t max_bars) : max_bars_(max_bars) {}

    /// Waits for room (there is always room for one piece); false once the writer has stopped.
    bool push(Step&& step) {
        std::unique_lock lock(mutex_);
        room_.wait(lock, [&] { return stopped_ || unwritten_bars_ == 0 || unwritten_bars_ < max_bars_; });
        if (stopped_) return false;
        unwritten_bars_ += step.piece.bars.size();
        queue_.push_back(std::move(step));
        ready_.notify_one();
        return true;
    }
    /// The next piece; nullopt once the queue is closed and empty.
    std::optional<Step> pop() {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return closed_ || !queue_.empty(); });
        if (queue_.empty()) return std::nullopt;
        Step step = std::move(queue_.front());
        queue_.pop_front();
        return step;
    }
    /// A popped piece of `bars` bars was written.
    void written(std::size_t bars) {
        const std::lock_guard lock(mutex_);
        unwritten_bars_ -= bars;
        room_.notify_one();
    }
    /// No more pieces: commit (the whole file was read) or not (the parse failed).
    void close(bool commit) {
        const std::lock_guard lock(mutex_);
        closed_ = true;
        commit_ = commit;
        ready_.notify_one();
    }
    bool commit() const {
        const std::lock_guard lock(mutex_);
        return commit_;
    }
    /// The writer failed: pushes fail from now on.
    void stop() {
        const std::lock_guard lock(mutex_);
        stopped_ = true;
        room_.notify_one();
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable room_, ready_;
    std::deque<Step> queue_;
    std::size_t unwritten_bars_ = 0;  // pushed, not yet written
    const std::size_t max_bars_;
    bool closed_ = false, commit_ = false, stopped_ = false;
};

// Bars pushed and not yet written before the parse waits (~12 MiB of columns), under the
// ~350k bars of a 16 MiB block: one series' next block waits for the last to be written.
constexpr std::size_t kHandoffBarsMax = std::size_t{1} << 18;

}  // namespace

std::optional<Duration> stored_base(const Store& store, const std::string& symbol) {
    return only_base(store.find(symbol), symbol);
}

std::vector<LoadedSeries> load_file(Store& store, const std::filesystem::path& path, const LoadOptions& opts) {
    // The parser's messages name the file; the store's name the series, and get the file here.
    const auto naming_file = [&](const auto& write) {
        try {
            write();
        } catch (const InvalidInput& e) {
            throw InvalidInput(input_name(path) + ": error: " + e.what());
        }
    };

    // Parsing and writing overlap: this thread parses block k+1 while another encodes and puts
    // block k. That thread owns the one write transaction (LMDB ties a write transaction to the
    // thread that began it), open from before the first byte is read: the file goes in whole or
    // not at all, however big.
    Handoff handoff(kHandoffBarsMax);
    ColumnPool pool;
    std::promise<void> began;
    std::exception_ptr write_failed;
    std::thread writing([&] {
        try {
            auto writer = store.begin_write(opts.mode);
            began.set_value();
            while (auto step = handoff.pop()) {
                // A smaller inferred base, which every earlier bar is on (stream_file): the series moves.
                if (step->renamed_from) naming_file([&] { writer.rename(*step->renamed_from, step->piece.key); });
                const std::size_t bars = step->piece.bars.size();
                naming_file([&] { writer.stage(std::move(step->piece)); });
                // stage() leaves the columns here (it copies what it holds on to): the parse of a
                // later block reuses their mapped pages.
                pool.give(std::move(step->piece.bars));
                handoff.written(bars);
            }
            if (handoff.commit()) naming_file([&] { writer.commit(); });
        } catch (...) {
            write_failed = std::current_exception();
            handoff.stop();
            try {
                began.set_exception(write_failed);
            } catch (const std::future_error&) {
                // Began already: the parse learns of it from push().
            }
        }
    });
    struct Stopped {};  // the writer failed; its error is the one to report
    std::vector<LoadedSeries> out;
    try {
        began.get_future().get();
        ParseOptions parse = opts.parse;
        parse.column_pool = &pool;
        // The stored bases are those the write transaction sees: none can change while it is
        // open (LMDB admits one writer), and the parser asks for a symbol before writing any of it.
        parse.stored_base = [&store](const std::string& symbol) { return stored_base(store, symbol); };
        std::map<std::string, std::size_t, std::less<>> index;  // symbol -> out
        stream_file(path, opts.format, parse, [&](SeriesBatch&& piece) {
            piece.session = opts.session;
            const auto [it, fresh] = index.try_emplace(piece.key.symbol, out.size());
            if (fresh) out.push_back({piece.key, 0, 0, {}});
            LoadedSeries& loaded = out[it->second];
            Step step{loaded.key != piece.key ? std::optional(loaded.key) : std::nullopt, std::move(piece)};
            loaded.key = step.piece.key;
            loaded.bars += step.piece.bars.size();
            loaded.rounded_values += step.piece.rounded_values;
            for (auto& n : step.piece.notes) loaded.notes.push_back(std::move(n));
            if (!handoff.push(std::move(step))) throw Stopped{};
        });
        handoff.close(true);
    } catch (...) {
        // The writer still writes what came before the failure (not committing it), so that a
        // write refused earlier in the file is reported first, as a serial load would.
        handoff.close(false);
        writing.join();
        if (write_failed) std::rethrow_exception(write_failed);
        throw;
    }
    writing.join();
    if (write_failed) std::rethrow_exception(write_failed);
    return out;
}

}  // namespace barstore
