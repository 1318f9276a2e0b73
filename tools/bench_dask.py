#!/usr/bin/python3
"""tools/bench_dask.py: barstore.dask's figures (issue 15, docs/deploy.md "Figures"), each beside
its baseline in the same run, on one LocalCluster. One JSON line per figure on stdout, progress
on stderr. Not a test, but both sides' results must agree before anything is timed.

  sweep          Backtests per second of the example strategy (docs/examples/python/ma_cross.py)
                 over a parameter grid x 2 symbols on 2 worker processes: barstore.dask.sweep over
                 a prewarmed snapshot, against the same strategy and grid where each task reads
                 its symbol's CSV with pandas and resamples it (a backtester without a store),
                 behind the same reader interface done with numpy by position. Each worker's
                 peak PSS (/proc/PID/smaps_rollup, sampled every 20 ms) on both sides.
                 Target: >= 20x the baseline's throughput.
  task_start     In a worker that has the snapshot open, the time from a task's start to its
                 first answered Reader.bars call (worker_store + Reader + bars). Target: < 1 ms
                 median.

Run from the repository after a build:
  /usr/bin/python3 tools/bench_dask.py [--years 2] [--timeframes 1h,4h,1d] [--quick]
The data is tools/gen_csv's synthetic 24x7 1m series, one seed per symbol.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MA_CROSS = REPO / "docs" / "examples" / "python" / "ma_cross.py"


def progress(what):
    print(f"bench_dask: {what}", file=sys.stderr, flush=True)


# ---- the baseline: a backtester without a store ----------------------------------------------

class PandasReader:
    """The reader interface ma_cross uses (bars, last_price, store.info), over one symbol's CSV
    read with pandas and resampled in this task: what each task of a store-less sweep does.
    Lookups are by position on numpy arrays (searchsorted), cheaper than the .loc slicing of the
    reference design, so the baseline's stepping is not handicapped."""

    def __init__(self, csv_path, symbol, timeframes):
        import pandas as pd
        # round_trip: correctly rounded doubles, the same as barstore's, so results are equal.
        df = pd.read_csv(csv_path, index_col="ts", parse_dates=["ts"], float_precision="round_trip")
        self.symbol = symbol
        self.minute_ends = (df.index.values + np.timedelta64(1, "m"))
        self.minute_closes = df["close"].to_numpy()
        self.frames = {}
        for tf in timeframes:
            bins = df.resample(pd.Timedelta(tf)).agg({"open": "first", "high": "max", "low": "min",
                                                       "close": "last", "volume": "sum"}).dropna(subset=["close"])
            ends = bins.index.values + np.timedelta64(pd.Timedelta(tf))
            self.frames[tf] = (ends, bins["close"].to_numpy())
        self.store = self
        self._info = {"timeframe": "1m", "first": df.index.values[0], "last": df.index.values[-1]}

    def info(self, symbol):
        return self._info

    def bars(self, symbol, timeframe, n, as_of):
        ends, closes = self.frames[timeframe]
        k = int(np.searchsorted(ends, as_of, side="right"))  # bins closed by as_of
        return _Bars(closes[max(0, k - n):k])

    def last_price(self, symbol, as_of):
        k = int(np.searchsorted(self.minute_ends, as_of, side="right"))
        return float(self.minute_closes[k - 1]) if k else None


class _Bars:
    __slots__ = ("close",)

    def __init__(self, close):
        self.close = close


def pandas_task(csv_path, strategy_file, symbol, params):
    from barstore.dask import StrategyFile
    strategy = StrategyFile(strategy_file)
    reader = PandasReader(csv_path, symbol, [params.get("timeframe", "15m")])
    return strategy(reader, symbol, **params)


# ---- measuring -------------------------------------------------------------------------------

def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class PssSampler:
    """Peak PSS of each worker process while a sweep runs (workers are on this machine)."""

    def __init__(self, pids):
        self.pids, self.peak, self.stop = list(pids), {p: 0 for p in pids}, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            for p in self.pids:
                self.peak[p] = max(self.peak[p], pss_kib(p))
            self.stop.wait(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def first_answer_s(snapshot, symbol, timeframe, as_of):
    """One task's start to its first answered bars() call, in seconds, on a worker."""
    import barstore
    from barstore.dask import worker_store
    started = time.perf_counter()
    reader = barstore.Reader(worker_store(snapshot))
    got = reader.bars(symbol, timeframe, 200, as_of)
    elapsed = time.perf_counter() - started
    assert len(got) == 200
    return elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=str(REPO / "build"), help="the build directory (module, gen_csv, barstore)")
    ap.add_argument("--years", type=float, default=2, help="years of 1m bars per symbol (default 2)")
    ap.add_argument("--timeframes", default="1h,4h,1d", help="the strategy's timeframes, one sweep each")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="a smoke run: 0.25 years, a 4-set grid")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(args.build) / "lib" / "python"))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(args.build) / "lib" / "python"),
                                                             os.environ.get("PYTHONPATH")]))
    import barstore
    import barstore.dask as bd
    import distributed

    years = 0.25 if args.quick else args.years
    grid = bd.grid(fast=[5, 10], slow=[50, 100]) if args.quick else bd.grid(fast=[5, 10, 15, 20], slow=[50, 100, 150, 200])
    symbols = ["SIMA", "SIMB"]
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        work = Path(tmp)
        csvs = {}
        for i, symbol in enumerate(symbols):
            csvs[symbol] = work / f"{symbol}.csv"
            progress(f"generating {years:g} years of 1m bars for {symbol}")
            subprocess.run([Path(args.build) / "tools" / "gen_csv", "--years", str(years), "--seed", str(20150101 + i),
                            "--out", csvs[symbol]], check=True)
        timeframes = args.timeframes.split(",")
        store = barstore.Store(work / "db")
        for symbol in symbols:
            store.ingest(csvs[symbol], symbol=symbol)
        started = time.perf_counter()
        store.prewarm(symbols, timeframes)
        prewarm_s = time.perf_counter() - started
        snapshot = work / "bars.snapshot"
        snap = store.snapshot(snapshot)
        del store
        progress(f"snapshot {snap['copy_bytes'] / 2**20:.1f} MiB (prewarm {prewarm_s:.2f} s)")

        cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                           dashboard_address=":0")
        client = distributed.Client(cluster)
        try:
            def fresh_workers():
                """New worker processes, so neither side's PSS holds the other's leftover heap;
                each then imports pandas and barstore once, as a long-lived worker would have."""
                client.restart()
                client.run(lambda: __import__("pandas") and __import__("barstore.dask"))
                pids = list(client.run(os.getpid).values())
                return pids, {p: pss_kib(p) for p in pids}

            for tf in timeframes:
                params = [{**p, "timeframe": tf} for p in grid]
                tasks = len(params) * len(symbols)
                progress(f"sweep {tf}: barstore, {tasks} backtests")
                pids, idle_pss = fresh_workers()
                with PssSampler(pids) as ours_pss:
                    t0 = time.perf_counter()
                    ours = bd.sweep(snapshot, bd.StrategyFile(MA_CROSS), params, symbols, client=client)
                    ours_s = time.perf_counter() - t0
                ours_pids, ours_idle = pids, idle_pss
                progress(f"sweep {tf}: pandas baseline, {tasks} backtests")
                pids, idle_pss = fresh_workers()
                with PssSampler(pids) as base_pss:
                    t0 = time.perf_counter()
                    futures = client.map(pandas_task, [str(csvs[s]) for s in symbols for _ in params],
                                         [str(MA_CROSS)] * tasks, [s for s in symbols for _ in params],
                                         [p for _ in symbols for p in params], pure=False)
                    base = client.gather(futures)
                    base_s = time.perf_counter() - t0
                ours_rows = ours[["pnl", "trades", "steps"]].to_dict("records")
                agree = sum(a == b for a, b in zip(ours_rows, base))
                if agree != tasks:
                    bad = next(i for i, (a, b) in enumerate(zip(ours_rows, base)) if a != b)
                    raise SystemExit(f"bench_dask: results differ at {bad}: barstore {ours_rows[bad]}, pandas {base[bad]}")
                print(json.dumps({
                    "figure": f"sweep_{tf}", "years": years, "backtests": tasks, "workers": args.workers,
                    "steps_per_backtest": int(ours["steps"].iloc[0]),
                    "barstore_per_s": round(tasks / ours_s, 2), "baseline_per_s": round(tasks / base_s, 3),
                    "ratio": round(base_s / ours_s, 1), "target_ratio": 20,
                    "barstore_s": round(ours_s, 2), "baseline_s": round(base_s, 2),
                    "pss_mib_barstore": [round(ours_pss.peak[p] / 1024, 1) for p in ours_pids],
                    "pss_mib_baseline": [round(base_pss.peak[p] / 1024, 1) for p in pids],
                    "pss_mib_idle": [round(ours_idle[p] / 1024, 1) for p in ours_pids],
                    "snapshot_mib": round(snap["copy_bytes"] / 2**20, 1),
                    "baseline": "per task: pandas.read_csv + resample + the same strategy over numpy arrays",
                }), flush=True)

            progress("task_start")
            as_of = np.datetime64("2015-01-01") + np.timedelta64(int(years * 365 * 0.8), "D")
            starts = client.gather(client.map(first_answer_s, [str(snapshot)] * 400, [symbols[0]] * 400,
                                              ["1h"] * 400, [as_of] * 400, pure=False))
            print(json.dumps({
                "figure": "task_start", "tasks": len(starts),
                "median_ms": round(statistics.median(starts) * 1e3, 3),
                "p90_ms": round(sorted(starts)[int(len(starts) * 0.9)] * 1e3, 3), "target_median_ms": 1,
                "what": "worker_store(snapshot) + Reader(store) + bars(sym, '1h', 200, t), timed inside the task",
            }), flush=True)
        finally:
            client.close()
            cluster.close()


if __name__ == "__main__":
    main()
