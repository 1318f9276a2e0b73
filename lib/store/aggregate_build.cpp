// store/aggregate_build.cpp: folds base chunks into prewarmed bins and encodes them, in rounds
// of base chunks split among threads. Invariant: the bins equal one fold_runs pass over all the
// bars (a bin cut by a worker boundary is merged as fold_runs merges runs), and every chunk
// but the last holds kChunkRows bins. Memory stays bounded by a round, whatever the series.
#include "store/aggregate_build.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>

#include "aggregate/binner.hpp"
#include "barstore/error.hpp"
#include "barstore/time.hpp"
#include "codec/chunk.hpp"

namespace barstore::prewarm {

namespace {

using i64 = std::int64_t;
using u64 = std::uint64_t;
constexpr std::size_t kRows = codec::kChunkRows;
// A worker's share of a round: about 260k 1-minute bars, some ms of decoding, so that starting
// a thread per share costs nothing next to it, while a round's bins stay a few MB.
constexpr std::size_t kChunksPerShare = 64;
// Below this many base chunks a second thread costs more than it saves.
constexpr std::size_t kMinChunksPerShare = 8;

/// Calls f(task) for every task in [0, tasks) on up to `threads` threads (the caller's one of
/// them) and rethrows the first exception any call threw, after all have stopped.
template <class F>
void run_parallel(std::size_t tasks, unsigned threads, F&& f) {
    const std::size_t n = std::min<std::size_t>(threads, tasks);
    if (n <= 1) {
        for (std::size_t t = 0; t < tasks; ++t) f(t);
        return;
    }
    std::atomic<std::size_t> next{0};
    std::vector<std::exception_ptr> errors(n);
    auto work = [&](std::size_t w) {
        try {
            for (std::size_t t; (t = next.fetch_add(1)) < tasks;) f(t);
        } catch (...) {
            errors[w] = std::current_exception();
            next.store(tasks);  // the others stop at their next task
        }
    };
    std::vector<std::thread> pool;
    pool.reserve(n - 1);
    for (std::size_t w = 1; w < n; ++w) pool.emplace_back(work, w);
    work(0);
    for (auto& t : pool) t.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

/// `later`'s first bin continues `acc`'s last (a bin cut between two workers' bars): merged as
/// fold_runs merges a run into its bin. Volumes are sums of non-negative volumes or the
/// overflow mark, so the merged sum overflows exactly when one over all the bars would.
void absorb(BarColumns& acc, const BarColumns& later) {
    std::size_t from = 0;
    if (!acc.empty() && !later.empty() && later.ts.front() == acc.ts.back()) {
        acc.high.back() = std::max(acc.high.back(), later.high.front());
        acc.low.back() = std::min(acc.low.back(), later.low.front());
        acc.close.back() = later.close.front();
        const i64 a = acc.volume.back(), b = later.volume.front();
        i64 sum = 0;
        acc.volume.back() = a == kVolumeOverflow || b == kVolumeOverflow || __builtin_add_overflow(a, b, &sum)
                                ? kVolumeOverflow
                                : sum;
        from = 1;
    }
    acc.append(later, from, later.size());
}

void drop_front(BarColumns& bins, std::size_t n) {
    for (auto* col : bins.columns()) col->erase(col->begin(), col->begin() + static_cast<std::ptrdiff_t>(n));
}

/// One worker's state, kept across rounds so that its buffers and Binners are made once.
struct Share {
    std::vector<aggregate::Binner> binners;  // one per job
    std::vector<BarColumns> bins;            // this round's bins, per job
    BarColumns piece;
    std::vector<i64> ends, overflowed;
    u64 bars = 0;
};

}  // namespace

std::string describe(const std::string& series, const AggregateSpec& spec) {
    return series + " prewarmed " + format_timeframe(spec.timeframe) + " " +
           (spec.align == Alignment::utc ? "utc" : "session");
}

std::vector<Built> build(const SeriesKey& key, const std::string& series, const Session& session,
                         std::span<const BaseChunk> base, std::vector<Job> jobs, unsigned threads,
                         std::uint64_t* bars_folded) {
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    const std::size_t n_jobs = jobs.size();
    std::vector<Built> out(n_jobs);
    // Bins not yet encoded, per job; the last may still be open (a later bar may join it).
    std::vector<BarColumns> pending(n_jobs);
    for (std::size_t j = 0; j < n_jobs; ++j) pending[j] = std::move(jobs[j].head);
    std::vector<Share> shares;

    // Folds into `bins` (per job): the first share's go straight into `pending`, since
    // fold_runs continues a bin left open there; the others' are merged in after.
    auto fold_share = [&](Share& s, std::span<const BaseChunk> chunks, std::vector<BarColumns>& bins) {
        if (s.binners.empty())
            for (const auto& job : jobs) s.binners.emplace_back(key.base, job.spec.timeframe, job.spec.align, session, series);
        for (const auto& c : chunks) {
            s.piece.clear();
            try {
                codec::decode_chunk(c.value, s.piece);
            } catch (const CorruptData& e) {
                throw CorruptData(series + " chunk at " + format_time(Timestamp{Duration{c.first_ts}}) + ": " + e.what());
            }
            s.bars += s.piece.size();
            const auto& ts = s.piece.ts;
            for (std::size_t j = 0; j < n_jobs; ++j) {
                const i64 from = jobs[j].from_label;
                if (ts.back() < from) continue;
                const auto first = ts.front() >= from ? 0 : static_cast<std::size_t>(std::lower_bound(ts.begin(), ts.end(), from) - ts.begin());
                aggregate::fold_runs(s.binners[j], s.piece, first, s.piece.size(), bins[j], s.ends, s.overflowed,
                                     [](i64, i64, i64) {});
                // Only the volume mark is needed to continue an overflowed bin (store volumes
                // are never negative), so neither list has to grow with the series.
                s.ends.clear();
                s.overflowed.clear();
            }
        }
    };

    // Encodes every bin of `pending` that is final (all but the last unless `all`) into whole
    // chunks, the last one partial only when `all`.
    auto encode = [&](bool all) {
        struct Task {
            std::size_t job, at, index;
        };
        std::vector<Task> tasks;
        std::vector<std::size_t> taken(n_jobs, 0);
        for (std::size_t j = 0; j < n_jobs; ++j) {
            const std::size_t n = pending[j].size();
            std::size_t at = 0;
            for (; all ? at < n : at + kRows < n; at += kRows) {
                tasks.push_back({j, at, out[j].chunks.size()});
                out[j].chunks.emplace_back();
                out[j].chunk_labels.push_back(pending[j].ts[at]);
            }
            taken[j] = std::min(at, n);
        }
        run_parallel(tasks.size(), threads, [&](std::size_t t) {
            const auto& task = tasks[t];
            const auto& bins = pending[task.job];
            out[task.job].chunks[task.index] = codec::encode_chunk(bins, task.at, std::min(bins.size(), task.at + kRows));
        });
        for (std::size_t j = 0; j < n_jobs; ++j) {
            if (taken[j] == 0) continue;
            auto& o = out[j];
            if (o.rows == 0) o.first = pending[j].ts.front();
            o.rows += taken[j];
            o.last = pending[j].ts[taken[j] - 1];
            drop_front(pending[j], taken[j]);
        }
    };

    for (std::size_t at = 0; at < base.size();) {
        const std::size_t round = std::min(base.size() - at, std::size_t{threads} * kChunksPerShare);
        const std::size_t n_shares = std::clamp<std::size_t>(round / kMinChunksPerShare, 1, threads);
        const std::size_t per_share = (round + n_shares - 1) / n_shares;
        if (shares.size() < n_shares) shares.resize(n_shares);
        for (auto& s : shares) s.bins.resize(n_jobs);
        run_parallel(n_shares, threads, [&](std::size_t s) {
            const std::size_t lo = at + s * per_share, hi = std::min(at + round, lo + per_share);
            if (lo < hi) fold_share(shares[s], base.subspan(lo, hi - lo), s == 0 ? pending : shares[s].bins);
        });
        for (std::size_t s = 1; s < n_shares; ++s)
            for (std::size_t j = 0; j < n_jobs; ++j) {
                absorb(pending[j], shares[s].bins[j]);
                shares[s].bins[j].clear();  // keeps its capacity for the next round
            }
        encode(false);
        at += round;
    }
    encode(true);
    for (std::size_t j = 0; j < n_jobs; ++j)
        for (const auto& c : out[j].chunks) out[j].bytes += c.size();
    if (bars_folded) {
        *bars_folded = 0;
        for (const auto& s : shares) *bars_folded += s.bars;
    }
    return out;
}

}  // namespace barstore::prewarm
