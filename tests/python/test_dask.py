# tests/python/test_dask.py: barstore.dask (issue 15, docs/deploy.md). A sweep on a LocalCluster
# of 2 worker processes over a snapshot of the real files gives, row for row, what the same
# strategy gives run serially in this process; so does a sweep during which a worker process is
# killed; each worker opens the snapshot once; the command line prints the same rows as CSV.
import importlib.util
import io
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import barstore
import barstore.dask as bd

distributed = pytest.importorskip("distributed")

SHARED = Path(os.environ.get("BARSTORE_SHARED", Path(__file__).resolve().parents[3] / "shared"))
REPO = Path(__file__).resolve().parents[2]
MA_CROSS = REPO / "docs" / "examples" / "python" / "ma_cross.py"
SYMBOLS = ["BTC", "SPY"]
PARAMS = bd.grid(fast=[5, 10, 15, 20], slow=[30, 50, 80, 120])  # 16 parameter sets


def load_ma_cross():
    """The example strategy as a module loaded by path: the workers cannot import it by name, so
    the sweep must send it by value."""
    spec = importlib.util.spec_from_file_location("ma_cross_under_test", MA_CROSS)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ma_cross = load_ma_cross()


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    """A snapshot of both real files, 15m prewarmed (what a sweep's strategy reads)."""
    tmp = tmp_path_factory.mktemp("dask")
    store = barstore.Store(tmp / "db")
    store.ingest(SHARED / "data" / "csv" / "btc-perp-20211231-20220201_1m.csv", symbol="BTC")
    store.ingest(SHARED / "data" / "csv" / "nt-spy-minute-2011.csv", symbol="SPY", stamp="end", session="us-equity")
    store.prewarm(SYMBOLS, ["15m"])
    store.snapshot(tmp / "bars.snapshot")
    return tmp / "bars.snapshot"


def serial(snapshot, strategy, params, symbols):
    """The oracle: the same backtests one after another in this process, each with its own Reader."""
    store = barstore.Store(snapshot, read_only=True)
    rows = []
    for symbol, p in itertools.product(symbols, params):
        result = strategy(barstore.Reader(store), symbol, **p)
        rows.append({"symbol": symbol, **p, **(result if isinstance(result, dict) else {"result": result})})
    return pd.DataFrame(rows)


def local_cluster():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    return cluster, distributed.Client(cluster)


@pytest.fixture(scope="module")
def client():
    cluster, client = local_cluster()
    yield client
    client.close()
    cluster.close()


def test_sweep_equals_serial_and_opens_the_snapshot_once_per_worker(snapshot, client):
    got = bd.sweep(snapshot, ma_cross.strategy, PARAMS, SYMBOLS, client=client)
    want = serial(snapshot, ma_cross.strategy, PARAMS, SYMBOLS)
    assert list(got.columns) == ["symbol", "fast", "slow", "pnl", "trades", "steps"]
    assert len(got) == 32
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got["pnl"].nunique() > 8  # the parameters reached the strategy: results differ
    states = client.run(bd.worker_state)
    assert len(states) == 2
    for state in states.values():
        assert state["opens"] == 1 and state["snapshots"] == [os.path.realpath(snapshot)], state
    # A second sweep on the same workers opens nothing anew.
    again = bd.sweep(snapshot, bd.StrategyFile(MA_CROSS), PARAMS[:4], SYMBOLS, client=client)
    pd.testing.assert_frame_equal(again, want[want["fast"] == 5].reset_index(drop=True), check_exact=True)
    assert all(s["opens"] == 1 for s in client.run(bd.worker_state).values())


def test_sweep_survives_a_worker_killed_mid_sweep(snapshot):
    # 1m steps: each task takes ~0.4 s, so the kill lands while tasks are running.
    params = bd.grid(fast=[5, 10], slow=[30, 50, 80, 120], timeframe=["1m"])
    want = serial(snapshot, ma_cross.strategy, params, SYMBOLS)
    cluster, client = local_cluster()
    try:
        pids = client.run(os.getpid)
        result, failure = {}, []

        def run():
            try:
                result["frame"] = bd.sweep(snapshot, bd.StrategyFile(MA_CROSS), params, SYMBOLS, client=client)
            except BaseException as e:  # noqa: BLE001 (reported by the main thread)
                failure.append(e)

        sweeping = threading.Thread(target=run)
        sweeping.start()
        victim = None
        deadline = time.monotonic() + 60
        while victim is None and time.monotonic() < deadline and sweeping.is_alive():
            busy = [addr for addr, keys in client.processing().items()
                    if any(str(k).startswith("barstore-sweep-") for k in keys)]
            if busy:  # a backtest is running there: the kill lands mid-task
                victim = busy[0]
            time.sleep(0.02)
        assert victim is not None, "no worker was running a sweep task"
        os.kill(pids[victim], signal.SIGKILL)
        sweeping.join(timeout=120)
        assert not sweeping.is_alive() and not failure, failure
        pd.testing.assert_frame_equal(result["frame"], want, check_exact=True)
        assert set(client.run(os.getpid).values()) != set(pids.values())  # the nanny started a new process
    finally:
        client.close()
        cluster.close()


def test_a_failing_strategy_names_its_task(snapshot, client):
    def broken(reader, symbol, fast):
        if fast == 10:
            raise ZeroDivisionError("no")
        return fast

    with pytest.raises(bd.TaskFailed, match=r"BTC \{'fast': 10\}: ZeroDivisionError: no"):
        bd.sweep(snapshot, broken, bd.grid(fast=[5, 10]), ["BTC"], client=client)
    with pytest.raises(bd.TaskFailed, match="NotFound"):
        bd.sweep(snapshot, ma_cross.strategy, PARAMS[:1], ["NOPE"], client=client)
    with pytest.raises(bd.TaskFailed, match=r"\['fast'\]"):
        bd.sweep(snapshot, lambda reader, symbol, fast: {"fast": 1}, bd.grid(fast=[5]), ["BTC"], client=client)
    with pytest.raises(FileNotFoundError):
        bd.sweep(snapshot.parent / "missing.snapshot", broken, bd.grid(fast=[5]), ["BTC"], client=client)
    # A number is one column, `result`.
    frame = bd.sweep(snapshot, lambda reader, symbol, fast: fast * 2, bd.grid(fast=[5, 7]), ["BTC"], client=client)
    assert frame.to_dict("records") == [{"symbol": "BTC", "fast": 5, "result": 10},
                                        {"symbol": "BTC", "fast": 7, "result": 14}]


def test_parse_grid():
    got = bd.parse_grid("fast=5..50:5,slow=50..200:25")
    want = [{"fast": f, "slow": s} for f in range(5, 51, 5) for s in range(50, 201, 25)]
    assert got == want and len(got) == 70
    assert bd.parse_grid("x=0.5..1.5:0.5, tf=15m|1h,n=3") == [
        {"x": x, "tf": tf, "n": 3} for x in (0.5, 1.0, 1.5) for tf in ("15m", "1h")]
    assert bd.parse_grid("k=1..3") == [{"k": 1}, {"k": 2}, {"k": 3}]
    for bad in ["", "fast", "fast=", "=5", "a=5..1", "a=1..5:0", "a=1..5:-1", "a=x..y", "a=1,a=2"]:
        with pytest.raises(ValueError, match="--grid"):
            bd.parse_grid(bad)


def test_no_client_starts_a_local_cluster(snapshot):
    frame = bd.sweep(snapshot, ma_cross.strategy, bd.grid(fast=[5], slow=[30]), ["SPY"], workers=1)
    pd.testing.assert_frame_equal(frame, serial(snapshot, ma_cross.strategy, bd.grid(fast=[5], slow=[30]), ["SPY"]),
                                  check_exact=True)


def test_command_line(snapshot, client):
    """On the running cluster (--scheduler), as a cluster's user would; --workers N starts a
    LocalCluster through the same sweep() as the test above."""
    py = sys.executable
    args = [py, "-m", "barstore.dask", "--snapshot", str(snapshot), "--strategy", str(MA_CROSS),
            "--grid", "fast=5..10:5,slow=30|50", "--symbols", "BTC,SPY", "--scheduler", client.scheduler.address]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr  # not a terminal: no progress bar, no summary
    got = pd.read_csv(io.StringIO(done.stdout))
    want = serial(snapshot, ma_cross.strategy, bd.grid(fast=[5, 10], slow=[30, 50]), SYMBOLS)
    pd.testing.assert_frame_equal(got, want, check_exact=True)

    for change, message in [({"--symbols": "BTC,NOPE"}, "no series for NOPE"),
                            ({"--grid": "fast=9..1"}, "--grid"),
                            ({"--snapshot": str(snapshot) + ".gone"}, "no such snapshot"),
                            ({"--strategy": str(MA_CROSS) + ":nothing"}, "defines no function nothing")]:
        bad = list(args)
        for flag, value in change.items():
            bad[bad.index(flag) + 1] = value
        done = subprocess.run(bad, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and message in done.stderr and done.stdout == "", (change, done.stderr)
