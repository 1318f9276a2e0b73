# barstore chart on the real data (SPY minute with a us-equity session, BTC minute 24x7): minute,
# hourly and daily charts, and a session series across the 2024-03-10 US DST change. Each chart is
# checked by chart_check.py against `barstore query --format csv` with the same arguments (one
# candle per row, evenly spaced slots, wicks on the price axis, time labels true in the zone);
# then the errors: unknown series, empty range, bad --tz, unwritable --out, none leaving a file.
set -e
db=$PWD/db
check=$(dirname "${BASH_SOURCE[0]}")/chart_check.py
"$BARSTORE" ingest --db "$db" --symbol SPY --stamp end --session us-equity "$SHARED/data/csv/nt-spy-minute-2011.csv" >/dev/null
"$BARSTORE" ingest --db "$db" --symbol BTC "$SHARED/data/csv/btc-perp-20211231-20220201_1m.csv" >/dev/null 2>&1
# No file of shared/data spans a DST change (January 2011 and January 2022, in every zone), so this
# series is made here: a deterministic walk, every minute of 09:30-16:00 New York on the weekdays
# 2024-03-06 .. 2024-03-13; the open is 14:30Z before Sunday 2024-03-10 and 13:30Z after it.
/usr/bin/python3 - >dst.csv <<'EOF'
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
ny, rng, price = ZoneInfo("America/New_York"), random.Random(13), 50000  # cents
print("ts,open,high,low,close,volume")
for day in range(6, 14):
    start = datetime(2024, 3, day, 9, 30, tzinfo=ny)
    if start.weekday() >= 5:
        continue
    for m in range(390):
        t = (start + timedelta(minutes=m)).astimezone(ZoneInfo("UTC"))
        o = price
        price += int(rng.random() * 41) - 20
        hi, lo = max(o, price) + int(rng.random() * 12), min(o, price) - int(rng.random() * 12)
        print(f"{t:%Y-%m-%d %H:%M:%S},{o / 100},{hi / 100},{lo / 100},{price / 100},{1000 + int(rng.random() * 5000)}")
EOF
"$BARSTORE" ingest --db "$db" --symbol DST --session us-equity dst.csv >/dev/null

# chart NAME ZONE TZ ARGS...: chart (with --tz TZ unless it is -) and query with the same ARGS,
# then the independent check with the labels' zone ZONE.
chart() {
  local name=$1 zone=$2 tz=()
  [ "$3" != - ] && tz=(--tz "$3")
  shift 3
  "$BARSTORE" chart --db "$db" "$@" "${tz[@]}" --out "$name.svg" >/dev/null
  "$BARSTORE" query --db "$db" "$@" --format csv >"$name.csv"
  /usr/bin/python3 "$check" "$name" "$name.svg" "$name.csv" "$zone"
}
echo "# minute, across a weekend and the MLK holiday (session zone: New York)"
chart spy-1m America/New_York - SPY --from 2011-01-14T20:00:00Z --to 2011-01-18T15:00:00Z
echo "# hourly, session-aligned, a week with a weekend"
chart spy-1h America/New_York - SPY --timeframe 1h --from 2011-01-12 --to 2011-01-20
echo "# hourly, UTC-aligned, as of a Tuesday noon, the last 40"
chart spy-1h-asof America/New_York - SPY --timeframe 1h --align utc --as-of 2011-01-18T17:00:00Z --last 40
echo "# daily, 24x7 (UTC)"
chart btc-1d UTC - BTC --timeframe 1d
echo "# hourly, 24x7, labels in Tokyo (--tz)"
chart btc-1h Asia/Tokyo Asia/Tokyo BTC --timeframe 1h --from 2022-01-20 --to 2022-01-24
echo "# 30m session bars across the 2024-03-10 DST change"
chart dst-30m America/New_York - DST --timeframe 30m
echo "# the same, labels in UTC (--tz): the open moves from 14:30 to 13:30"
chart dst-30m-utc UTC UTC DST --timeframe 30m --from 2024-03-08 --to 2024-03-12
echo "# the whole SPY minute series (the us-equity session's minutes): thousands of sub-pixel candles"
chart spy-all America/New_York - SPY

echo "# errors"
echo old >keep.svg
err() { "$BARSTORE" chart --db "$db" "$@" 2>&1 | sed "s|$PWD|DIR|g"; echo "exit ${PIPESTATUS[0]}"; }
set +e
err NOPE --out keep.svg
err SPY --from 2011-01-16 --to 2011-01-17 --out keep.svg
err SPY --tz Mars/Olympus --out keep.svg
err SPY --last 5 --out nodir/x.svg
mkdir adir
err SPY --last 5 --out adir
echo "keep.svg: $(cat keep.svg)"
ls | grep -c 'tmp-' || true
"$BARSTORE" chart --db "$db" SPY --last 5 --out keep.svg
grep -c 'class="candle ' keep.svg
