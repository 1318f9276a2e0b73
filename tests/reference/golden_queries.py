#!/usr/bin/env python3
"""Independent reference for tests/cli/ingest_query.stdout: parses the real CSV files with the
standard library (decimal.Decimal, datetime) and resamples them by plain grouping. Run it to
regenerate the golden file after reviewing a change: python3 golden_queries.py SHARED > out."""
import datetime as dt
import sys
from decimal import Decimal, ROUND_HALF_EVEN

shared = sys.argv[1]
UTC = dt.timezone.utc


def exact(text):
    """The CSV rule: exact, except that a fraction past 15 significant digits (a double printed
    in full) is rounded half-even to 15 significant digits; integer digits are never rounded."""
    d = Decimal(text).normalize()
    t = d.as_tuple()
    if t.exponent < 0 and len(t.digits) > 15:
        d = d.quantize(Decimal(1).scaleb(min(0, t.exponent + len(t.digits) - 15)), rounding=ROUND_HALF_EVEN)
    return d


def load(path, sep, parse_ts, shift_s):
    bars = []
    for line in open(path, newline=""):
        line = line.strip()
        if not line or line[0].isalpha():
            continue
        f = line.split(sep)
        ts = int(parse_ts(f[0]).replace(tzinfo=UTC).timestamp()) - shift_s
        o, h, l, c, v = (exact(x) for x in f[1:6])
        bars.append((ts, o, h, l, c, v))
    return bars


def resample(bars, tf):
    out = {}
    for ts, o, h, l, c, v in bars:
        label = ts - ts % tf
        if label not in out:
            out[label] = [label, o, h, l, c, v]
        else:
            b = out[label]
            b[2], b[3], b[4], b[5] = max(b[2], h), min(b[3], l), c, b[5] + v
    return [tuple(out[k]) for k in sorted(out)]


def fmt(d):
    s = format(d.normalize(), "f")
    return "0" if s in ("-0", "") else s


def iso(ts):
    return dt.datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def csv(rows):
    print("ts,open,high,low,close,volume")
    for r in rows:
        print(",".join([iso(r[0])] + [fmt(x) for x in r[1:]]))


btc = load(f"{shared}/data/csv/btc-perp-20211231-20220201_1m.csv", ",",
           lambda s: dt.datetime.strptime(s, "%Y-%m-%d %H:%M:%S.%f"), 0)
spy = load(f"{shared}/data/csv/nt-spy-minute-2011.csv", ";",
           lambda s: dt.datetime.strptime(s, "%Y%m%d %H%M%S"), 60)
T = lambda s: int(dt.datetime.fromisoformat(s).replace(tzinfo=UTC).timestamp())

print("# btc 1h last 3")
csv(resample(btc, 3600)[-3:])
print("# btc 1d from 2022-01-30 to 2022-02-01")
csv([b for b in resample(btc, 86400) if T("2022-01-30") <= b[0] < T("2022-02-01")])
print("# btc 5m as of 2022-01-15 10:07, last 2 closed")
asof = T("2022-01-15 10:07")
closed = [b for b in resample([b for b in btc if b[0] + 60 <= asof], 300) if b[0] + 300 <= asof]
csv(closed[-2:])
print("# btc 5m as of 2022-01-15 10:07 with the forming bar")
csv(resample([b for b in btc if b[0] + 60 <= asof], 300)[-2:])
print("# spy 1m last 2 (stamps are bar ends)")
csv(spy[-2:])
print("# spy 1h from 2011-01-18T14:00 to 2011-01-18T17:00")
csv([b for b in resample(spy, 3600) if T("2011-01-18 14:00") <= b[0] < T("2011-01-18 17:00")])
print("# spy 15m as of 2011-01-03T14:40 (no look-ahead), last 3")
asof = T("2011-01-03 14:40")
csv([b for b in resample([b for b in spy if b[0] + 60 <= asof], 900) if b[0] + 900 <= asof][-3:])
