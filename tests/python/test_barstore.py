# tests/python/test_barstore.py: the Python module against an independent reference, the CLI's
# own text output (`barstore query --format csv`) for the same query on the real files, parsed
# here with Decimal; and every function, error class and argument form (docs/python.md).
import csv
import datetime as dt
import io
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

import barstore

SHARED = Path(os.environ.get("BARSTORE_SHARED", Path(__file__).resolve().parents[3] / "shared"))
EXE = os.environ.get("BARSTORE_EXE", "barstore")
BTC_CSV = SHARED / "data" / "csv" / "btc-perp-20211231-20220201_1m.csv"
SPY_CSV = SHARED / "data" / "csv" / "nt-spy-minute-2011.csv"
UTC = dt.timezone.utc


def cli(*args, check=True):
    return subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, check=check)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """One store of the real files, written through the module (ingest is under test too)."""
    path = tmp_path_factory.mktemp("store") / "db"
    store = barstore.Store(path)
    out = store.ingest(BTC_CSV, symbol="BTC")
    assert out == [{"file": str(BTC_CSV), "bars": 45031,
                    "series": [{"symbol": "BTC", "timeframe": "1m", "bars": 45031, "rounded_values": 6,
                                "notes": []}]}]
    store.ingest([SPY_CSV], symbol="SPY", stamp="end", session="us-equity-extended")
    return path


@pytest.fixture(scope="module")
def store(db):
    return barstore.Store(db, read_only=True)


def cli_rows(db, symbol, *opts):
    """The CLI's answer: (ts as int ns, [price/volume Decimal text]) per row."""
    text = cli("query", "--db", db, symbol, *opts, "--format", "csv").stdout
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["ts", "open", "high", "low", "close", "volume"]
    return [(np.datetime64(r[0].rstrip("Z"), "ns").astype(np.int64), r[1:]) for r in rows[1:]]


QUERIES = [
    ("BTC", dict(), []),
    ("BTC", dict(timeframe="1h"), ["--timeframe", "1h"]),
    ("BTC", dict(timeframe="15m", start="2022-01-10", end="2022-01-12T06:00"),
     ["--timeframe", "15m", "--from", "2022-01-10", "--to", "2022-01-12T06:00"]),
    ("BTC", dict(timeframe="1d", as_of="2022-01-20T13:07", include_forming=True, last=5),
     ["--timeframe", "1d", "--as-of", "2022-01-20T13:07", "--include-forming", "--last", "5"]),
    ("SPY", dict(timeframe="1h"), ["--timeframe", "1h"]),
    ("SPY", dict(timeframe="30m", align="utc", last=100), ["--timeframe", "30m", "--align", "utc", "--last", "100"]),
]


@pytest.mark.parametrize("symbol,kwargs,opts", QUERIES)
def test_query_equals_cli_csv(db, store, symbol, kwargs, opts):
    want = cli_rows(db, symbol, *opts)
    assert len(want) > 0
    b = store.query(symbol, **kwargs)
    e = store.query(symbol, exact=True, **kwargs)
    assert len(b) == len(e) == len(want)
    assert b.ts.dtype == np.dtype("datetime64[ns]") and b.close.dtype == np.float64 and e.close.dtype == np.int64
    assert list(b.ts.astype(np.int64)) == [t for t, _ in want]
    for i, name in enumerate(["open", "high", "low", "close", "volume"]):
        texts = [r[i] for _, r in want]
        scale = e.volume_scale if name == "volume" else e.price_scale
        # float64: the double nearest the decimal text; exact: the mantissa, by Decimal arithmetic.
        assert list(getattr(b, name)) == [float(t) for t in texts], name
        assert list(getattr(e, name)) == [int(Decimal(t) * scale) for t in texts], name
    df = b.to_pandas()
    assert list(df.columns) == ["open", "high", "low", "close", "volume"]
    assert str(df.index.tz) == "UTC" and df.index.name == "ts"
    assert list(df.index.asi8) == [t for t, _ in want]
    assert list(df["close"]) == [float(r[3]) for _, r in want]
    rec = e.to_numpy()
    assert rec.dtype.names == ("ts", "open", "high", "low", "close", "volume")
    assert list(rec["ts"].astype(np.int64)) == [t for t, _ in want]
    assert list(rec["volume"]) == list(e.volume)


def test_zero_copy_int64_columns_and_ts(store):
    e = store.query("BTC", timeframe="5m", exact=True)
    for arr in (e.ts, e.open, e.high, e.low, e.close, e.volume):
        assert arr.base is not None and not arr.flags.owndata
    b = store.query("BTC", timeframe="5m")
    assert b.ts.base is not None and not b.ts.flags.owndata
    # float64 prices are computed from the mantissas: new arrays (docs/python.md says so).
    assert b.close.flags.owndata
    # The capsule keeps the vector alive after the Bars object is gone.
    ts, close = e.ts, e.close
    first_close = int(close[0])
    del e, b
    assert int(close[0]) == first_close and len(ts) == len(close)


@pytest.mark.parametrize("unit", ["m", "s", "ms", "us", "ns"])
def test_datetime64_units_at_a_bin_close(store, unit):
    """The numpy units the module converts itself: the 11:55 5m bin closes at exactly 12:00, so
    as_of=12:00 includes it and one tick of the unit earlier does not. (ps, fs and as reach only
    days around 1970 in int64, so no bar of the real files can be asked for with them.)"""
    close = np.datetime64("2022-01-10T12:00", unit)
    tick = np.timedelta64(1, unit)
    at = store.query("BTC", timeframe="5m", last=1, as_of=close)
    before = store.query("BTC", timeframe="5m", last=1, as_of=close - tick)
    assert at.ts[0] == np.datetime64("2022-01-10T11:55", "ns"), unit
    assert before.ts[0] == np.datetime64("2022-01-10T11:50", "ns"), unit


def test_datetime64_calendar_units(store):
    """Days, weeks, months and years (numpy's calendar; months and years go through numpy)."""
    for t, last in [(np.datetime64("2022-01-10"), "2022-01-09T23:00"), (np.datetime64("2022-01", "M"), "2021-12-31T23:00"),
                    (np.datetime64("2022-01-13", "W"), "2022-01-12T23:00"), (np.datetime64("2022", "Y"), "2021-12-31T23:00")]:
        got = store.query("BTC", timeframe="1h", last=1, as_of=t)
        assert got.ts[0] == np.datetime64(last, "ns"), repr(t)


def test_aware_datetimes_random_offsets(store):
    """An aware datetime is its UTC instant whatever its offset (seed printed)."""
    seed = int.from_bytes(os.urandom(4), "little")
    print("seed", seed)
    rng = np.random.default_rng(seed)
    base = dt.datetime(2022, 1, 10, 12, tzinfo=UTC)
    for _ in range(20):
        offset = dt.timedelta(minutes=int(rng.integers(-14 * 60, 14 * 60)))
        local = base.astimezone(dt.timezone(offset))
        got = store.query("BTC", timeframe="5m", last=1, as_of=local)
        assert got.ts[0] == np.datetime64("2022-01-10T11:55", "ns"), (local, seed)
        early = store.query("BTC", timeframe="5m", last=1, as_of=local - dt.timedelta(microseconds=1))
        assert early.ts[0] == np.datetime64("2022-01-10T11:50", "ns"), (local, seed)


def test_time_argument_forms(store):
    pd = pytest.importorskip("pandas")
    want = store.query("BTC", timeframe="5m", last=3, as_of="2022-01-10T12:00:00Z")
    assert len(want) == 3
    forms = [
        "2022-01-10T12:00", "2022-01-10 12:00:00", "2022-01-10T14:00:00+02:00",
        dt.datetime(2022, 1, 10, 12), dt.datetime(2022, 1, 10, 12, tzinfo=UTC),
        dt.datetime(2022, 1, 10, 7, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        np.datetime64("2022-01-10T12:00"), np.datetime64("2022-01-10T12:00:00.000000000"),
        np.datetime64(1641816000, "s"),
        pd.Timestamp("2022-01-10 12:00"), pd.Timestamp("2022-01-10 13:00", tz="Europe/Paris"),
    ]
    for f in forms:
        got = store.query("BTC", timeframe="5m", last=3, as_of=f)
        assert list(got.ts) == list(want.ts), repr(f)
    day = store.query("BTC", timeframe="1h", start=dt.date(2022, 1, 10), end=np.datetime64("2022-01-11"))
    assert len(day) == 24 and day.ts[0] == np.datetime64("2022-01-10T00:00", "ns")
    # Nanoseconds survive a pandas Timestamp: 1 ns before 12:00 the 11:55 bin has not closed.
    got = store.query("BTC", timeframe="5m", last=1, as_of=pd.Timestamp("2022-01-10 12:00") - pd.Timedelta(1, "ns"))
    assert got.ts[0] == np.datetime64("2022-01-10T11:50", "ns")
    with pytest.raises(TypeError):
        store.query("BTC", as_of=1641816000)
    with pytest.raises(barstore.InvalidInput, match="NaT"):
        store.query("BTC", as_of=np.datetime64("NaT"))
    with pytest.raises(barstore.InvalidInput, match="as_of"):
        store.query("BTC", as_of=dt.datetime(1500, 1, 1))
    with pytest.raises(barstore.InvalidInput, match="as_of"):
        store.query("BTC", as_of=pd.NaT)
    with pytest.raises(barstore.InvalidInput):
        store.query("BTC", as_of=np.datetime64("3000-01-01"))
    with pytest.raises(barstore.InvalidInput):
        store.query("BTC", as_of="not a time")


def test_timeframe_argument_forms(store):
    want = list(store.query("BTC", timeframe="5m", last=10).ts)
    for tf in ["5m", "5min", "5 minutes", dt.timedelta(minutes=5)]:
        assert list(store.query("BTC", timeframe=tf, last=10).ts) == want, tf
    assert list(store.query("BTC", timeframe="hour", last=5).ts) == list(store.query("BTC", timeframe="1h", last=5).ts)
    assert list(store.query("BTC", timeframe="day", last=5).ts) == list(store.query("BTC", timeframe="1d", last=5).ts)
    for bad in ["5M", "7 fortnights", dt.timedelta(seconds=0.5), dt.timedelta(0)]:
        with pytest.raises(barstore.InvalidInput):
            store.query("BTC", timeframe=bad)
    with pytest.raises(barstore.InvalidInput):
        store.query("BTC", timeframe="90s")  # not a multiple of the 1m base


def test_errors_carry_the_cli_message(db, store):
    r = cli("query", "--db", db, "BTC", "--timeframe", "5M", check=False)
    assert r.returncode == 2
    with pytest.raises(barstore.InvalidInput) as e:
        store.query("BTC", timeframe="5M")
    assert str(e.value) == r.stderr.strip()
    assert isinstance(e.value, ValueError) and isinstance(e.value, barstore.Error)
    with pytest.raises(barstore.NotFound) as e:
        store.query("NOPE")
    assert isinstance(e.value, LookupError) and "NOPE" in str(e.value)
    for bad in [dict(last=-1), dict(align="sideways"), dict(include_forming=True),
                dict(start="2022-01-12", end="2022-01-10")]:
        with pytest.raises(barstore.InvalidInput):
            store.query("BTC", **bad)


def test_error_classes(tmp_path):
    assert issubclass(barstore.InvalidInput, ValueError) and issubclass(barstore.NotFound, LookupError)
    assert issubclass(barstore.IoError, OSError)
    for cls in (barstore.InvalidInput, barstore.NotFound, barstore.CorruptData, barstore.StorageFull, barstore.IoError):
        assert issubclass(cls, barstore.Error)
    assert issubclass(barstore.Error, Exception)
    # NotFound: a read-only open where no store is.
    with pytest.raises(barstore.NotFound):
        barstore.Store(tmp_path / "nothing", read_only=True)
    # IoError: the directory cannot be made (its parent is a file).
    (tmp_path / "file").write_text("x")
    with pytest.raises(barstore.IoError) as e:
        barstore.Store(tmp_path / "file" / "db")
    assert isinstance(e.value, OSError) and "file" in str(e.value)
    # InvalidInput: a write to a read-only store, with the store as it was.
    small = tmp_path / "small.csv"
    small.write_text("".join(f"2022-01-01T00:{m:02d}:00Z,1,2,0.5,1.5,10\n" for m in range(60)))
    barstore.Store(tmp_path / "db").ingest(small, symbol="S")
    ro = barstore.Store(tmp_path / "db", read_only=True)
    with pytest.raises(barstore.InvalidInput):
        ro.ingest(small, symbol="T")
    assert [s["symbol"] for s in ro.list()] == ["S"]


def test_corrupt_data_and_verify(tmp_path):
    small = tmp_path / "small.csv"
    small.write_text("".join(f"2022-01-01T{h:02d}:{m:02d}:00Z,{1000 + m},2000,500,{1000 + h},{h * m}\n"
                             for h in range(24) for m in range(60)))
    store = barstore.Store(tmp_path / "db")
    store.ingest(small, symbol="S")
    assert store.verify() == []
    del store
    data = bytearray((tmp_path / "db" / "data.mdb").read_bytes())
    at = data.find(b"BSCK")  # docs/format.md: a chunk's magic
    assert at > 0
    data[at + 60] ^= 0xFF
    (tmp_path / "db" / "data.mdb").write_bytes(bytes(data))
    store = barstore.Store(tmp_path / "db", read_only=True)
    with pytest.raises(barstore.CorruptData) as e:
        store.query("S")
    assert isinstance(e.value, barstore.Error) and "S" in str(e.value)
    problems = store.verify()
    assert len(problems) == 1 and problems[0]["symbol"] == "S" and problems[0]["undecodable"]


def test_storage_full(tmp_path):
    # LMDB's map of 1 MiB cannot hold the 45,031 bars (~7 bytes each after compression, 315 KB)
    # plus their pages... the write is refused whole and the store keeps nothing of it.
    store = barstore.Store(tmp_path / "db", map_size_bytes=64 << 10)
    with pytest.raises(barstore.StorageFull):
        store.ingest(BTC_CSV, symbol="BTC")
    assert store.list() == []


def test_ingest_forms_and_bad_file(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("ts,open,high,low,close,volume\n"
                    + "".join(f"2022-01-03 09:{m:02d},1.5,2,1,1.25,{m}\n" for m in range(30, 40)))
    store = barstore.Store(tmp_path / "db")
    out = store.ingest(str(good), symbol="X", timeframe="1m", tz="America/New_York")
    assert out[0]["bars"] == 10 and out[0]["series"][0]["timeframe"] == "1m"
    assert store.query("X").ts[0] == np.datetime64("2022-01-03T14:30", "ns")  # 09:30 in New York
    # The file's name is the default symbol, as in the CLI.
    assert store.ingest(good)[0]["series"][0]["symbol"] == "good"
    # replace=True rewrites the range; without it the same bars are refused.
    with pytest.raises(barstore.InvalidInput):
        store.ingest(good, symbol="X", tz="America/New_York")
    assert store.ingest(good, symbol="X", tz="America/New_York", replace=True)[0]["bars"] == 10
    bad = tmp_path / "bad.csv"
    bad.write_text("2022-01-03 10:00,1,2,1,1.5,1\n2022-01-03 10:01,1,0.5,1,1.5,1\n")
    before = store.list()
    with pytest.raises(barstore.InvalidInput, match="bad.csv:2"):
        store.ingest(bad, symbol="X")
    assert store.list() == before
    with pytest.raises(barstore.InvalidInput):
        store.ingest(good, symbol="")
    with pytest.raises(barstore.IoError):
        store.ingest(tmp_path / "missing.csv", symbol="X")
    # What a file holds but the store does not keep is said in the series' notes.
    fx = tmp_path / "fx.csv"
    fx.write_text("time,open,high,low,close,Spread\n2022-01-03 10:00,1.1,1.2,1.0,1.15,0.0001\n")
    [series] = store.ingest(fx, symbol="FX", timeframe="1m")[0]["series"]
    assert series["notes"] == ["columns not stored: Spread", "no volume column: volume stored as 0"]
    assert store.query("FX").volume.tolist() == [0.0]


def test_ingest_columns_and_gzip(tmp_path):
    # Issue 17: a header of seven names over rows of eight, mapped by position; the same file
    # gzip-compressed (under a name that says nothing) stores the same bars.
    import gzip
    text = ("DateTime,Open,High,Low,Close,Volume,OI\n"
            + "".join(f"2022-01-03,09:{m:02d}:00,1.5,2,1,1.25,{m},7\n" for m in range(30, 40)))
    f = tmp_path / "mapped.csv"
    f.write_text(text)
    store = barstore.Store(tmp_path / "db")
    with pytest.raises(barstore.InvalidInput, match="mapped.csv:2"):
        store.ingest(f, symbol="M")
    assert store.list() == []
    out = store.ingest(f, symbol="M", columns="date,time,open,high,low,close,volume,skip")
    assert out[0]["bars"] == 10
    g = tmp_path / "mapped.dat"
    g.write_bytes(gzip.compress(text.encode()))
    store.ingest(g, symbol="G", columns=["date", "time", "open", "high", "low", "close", "volume", "skip"])
    assert store.query("G").close.tolist() == store.query("M").close.tolist()
    assert store.query("G").ts.tolist() == store.query("M").ts.tolist()
    with pytest.raises(barstore.InvalidInput, match="unknown role 'vol'"):
        store.ingest(f, symbol="M2", columns="ts,open,high,low,close,vol")


def test_list_info_prewarm(tmp_path):
    store = barstore.Store(tmp_path / "db")
    store.ingest(BTC_CSV, symbol="BTC")
    [s] = store.list()
    assert s["symbol"] == "BTC" and s["timeframe"] == "1m" and s["rows"] == 45031
    assert s["first"] == np.datetime64("2021-12-31T23:01", "ns") and s["session"] == "24x7"
    info = store.info("BTC")
    assert info["rows"] == 45031 and info["disk_bytes"] > 0 and info["prewarmed"] == []
    before = store.query("BTC", timeframe="1h", exact=True)
    out = store.prewarm("BTC", ["1h", "1d"])
    assert [(o["timeframe"], o["align"], o["built"]) for o in out] == [("1h", "utc", True), ("1d", "utc", True)]
    assert [o["built"] for o in store.prewarm(["BTC"], "1h")] == [False]
    assert [p["timeframe"] for p in store.info("BTC")["prewarmed"]] == ["1h", "1d"]
    after = store.query("BTC", timeframe="1h", exact=True)
    assert list(after.close) == list(before.close) and list(after.ts) == list(before.ts)
    assert store.verify(deep=True) == []
    with pytest.raises(barstore.NotFound):
        store.info("NOPE")
    with pytest.raises(barstore.NotFound):
        store.prewarm("NOPE", "1h")
    with pytest.raises(barstore.InvalidInput):
        store.prewarm("BTC", "90s")


def test_reader_equals_query_and_answers_stay_valid(store):
    reader = barstore.Reader(store, budget_bytes=1 << 20, history_bars=500, lookahead_bars=200)
    t0 = np.datetime64("2022-01-05T00:00", "ns")
    kept = []
    for step in range(0, 600, 7):
        t = t0 + np.timedelta64(step, "m")
        for tf, n in (("1m", 50), ("15m", 20)):
            got = reader.bars("BTC", tf, n, t)
            want = store.query("BTC", timeframe=tf, last=n, as_of=t)
            assert list(got.ts) == list(want.ts) and list(got.close) == list(want.close)
            kept.append((got, want))
    # Every answer kept is still what it was after all the later calls (each is a copy).
    for got, want in kept:
        assert list(got.ts) == list(want.ts) and list(got.volume) == list(want.volume)
    price = reader.last_price("BTC", "2022-01-05T10:00")
    assert price == store.query("BTC", last=1, as_of="2022-01-05T10:00").close[0]
    assert reader.last_price("BTC", "2021-01-01") is None
    exact = reader.bars("BTC", "5m", 3, "2022-01-05T10:00", exact=True)
    assert exact.close.dtype == np.int64 and exact.price_scale == 10**exact.price_decimals
    floats = reader.bars("BTC", "5m", 3, "2022-01-05T10:00")
    assert list(exact.close / exact.price_scale) == list(floats.close)
    with pytest.raises(barstore.NotFound):
        reader.bars("NOPE", "5m", 3, t0)
    with pytest.raises(barstore.InvalidInput):
        reader.bars("BTC", "90s", 3, t0)
    with pytest.raises(barstore.InvalidInput):
        reader.bars("BTC", "5m", -1, t0)


def test_reader_stats_has_every_counter(store, tmp_path):
    reader = barstore.Reader(store, spill_dir=tmp_path / "spill")
    reader.bars("BTC", "5m", 10, "2022-01-10")
    reader.bars("BTC", "5m", 10, "2022-01-10T00:05")
    s = reader.stats()
    assert set(s) == {
        "hits", "misses", "evictions", "spills", "spill_hits", "spill_evictions", "spill_errors", "store_reads",
        "prewarmed_hits", "transients", "trims", "budget_bytes", "resident_bytes", "raw_bytes", "aggregate_bytes",
        "peak_resident_bytes", "raw_entries", "aggregate_entries", "spill_bytes", "spill_entries", "spill_disabled",
        "spill_disabled_reason"}
    assert s["misses"] >= 1 and s["hits"] >= 1 and s["budget_bytes"] == 1 << 30 and s["spill_disabled"] is False
    reader.clear()
    assert reader.stats()["resident_bytes"] == 0 and reader.stats()["spills"] >= 1
    # The Reader keeps its Store alive.
    r2 = barstore.Reader(barstore.Store(store.path, read_only=True))
    assert len(r2.bars("BTC", "1h", 2, "2022-01-10")) == 2


def test_pandas_imported_only_when_asked(db):
    code = ("import sys, barstore; s = barstore.Store(sys.argv[1], read_only=True); b = s.query('BTC', last=2); "
            "assert 'pandas' not in sys.modules; b.to_pandas(); assert 'pandas' in sys.modules")
    subprocess.run([sys.executable, "-c", code, str(db)], check=True)


def test_snapshot_and_compact_equal_the_clis(db, store, tmp_path):
    """Store.snapshot and Store.compact against the CLI's own snapshot of the same store: every
    series' query output equal; a snapshot opens read-only; neither writes over anything."""
    info = store.snapshot(tmp_path / "py.snapshot")
    assert info["copy_bytes"] == (tmp_path / "py.snapshot").stat().st_size > 0 and info["source_bytes"] > 0
    cli("snapshot", "--db", db, "--out", tmp_path / "cli.snapshot")
    assert store.compact(tmp_path / "compacted")["copy_bytes"] > 0
    for symbol in ("BTC", "SPY"):
        want = cli("query", "--db", tmp_path / "cli.snapshot", symbol, "--timeframe", "1h", "--format", "csv").stdout
        for copy in ("py.snapshot", "compacted"):
            assert cli("query", "--db", tmp_path / copy, symbol, "--timeframe", "1h", "--format", "csv").stdout == want
    snap = barstore.Store(tmp_path / "py.snapshot", read_only=True)
    assert snap.is_snapshot and not store.is_snapshot
    assert barstore.Reader(snap).store is snap
    with pytest.raises(barstore.InvalidInput):
        store.snapshot(tmp_path / "py.snapshot")
    with pytest.raises(barstore.InvalidInput):
        store.compact(tmp_path / "compacted")
    with pytest.raises(barstore.InvalidInput):
        snap.ingest(BTC_CSV, symbol="X")


def test_package_names():
    """Classes and errors carry the package's name (reprs, pickles), and `import barstore` leaves
    Dask unimported."""
    import pickle
    assert barstore.Store.__module__ == "barstore" and barstore.Reader.__module__ == "barstore"
    assert pickle.loads(pickle.dumps(barstore.NotFound("x"))).__class__ is barstore.NotFound
    code = "import sys, barstore; assert 'dask' not in sys.modules and 'distributed' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_docstrings():
    assert "as_of" in barstore.Store.query.__doc__ and "exact" in barstore.Store.query.__doc__
    assert barstore.Reader.bars.__doc__ and barstore.Bars.to_pandas.__doc__
