#!/usr/bin/python3
"""A moving-average crossover over BTC-PERP, stepping minute by minute through a barstore.Reader
on 1m and 15m bars (docs/python.md, "An example backtest").

    /usr/bin/python3 docs/examples/python/backtest.py [CSV_OR_STORE] [--symbol BTC]

A CSV is ingested into a temporary store first. Without a path it reads the btc-perp file in
$BARSTORE_SHARED (default: ../shared beside the repository).

The rule, at each minute t, from bars closed by t only (the Reader never looks ahead):
fast = mean close of the last 30 1m bars, slow = mean close of the last 20 15m bars (5 hours);
hold 1 BTC while fast > slow, else be flat. Fills at the last price at t (the close of the 1m bar
that ended at t), no fees; a position still open at the end is closed at the last price.
tests/python/test_examples.py checks the trades and PnL against pandas on the CSV.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import barstore

FAST_BARS, SLOW_BARS = 30, 20
MINUTE = np.timedelta64(1, "m")


def backtest(store, symbol):
    """Runs the rule over the whole 1m series of `symbol`: {'trades', 'pnl', 'steps', 'stats'}.
    trades: (entry time, entry price, exit time, exit price) per round trip; pnl: USD per 1 BTC."""
    [series] = [s for s in store.list() if s["symbol"] == symbol and s["timeframe"] == "1m"]
    first, end = series["first"] + MINUTE, series["last"] + MINUTE  # first and last bar's close
    reader = barstore.Reader(store, history_bars=5000, lookahead_bars=1000)
    trades, entry, price = [], None, None
    steps = (end - first) // MINUTE + 1
    for step in range(steps):
        t = first + step * MINUTE
        fast = reader.bars(symbol, "1m", FAST_BARS, t).close
        slow = reader.bars(symbol, "15m", SLOW_BARS, t).close
        price = reader.last_price(symbol, t)
        if len(fast) < FAST_BARS or len(slow) < SLOW_BARS:  # the first 5 hours
            continue
        want_long = fast.mean() > slow.mean()
        if want_long and entry is None:
            entry = (t, price)
        elif not want_long and entry is not None:
            trades.append((*entry, t, price))
            entry = None
    if entry is not None:
        trades.append((*entry, end, price))
    pnl = sum(exit_price - entry_price for _, entry_price, _, exit_price in trades)
    return {"trades": trades, "pnl": pnl, "steps": steps, "stats": reader.stats()}


def main():
    shared = Path(os.environ.get("BARSTORE_SHARED", Path(__file__).resolve().parents[4] / "shared"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", default=shared / "data/csv/btc-perp-20211231-20220201_1m.csv",
                        help="a 1m CSV (ingested into a temporary store) or a store directory")
    parser.add_argument("--symbol", default="BTC")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="barstore-backtest-") as tmp:
        if Path(args.path).is_dir():
            store = barstore.Store(args.path, read_only=True)
        else:
            store = barstore.Store(Path(tmp) / "db")
            [ingested] = store.ingest(args.path, symbol=args.symbol)
            print(f"ingested {ingested['bars']} bars of {args.path} as {args.symbol}")
        started = time.perf_counter()
        result = backtest(store, args.symbol)
        seconds = time.perf_counter() - started

    trades = result["trades"]
    won = sum(exit_price > entry_price for _, entry_price, _, exit_price in trades)
    print(f"{result['steps']} steps in {seconds:.2f} s ({seconds / result['steps'] * 1e6:.1f} us per step, "
          "3 Reader calls each)")
    print(f"trades: {len(trades)} ({won} won)")
    print(f"pnl: {result['pnl']:+.2f} USD per BTC")
    minute = lambda t: np.datetime_as_string(t, unit="m")
    for i, (entry_ts, entry_price, exit_ts, exit_price) in enumerate(trades):
        if i < 3 or i == len(trades) - 1:
            print(f"  long {minute(entry_ts)} at {entry_price:.2f}, flat {minute(exit_ts)} at {exit_price:.2f}")
        elif i == 3:
            print("  ...")
    print("reader.stats():", ", ".join(f"{k}={v}" for k, v in result["stats"].items()))


if __name__ == "__main__":
    sys.exit(main())
