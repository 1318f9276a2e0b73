# tests/python/test_examples.py: the Python examples in docs/examples/python against independent
# references: the backtest's trades and PnL against the same rule computed by pandas straight
# from the CSV (no barstore in it); get_historical_prices against Store.query and the CLI's
# `query --format csv` text.
import csv
import importlib.util
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import barstore

pd = pytest.importorskip("pandas")

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "docs" / "examples" / "python"
SHARED = Path(os.environ.get("BARSTORE_SHARED", REPO.parent / "shared"))
EXE = os.environ.get("BARSTORE_EXE", "barstore")
BTC_CSV = SHARED / "data" / "csv" / "btc-perp-20211231-20220201_1m.csv"
SPY_CSV = SHARED / "data" / "csv" / "nt-spy-minute-2011.csv"


def load_example(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("examples") / "db"
    store = barstore.Store(path)
    store.ingest(BTC_CSV, symbol="BTC")
    store.ingest(SPY_CSV, symbol="SPY", stamp="end", session="us-equity-extended")
    return path


@pytest.fixture(scope="module")
def store(db):
    return barstore.Store(db, read_only=True)


def naive_crossover(csv_path, fast_bars=30, slow_bars=20):
    """The example's rule written plainly over pandas: fast = mean of the last 30 1m closes,
    slow = mean of the last 20 15m closes, both from bars closed by the step time t; long while
    fast > slow; fills at the close of the 1m bar ending at t; an open position closes at the end."""
    df = pd.read_csv(csv_path)
    start = pd.to_datetime(df["timestamp"]).to_numpy()  # naive stamps: bar starts in UTC, as ingested
    close = df["close"].to_numpy()
    assert (np.diff(start) == np.timedelta64(1, "m")).all()  # the file has no gaps: bar i starts at start[0] + i min
    # fast at step i (t = start[i] + 1m): bars 0..i are closed.
    fast = pd.Series(close).rolling(fast_bars).sum().to_numpy() / fast_bars
    # 15m bins: [s, s + 15m), labelled by s, close = close of the last 1m bar in the bin.
    m15 = pd.Series(close, index=pd.DatetimeIndex(start)).resample("15min", label="left", closed="left").last()
    slow15 = m15.rolling(slow_bars).sum() / slow_bars
    t = start + np.timedelta64(1, "m")
    last_closed_bin = pd.DatetimeIndex(t - np.timedelta64(15, "m")).floor("15min")  # s + 15m <= t
    slow = slow15.reindex(last_closed_bin).to_numpy()
    trades, entry = [], None
    for i in range(len(close)):
        if np.isnan(fast[i]) or np.isnan(slow[i]):
            continue
        if fast[i] > slow[i] and entry is None:
            entry = (t[i], close[i])
        elif not fast[i] > slow[i] and entry is not None:
            trades.append((*entry, t[i], close[i]))
            entry = None
    if entry is not None:
        trades.append((*entry, t[-1], close[-1]))
    return trades, sum(exit_price - entry_price for _, entry_price, _, exit_price in trades)


@pytest.fixture(scope="module")
def naive():
    return naive_crossover(BTC_CSV)


def test_backtest_equals_naive_pandas(store, naive):
    want_trades, want_pnl = naive
    assert len(want_trades) > 10  # the rule trades: a comparison of two empty lists would prove nothing
    got = load_example("backtest").backtest(store, "BTC")
    assert got["steps"] == 45031
    assert [(np.datetime64(a, "ns"), p, np.datetime64(b, "ns"), q) for a, p, b, q in got["trades"]] == \
           [(np.datetime64(a, "ns"), p, np.datetime64(b, "ns"), q) for a, p, b, q in want_trades]
    # Prices are multiples of 0.25, so every sum is exact in float64: equal, not approximately.
    assert got["pnl"] == want_pnl
    assert got["stats"]["hits"] > 0 and got["stats"]["store_reads"] > 0


def test_backtest_script_runs_and_prints_the_same(naive):
    want_trades, want_pnl = naive
    out = subprocess.run([sys.executable, EXAMPLES / "backtest.py", BTC_CSV], capture_output=True, text=True,
                         check=True).stdout
    assert f"ingested 45031 bars of {BTC_CSV} as BTC" in out
    assert re.search(rf"^trades: {len(want_trades)} \(\d+ won\)$", out, re.M), out
    assert re.search(rf"^pnl: {want_pnl:+.2f} USD per BTC$", out, re.M), out
    assert re.search(r"^reader.stats\(\): hits=\d+, misses=\d+, ", out, re.M), out


def cli_csv(db, *args):
    text = subprocess.run([EXE, "query", "--db", db, *map(str, args), "--format", "csv"], capture_output=True,
                          text=True, check=True).stdout
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["ts", "open", "high", "low", "close", "volume"]
    return rows[1:]


# (asset, length, timestep, now): bin boundaries (12:00 closes a 1m, 5m, 15m and 1h bin at once;
# 00:00 a day), one minute before them, more bars asked than exist, and a time before the data.
HISTORY_CASES = [
    ("BTC", 200, "minute", "2022-01-10T12:00"),
    ("BTC", 20, "15 minutes", "2022-01-10T12:00"),
    ("BTC", 20, "15 minutes", "2022-01-10T11:59"),
    ("BTC", 48, "hour", "2022-01-20T13:07"),
    ("BTC", 7, "day", "2022-01-20T00:00"),
    ("BTC", 100, "day", "2022-01-20T00:00"),
    ("BTC", 3, "5 minutes", "2021-12-31T23:00"),
    ("SPY", 30, "5 minutes", "2011-01-18T14:35"),
    ("SPY", 10, "hour", "2011-01-18T21:00"),
    ("SPY", 3, "day", "2011-01-18T00:00"),
]


@pytest.mark.parametrize("asset,length,timestep,now", HISTORY_CASES)
def test_get_historical_prices_equals_query_and_cli(db, store, asset, length, timestep, now):
    data = load_example("historical").BarstoreData(store, now=now)
    got = data.get_historical_prices(asset, length, timestep)
    want = store.query(asset, timeframe=timestep, last=length, as_of=now)
    rows = cli_csv(db, asset, "--timeframe", timestep, "--last", length, "--as-of", now)
    assert len(got) == len(want) == len(rows) <= length
    df = got.pandas_df
    assert df is got.pandas_df and got.df is df  # built once
    assert list(df.index.asi8) == list(want.ts.astype(np.int64)) == \
           [np.datetime64(r[0].rstrip("Z"), "ns").astype(np.int64) for r in rows]
    for i, name in enumerate(["open", "high", "low", "close", "volume"]):
        assert list(df[name]) == list(getattr(want, name)) == [float(r[1 + i]) for r in rows], name
    assert len(df) == 0 or df.index[-1] < pd.Timestamp(now, tz="UTC")


def test_get_historical_prices_while_the_clock_moves(store):
    # One data source stepped minute by minute across 12:00 (a Reader's cache slides and reuses
    # its windows): every answer still equals a fresh Store.query.
    data = load_example("historical").BarstoreData(store, budget_bytes=1 << 20)
    t0 = np.datetime64("2022-01-10T11:30")
    for step in range(0, 61):
        data.now = t0 + np.timedelta64(step, "m")
        for length, timestep in ((60, "minute"), (8, "15 minutes"), (5, "hour")):
            got = data.get_historical_prices("BTC", length, timestep)
            want = store.query("BTC", timeframe=timestep, last=length, as_of=data.now)
            assert list(got.bars.ts) == list(want.ts) and list(got.bars.close) == list(want.close), (data.now, timestep)
            if timestep == "minute":
                assert data.get_last_price("BTC") == got.get_last_price() == want.close[-1]
    with pytest.raises(ValueError):
        load_example("historical").BarstoreData(store).get_historical_prices("BTC", 5, "minute")
