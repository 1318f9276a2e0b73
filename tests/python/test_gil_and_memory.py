# tests/python/test_gil_and_memory.py: what the module promises beyond its answers (docs/python.md):
# other Python threads run while a store call works (the GIL is released), and a long loop of
# Reader and query calls keeps the process's resident memory flat (no leak per call).
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import barstore

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("BARSTORE_SHARED", REPO.parent / "shared"))
BTC_CSV = SHARED / "data" / "csv" / "btc-perp-20211231-20220201_1m.csv"
MINUTE = np.timedelta64(1, "m")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("gil") / "db"
    barstore.Store(path).ingest(BTC_CSV, symbol="BTC")
    return barstore.Store(path, read_only=True)


@pytest.fixture(scope="module")
def long_csv(tmp_path_factory):
    """The btc-perp month repeated 8 times end to end (360,248 1m bars, 8 months): long enough
    that one ingest or query takes hundreds of ms, so a held GIL would be a stall no busy
    machine's scheduling could pass for."""
    lines = BTC_CSV.read_text().splitlines()[1:]
    starts = np.array([line[:19] for line in lines], dtype="datetime64[s]")
    rests = [line[line.index(","):] for line in lines]
    span = starts[-1] - starts[0] + np.timedelta64(60, "s")
    path = tmp_path_factory.mktemp("long") / "long.csv"
    with open(path, "w") as f:
        for k in range(8):
            stamps = np.datetime_as_string(starts + k * span, unit="s").tolist()
            f.write("".join(f"{t}{rest}\n" for t, rest in zip(stamps, rests)))
    return path


def main_thread_progress(call):
    """Runs call() in a thread while this thread counts loop iterations. Returns the iterations
    counted while the call ran, the longest time this thread made none, and the call's time.
    A call that keeps the GIL stalls this loop for all its duration; one that releases it lets
    the loop run on, with stalls only when the GIL changes hands (the 5 ms switch interval)."""
    window = {}

    def worker():
        window["t0"] = time.perf_counter()
        call()
        window["t1"] = time.perf_counter()

    thread = threading.Thread(target=worker)
    count, longest_stall_s, last = 0, 0.0, None
    thread.start()
    while thread.is_alive():
        now = time.perf_counter()
        if "t0" in window and "t1" not in window:
            count += 1
            longest_stall_s = max(longest_stall_s, now - (last or window["t0"]))
            last = now
    thread.join()
    longest_stall_s = max(longest_stall_s, window["t1"] - (last or window["t0"]))
    return count, longest_stall_s, window["t1"] - window["t0"]


def test_gil_is_released_during_ingest_query_and_verify(long_csv, tmp_path):
    long = barstore.Store(tmp_path / "long")
    calls = {
        "ingest": lambda: long.ingest(long_csv, symbol="L", replace=True),
        "query": lambda: long.query("L", exact=True),
        # One deep verify takes 30-50 ms, too short beside a busy machine's scheduling stalls:
        # five in one call, each releasing the GIL, take as long as the others.
        "verify": lambda: [long.verify(deep=True) for _ in range(5)],
    }
    seen = {}
    for name, call in calls.items():
        # Up to three tries, the best kept: a held GIL stalls the loop for the whole call every
        # time, while the machine's scheduling (CI runs tests two at a time beside other builds)
        # once stalled it for 108 ms of a 207 ms query with the GIL released. A pass on any try
        # is one that a held GIL cannot give.
        for attempt in range(3):
            count, stall_s, took_s = main_thread_progress(call)
            print(f"{name} try {attempt + 1}: {count} main-thread iterations during {took_s * 1e3:.1f} ms, "
                  f"longest stall {stall_s * 1e3:.1f} ms")
            seen[name] = count, round(stall_s * 1e3, 1), round(took_s * 1e3, 1)
            if count > 0 and stall_s < took_s / 2:
                break
    # count > 0 alone could pass with the GIL held: the loop may run in the moment between the
    # call's return and the end of the window. The stall cannot: held, it is the whole call;
    # released, a few 5 ms switch intervals (measured on 2 busy cores: at most 5% of an ingest
    # or query, 26% of a single 30-50 ms verify, hence five; with the releases taken out of
    # module.cpp, 81-96% of each call, with counts above 6,000 all the same). Half the call
    # separates the two.
    assert all(count > 0 and stall_ms < took_ms / 2 for count, stall_ms, took_ms in seen.values()), seen
    assert len(long.query("L")) == 8 * 45031


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_rss_flat_over_100k_reader_calls_and_1k_queries(store):
    budget_bytes = 4 << 20
    reader = barstore.Reader(store, budget_bytes=budget_bytes)
    t0 = np.datetime64("2022-01-01T06:00", "ns")
    steps = 44000  # minutes: the clock wraps around the month, so windows slide and reload

    def reader_calls(n):
        for i in range(n):
            t = t0 + (i * 7 % steps) * MINUTE
            reader.bars("BTC", ("1m", "5m", "15m", "1h")[i % 4], 200, t)
            if i % 10 == 0:
                reader.last_price("BTC", t)

    def queries(n):
        for i in range(n):
            # a day of 1m bars (1,440 rows, 69 KB of columns) from a start moving through the month
            start = t0 + (i * 613 % (steps - 1440)) * MINUTE
            bars = store.query("BTC", start=start, end=start + 1440 * MINUTE, exact=i % 2 == 0)
            assert len(bars) == 1440

    # Warm-up: the same loops, so the Reader's cache, numpy's and malloc's pools reach their size.
    reader_calls(20000)
    queries(200)
    before = rss_bytes()
    reader_calls(100_000)
    queries(1000)
    after = rss_bytes()
    print(f"RSS after warm-up {before / 2**20:.1f} MiB, after 100,000 Reader calls and 1,000 queries "
          f"{after / 2**20:.1f} MiB ({(after - before) / 2**20:+.2f} MiB)")
    assert reader.stats()["resident_bytes"] <= budget_bytes
    # 8 MiB: the Reader may hold up to its 4 MiB budget (its content changes as the clock wraps)
    # plus malloc's slack; a leak of 84 bytes per Reader call (8 MiB / 100,000: less than one
    # numpy array header) or of one query result (69 KB; 1,000 of them: 66 MiB) goes past it.
    assert after - before < 8 << 20
