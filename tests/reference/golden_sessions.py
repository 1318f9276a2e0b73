#!/usr/bin/env python3
"""Independent reference for tests/cli/session_query.stdout: session-aligned and UTC-aligned bins
of the real SPY file, computed with the standard library alone (zoneinfo for New York time,
decimal.Decimal for prices). Per bar: its local time decides its trading date and whether it is
inside the session, its bin is computed on the local clock, then bars are grouped in a dict.
Regenerate after reviewing a change: python3 golden_sessions.py SHARED > ../cli/session_query.stdout"""
import datetime as dt
import sys
from decimal import Decimal
from zoneinfo import ZoneInfo

shared = sys.argv[1]
UTC = dt.timezone.utc
NY = ZoneInfo("America/New_York")
MIN, HOUR, DAY, WEEK = 60, 3600, 86400, 7 * 86400

# name: (open, close) local times; both presets run Monday..Friday.
SESSIONS = {"us-equity": (dt.time(9, 30), dt.time(16, 0)), "us-equity-extended": (dt.time(4, 0), dt.time(20, 0))}


def load_spy():
    """`YYYYMMDD HHMMSS;o;h;l;c;v`, stamps in UTC marking the bar's END: the bar starts 60 s earlier."""
    bars = []
    for line in open(f"{shared}/data/csv/nt-spy-minute-2011.csv", newline=""):
        line = line.strip()
        if not line:
            continue
        f = line.split(";")
        end = dt.datetime.strptime(f[0], "%Y%m%d %H%M%S").replace(tzinfo=UTC)
        bars.append((int(end.timestamp()) - 60, *(Decimal(x) for x in f[1:6])))
    return bars


def utc_ts(local_naive):
    """A New York wall-clock time to a UTC timestamp (fold=0: the earlier of a repeated time)."""
    return int(local_naive.replace(tzinfo=NY).timestamp())


def session_of(day, name):
    """(open, close) UTC timestamps of trading date `day`, or None on a weekend."""
    if day.weekday() >= 5:
        return None
    o, c = SESSIONS[name]
    return utc_ts(dt.datetime.combine(day, o)), utc_ts(dt.datetime.combine(day, c))


def place(ts, tf, name, align):
    """(label, end) of the bin holding the bar starting at ts, or None if the bar is left out."""
    if align == "utc":
        anchor = 4 * DAY if tf % WEEK == 0 else 0  # weeks start on Monday 1970-01-05
        label = ts - (ts - anchor) % tf
        return label, label + tf
    local = dt.datetime.fromtimestamp(ts, UTC).astimezone(NY).replace(tzinfo=None)
    o, c = SESSIONS[name]
    if local.weekday() >= 5 or not (o <= local.time() < c):
        return None
    day = local.date()
    open_local, close_local = dt.datetime.combine(day, o), dt.datetime.combine(day, c)
    if tf < DAY:
        k = int((local - open_local).total_seconds()) // tf
        label_local = open_local + dt.timedelta(seconds=k * tf)
        end_local = min(label_local + dt.timedelta(seconds=tf), close_local)
        return utc_ts(label_local), utc_ts(end_local)
    if tf == DAY:
        return utc_ts(open_local), utc_ts(close_local)
    assert tf == WEEK
    monday = day - dt.timedelta(days=day.weekday())
    days = [s for s in (session_of(monday + dt.timedelta(days=k), name) for k in range(7)) if s]
    return days[0][0], days[-1][1]


def query(bars, tf, name, align, start=None, stop=None, as_of=None, last=None, forming=False):
    bins = {}
    for ts, o, h, l, c, v in bars:
        if as_of is not None and ts + 60 > as_of:
            continue  # only bars that ended by as_of
        p = place(ts, tf, name, align)
        if p is None:
            continue
        if p[0] not in bins:
            bins[p[0]] = [p[0], o, h, l, c, v, p[1]]
        else:
            b = bins[p[0]]
            b[2], b[3], b[4], b[5] = max(b[2], h), min(b[3], l), c, b[5] + v
    out = []
    for label in sorted(bins):
        b = bins[label]
        if start is not None and label < start:
            continue
        if stop is not None and label >= stop:
            continue
        if as_of is not None and not forming and b[6] > as_of:
            continue
        out.append(b[:6])
    return out[-last:] if last else out


def fmt(d):
    s = format(d.normalize(), "f")
    return "0" if s in ("-0", "") else s


def iso(ts):
    return dt.datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def csv(rows):
    print("ts,open,high,low,close,volume")
    for r in rows:
        print(",".join([iso(r[0])] + [fmt(x) for x in r[1:]]))


T = lambda s: int(dt.datetime.fromisoformat(s).replace(tzinfo=UTC).timestamp())
spy = load_spy()
first, last_bar = spy[0][0], spy[-1][0]

print("# info")
print("session:      us-equity")
print("# 1h, default alignment (session): 2011-01-18")
csv(query(spy, HOUR, "us-equity", "session", T("2011-01-18 00:00"), T("2011-01-19 00:00")))
print("# 1h --align utc: 2011-01-18 14:00 to 20:00 UTC")
csv(query(spy, HOUR, "us-equity", "utc", T("2011-01-18 14:00"), T("2011-01-18 21:00")))
print("# 30m --align session, as of 2011-01-18T15:10Z: the last 3 closed, then with the forming bin")
csv(query(spy, 30 * MIN, "us-equity", "session", as_of=T("2011-01-18 15:10"), last=3))
csv(query(spy, 30 * MIN, "us-equity", "session", as_of=T("2011-01-18 15:10"), last=3, forming=True))
print("# 1d --align session, 2011-01-10 to 2011-01-22")
csv(query(spy, DAY, "us-equity", "session", T("2011-01-10 00:00"), T("2011-01-22 00:00")))
print("# 1d --align utc, 2011-01-10 to 2011-01-13")
csv(query(spy, DAY, "us-equity", "utc", T("2011-01-10 00:00"), T("2011-01-13 00:00")))
print("# 1d as of the close 2011-01-18T21:00Z, and a second before it")
csv(query(spy, DAY, "us-equity", "session", as_of=T("2011-01-18 21:00"), last=2))
csv(query(spy, DAY, "us-equity", "session", as_of=T("2011-01-18 20:59:59"), last=2))
print("# 1w --align session")
csv(query(spy, WEEK, "us-equity", "session"))
print("# 1w --align utc")
csv(query(spy, WEEK, "us-equity", "utc"))
print("# barstore session SPY us-equity-extended")
print("SPY 1m: session us-equity-extended")
print("session:      us-equity-extended")
print(f"SPY\t1m\t{len(spy)} bars\t{iso(first)} .. {iso(last_bar)}\tus-equity-extended")
print("# 1d extended, 2011-01-10 to 2011-01-15")
csv(query(spy, DAY, "us-equity-extended", "session", T("2011-01-10 00:00"), T("2011-01-15 00:00")))
print("# 4h extended, 2011-01-18")
csv(query(spy, 4 * HOUR, "us-equity-extended", "session", T("2011-01-18 00:00"), T("2011-01-19 00:00")))
print("# 1w extended as of Friday 2011-01-21T23:00Z (18:00 EST), with the forming week")
csv(query(spy, WEEK, "us-equity-extended", "session", as_of=T("2011-01-21 23:00"), last=2))
csv(query(spy, WEEK, "us-equity-extended", "session", as_of=T("2011-01-21 23:00"), last=2, forming=True))
