"""A moving-average crossover for parameter sweeps (docs/deploy.md, barstore.dask):

    /usr/bin/python3 -m barstore.dask --snapshot bars.snapshot --strategy docs/examples/python/ma_cross.py \
        --grid fast=5..50:5,slow=50..200:25 --symbols BTC,SPY

At each step t, every `timeframe` from the series' first bar to its end, it reads the last `slow`
closed bars as of t (one Reader call: the Reader never looks ahead) and holds 1 unit while the
mean close of the last `fast` is above the mean of all `slow`, else nothing. Marked to the last
price at each step, no fees. Returns the profit in price units, the number of round trips and
the number of steps.
"""
import numpy as np


def strategy(reader, symbol, fast=10, slow=50, timeframe="15m"):
    step = np.timedelta64(_timeframe_minutes(timeframe), "m")
    series = reader.store.info(symbol)  # its first and last bar (labels: a bar's start)
    base = np.timedelta64(_timeframe_minutes(series["timeframe"]), "m")
    end = series["last"] + base  # the close of the last bar
    window = max(fast, slow)
    pnl, trades, steps, held, last = 0.0, 0, 0, False, None
    # Every step time at once: iterating an array is cheaper than datetime64 arithmetic per step.
    for t in np.arange(series["first"] + step, end + np.timedelta64(1, "ns"), step):
        closes = reader.bars(symbol, timeframe, window, t).close
        price = reader.last_price(symbol, t)
        if held and price is not None:
            pnl += price - last
        if price is not None:
            last = price
        if len(closes) == window:
            want = closes[-fast:].sum() / fast > closes[-slow:].sum() / slow  # means; .sum() costs half of .mean()
            if want and not held:
                trades += 1
            held = want
        steps += 1
    return {"pnl": pnl, "trades": trades, "steps": steps}


def _timeframe_minutes(text):  # '15m', '1h', '1d': the CLI's short spellings
    units = {"m": 1, "h": 60, "d": 1440}
    return int(text[:-1]) * units[text[-1]]
