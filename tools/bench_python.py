#!/usr/bin/python3
"""tools/bench_python.py: the Python module's figures (issue 14, docs/python.md "Figures"), each
beside its baseline measured in the same run. Prints one JSON line per figure on stdout,
progress on stderr. Not a test, but it checks barstore's answers against the baseline's before
timing, so that no figure is of a bug.

  reader_step    Reader.bars(sym, '5m', 200, t) per call, t stepping minute by minute, against
                 a pandas DataFrame of the 5m bins already in RAM sliced with .loc[:t].tail(200)
                 (the reference design's step), and against the C++ Reader's own call
                 (tools/bench_cache, aggregate_hit) run as a child in the same run.
                 Targets: >= 20x faster than the pandas slice, <= 3 us per call.
  query_1h       Store.query(sym, timeframe='1h').to_pandas() over 10 years of 1-minute bars,
                 against pandas.read_csv of the same CSV + resample('1h'). Target: >= 10x.

Run from the repository after a build:  /usr/bin/python3 tools/bench_python.py [--quick]
(--quick: 1 year and fewer steps, a smoke run). The data is tools/gen_csv's synthetic 24x7
series, the same bytes the C++ benchmarks use.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def progress(what):
    print(f"bench_python: {what}", file=sys.stderr, flush=True)


def per_call_ns(fn, args, batch):
    """Median over batches of `batch` consecutive calls of the time per call, in ns."""
    out = []
    for k in range(0, len(args) - batch + 1, batch):
        chunk = args[k:k + batch]
        t0 = time.perf_counter_ns()
        for a in chunk:
            fn(a)
        out.append((time.perf_counter_ns() - t0) / batch)
    return statistics.median(out)


def reader_step(barstore, store, frame_5m, steps, build):
    progress(f"reader_step: {steps} steps")
    start = frame_5m.index[0] + pd.Timedelta(days=2)
    times = [np.datetime64(start.tz_convert(None) + pd.Timedelta(minutes=i), "ns") for i in range(steps)]
    stamps = [pd.Timestamp(t).tz_localize("UTC") for t in times]
    reader = barstore.Reader(store)

    # Never a figure of a bug: the Reader's answer is the store's (no look-ahead), and the
    # pandas slice holds the same closed bins plus, at most, the forming one it looks ahead into.
    for i in range(0, steps, max(1, steps // 50)):
        got = reader.bars("SIM", "5m", 200, times[i])
        want = store.query("SIM", "5m", last=200, as_of=times[i])
        assert np.array_equal(got.ts, want.ts) and np.array_equal(got.close, want.close), f"step {i}"
        sliced = frame_5m.loc[:stamps[i]].tail(200)
        closed = sliced[sliced.index + pd.Timedelta(minutes=5) <= stamps[i]]
        k = len(closed)
        assert k >= 199 and np.array_equal(closed.index.tz_convert(None).values, got.ts[-k:]), f"pandas step {i}"
        assert np.array_equal(closed["close"].values, got.close[-k:]), f"pandas close step {i}"

    reader = barstore.Reader(store)
    for t in times[:1000]:  # the 5m entry built once, as a backtest's first steps do
        reader.bars("SIM", "5m", 200, t)
    call = per_call_ns(lambda t: reader.bars("SIM", "5m", 200, t), times, 100)
    call_close = per_call_ns(lambda t: reader.bars("SIM", "5m", 200, t).close[-1], times, 100)
    stats = reader.stats()
    pandas_slice = per_call_ns(lambda t: frame_5m.loc[:t].tail(200), stamps[: min(steps, 20_000)], 100)

    progress("reader_step: the C++ Reader (tools/bench_cache --only aggregate_hit --quick)")
    cxx = {}
    bench_cache = Path(build) / "tools" / "bench_cache"
    if bench_cache.exists():
        out = subprocess.run([bench_cache, "--quick", "--only", "aggregate_hit"], capture_output=True, text=True, check=True)
        cxx = json.loads(out.stdout.strip().splitlines()[-1])
    line = {
        "figure": "reader_step", "steps": steps, "bars_per_request": 200,
        "call_ns_median": round(call), "call_and_close_ns_median": round(call_close),
        "baseline": "pandas DataFrame of 5m bins in RAM: .loc[:t].tail(200)",
        "baseline_ns_median": round(pandas_slice), "speedup": round(pandas_slice / call, 1),
        "target_speedup": 20, "target_call_ns": 3000,
        "meets_targets": pandas_slice / call >= 20 and call <= 3000,
        "cxx_call_ns_median": cxx.get("call_ns_median"), "cxx_extend_one_bar_call_ns_median": cxx.get("extend_one_bar_call_ns_median"),
        "hits": stats["hits"], "misses": stats["misses"], "store_reads": stats["store_reads"],
        "note": "medians over batches of 100 consecutive minutes; times are numpy.datetime64 for barstore, pandas.Timestamp for pandas",
    }
    print(json.dumps(line), flush=True)


def query_1h(barstore, store, csv_path, reps):
    progress("query_1h: barstore")
    def ours():
        return store.query("SIM", timeframe="1h").to_pandas()
    def theirs():
        df = pd.read_csv(csv_path, index_col="ts", parse_dates=["ts"])
        return df.resample("1h").agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}).dropna()

    def best(fn, n):
        times, result = [], None
        for _ in range(n):
            t0 = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - t0)
        return min(times), result

    ours_s, got = best(ours, reps)
    progress("query_1h: pandas read_csv + resample")
    theirs_s, want = best(theirs, max(1, reps // 2))
    # Never a figure of a bug: the same bins and values (pandas' index is naive UTC).
    assert len(got) == len(want), (len(got), len(want))
    assert np.array_equal(got.index.tz_convert(None).values, want.index.values)
    for col in ("open", "high", "low", "close", "volume"):
        assert np.allclose(got[col].values, want[col].values, rtol=0, atol=1e-9), col
    print(json.dumps({
        "figure": "query_1h", "bars_1m": store.list()[0]["rows"], "bins_1h": len(got),
        "seconds_best": round(ours_s, 4), "baseline": "pandas.read_csv(parse_dates) + resample('1h').agg(ohlcv)",
        "baseline_seconds_best": round(theirs_s, 3), "speedup": round(theirs_s / ours_s, 1), "target_speedup": 10,
        "meets_target": theirs_s / ours_s >= 10,
        "note": f"best of {reps} (barstore) and {max(1, reps // 2)} (pandas) runs, files in the page cache",
    }), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=str(REPO / "build"), help="the build directory (module, gen_csv, bench_cache)")
    ap.add_argument("--quick", action="store_true", help="1 year and 20,000 steps: a smoke run")
    ap.add_argument("--years", type=float, help="years of 1m bars for query_1h (default 10)")
    ap.add_argument("--steps", type=int, help="reader_step's minutes (default 200,000)")
    ap.add_argument("--only", default="", help="comma-separated figure names")
    ap.add_argument("--dir", help="work directory (default: a fresh temporary one, removed at exit)")
    args = ap.parse_args()
    years = args.years or (1 if args.quick else 10)
    steps = args.steps or (20_000 if args.quick else 200_000)
    only = [s for s in args.only.split(",") if s]

    sys.path.insert(0, str(Path(args.build) / "lib" / "python"))
    import barstore

    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench_python-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        csv_path = work / f"sim-{years:g}y.csv"
        if not csv_path.exists():
            progress(f"generating {years:g} years of 1m bars")
            subprocess.run([Path(args.build) / "tools" / "gen_csv", "--years", str(years), "--out", csv_path],
                           check=True, stdout=subprocess.DEVNULL)
        db = work / "db"
        if db.exists():
            shutil.rmtree(db)
        progress("ingesting")
        store = barstore.Store(db)
        store.ingest(csv_path, symbol="SIM")
        store = barstore.Store(db, read_only=True)
        if not only or "reader_step" in only:
            frame_5m = store.query("SIM", timeframe="5m").to_pandas()
            reader_step(barstore, store, frame_5m, min(steps, len(frame_5m) * 5 - 3000), args.build)
        if not only or "query_1h" in only:
            query_1h(barstore, store, csv_path, 5)
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
