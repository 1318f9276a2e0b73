#!/usr/bin/env python3
"""tests/cli/chart_check.py NAME SVG CSV ZONE: checks a `barstore chart` SVG against what
`barstore query --format csv` prints for the same arguments, with nothing of the chart's code:
the SVG must parse as XML (minidom); one candle per query row, in order (data-ts); candles in
evenly spaced slots (so a weekend or a night is no slot at all, not a flat candle); each candle's
wick where the price axis' own gridlines put its high and low; price ticks evenly spaced by a nice
step (1, 2, 2.5, 5 x 10^k) covering every bar; each time label true of the candle it stands under
in ZONE (zoneinfo), a date wherever the local date changes, and no two labels overlapping.
Prints a summary for the golden file; prints FAIL lines and exits 1 on any miss."""
import csv
import sys
from datetime import datetime
from decimal import Decimal
from xml.dom import minidom
from zoneinfo import ZoneInfo

name, svg_path, csv_path, zone = sys.argv[1:5]
failed = []


def fail(msg):
    failed.append(msg)
    print(f"FAIL {name}: {msg}")


def cls(el):
    return el.getAttribute("class").split()


def f(el, attr):
    return float(el.getAttribute(attr))


def text(el):
    return "".join(n.data for n in el.childNodes if n.nodeType == n.TEXT_NODE)


doc = minidom.parse(svg_path)  # raises on anything that is not well-formed XML
rows = list(csv.DictReader(open(csv_path)))
groups = {(g.getAttribute("class") or "").split()[0]: g for g in doc.getElementsByTagName("g")
          if g.getAttribute("class") and not g.getAttribute("class").startswith("candle ")}
candles = [g for g in doc.getElementsByTagName("g") if cls(g)[:1] == ["candle"]]

if [c.getAttribute("data-ts") for c in candles] != [r["ts"] for r in rows]:
    fail(f"{len(candles)} candles but {len(rows)} query rows, or not the same times")
tz = ZoneInfo(zone)


def local(ts):
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(tz)


# The price axis as drawn: label value -> gridline y, a straight line through every tick.
pa = groups["price-axis"]
ticks = [(Decimal(text(t)), f(l, "y1")) for l, t in zip(pa.getElementsByTagName("line"), pa.getElementsByTagName("text"))]
steps = {b[0] - a[0] for a, b in zip(ticks, ticks[1:])}
if len(steps) != 1:
    fail(f"price ticks not evenly spaced: {[str(v) for v, _ in ticks]}")
else:
    step = steps.pop()
    mant = step.scaleb(-step.adjusted()).normalize()
    if mant not in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5)):
        fail(f"price step {step} is not 1, 2, 2.5 or 5 x 10^k")
(v0, y0), (v1, y1) = ticks[0], ticks[-1]


def price_y(v):
    return y0 + (float(Decimal(v) - v0)) * (y1 - y0) / float(v1 - v0)


if rows and not (min(Decimal(r["low"]) for r in rows) >= min(v0, v1) and max(Decimal(r["high"]) for r in rows) <= max(v0, v1)):
    fail("price axis does not cover every bar")

xs = []
for c, r in zip(candles, rows):
    wick, body = c.getElementsByTagName("line")[0], c.getElementsByTagName("rect")[0]
    xs.append(f(wick, "x1"))
    up = Decimal(r["close"]) >= Decimal(r["open"])
    if ("up" in cls(c)) != up:
        fail(f"{r['ts']}: colour says {'up' if 'up' in cls(c) else 'down'}")
    if abs(f(wick, "y1") - price_y(r["high"])) > 0.02 or abs(f(wick, "y2") - price_y(r["low"])) > 0.02:
        fail(f"{r['ts']}: wick at {f(wick, 'y1')}..{f(wick, 'y2')}, axis puts high/low at "
             f"{price_y(r['high']):.2f}..{price_y(r['low']):.2f}")
    if f(body, "height") < 1 or f(body, "width") < 1:
        fail(f"{r['ts']}: body smaller than a pixel")
    t = local(r["ts"])
    want = t.strftime("%Y-%m-%d %H:%M") + (t.strftime(":%S") if t.second else "")
    tip = text(c.getElementsByTagName("title")[0])
    if not tip.startswith(want + "  O " + r["open"] + "  H " + r["high"]):
        fail(f"{r['ts']}: tooltip '{tip}', expected local time {want} in {zone}")
gaps = {round(b - a, 2) for a, b in zip(xs, xs[1:])}
if len(gaps) > 1 and max(gaps) - min(gaps) > 0.02:
    fail(f"candles not evenly spaced: slot widths {sorted(gaps)}")

# Time labels: each names the candle under it, in ZONE.
ta = groups["time-axis"]
by_x = {round(x, 2): i for i, x in enumerate(xs)}
labels = []
for l, t in zip(ta.getElementsByTagName("line"), ta.getElementsByTagName("text")):
    i = by_x.get(round(f(l, "x1"), 2))
    if i is None:
        fail(f"time label '{text(t)}' under no candle")
        continue
    lt = local(rows[i]["ts"])
    fits = {lt.strftime("%H:%M"), lt.strftime("%H:%M:%S"), f"{lt:%b} {lt.day}", f"{lt:%b}", str(lt.year)}
    if text(t) not in fits:
        fail(f"time label '{text(t)}' under a candle at {lt:%Y-%m-%d %H:%M} {zone}")
    new_day = i == 0 or local(rows[i - 1]["ts"]).date() != lt.date()
    if new_day and ":" in text(t):
        fail(f"time label '{text(t)}' at a new local day shows a time, not the date")
    labels.append((f(t, "x"), text(t)))
for (xa, a), (xb, b) in zip(labels, labels[1:]):
    if xb - xa < 6.6 * (len(a) + len(b)) / 2:  # 11px DejaVu Sans: under 6.6px a character
        fail(f"time labels '{a}' and '{b}' overlap")

title = " / ".join(text(t) for t in doc.getElementsByTagName("text")[:2])
print(f"{name}: {len(candles)} candles = {len(rows)} query rows, evenly spaced, on the price axis")
print(f"  title: {title}")
print(f"  time axis: {' | '.join(t for _, t in labels)}")
print(f"  price axis: {' '.join(str(v) for v, _ in ticks)}")
if len(rows) > 1:
    ts = [datetime.fromisoformat(r["ts"].replace("Z", "+00:00")) for r in rows]
    i = max(range(1, len(ts)), key=lambda k: ts[k] - ts[k - 1])
    print(f"  longest gap: {rows[i - 1]['ts']} -> {rows[i]['ts']} ({ts[i] - ts[i - 1]}), one slot apart")
sys.exit(1 if failed else 0)
