# What ingest reads but does not store is said, never dropped silently (issue 17): extra columns,
# a missing volume column; a DBN file of another schema is refused naming it, changing nothing;
# ls --json / info --json give one JSON object per series, checked field by field with Python's
# json module against what ls and query print.
set -u
db=$PWD/db
py=/usr/bin/python3
# A Yahoo-style daily file: Adj Close is read past, and named.
printf 'Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,10.5,11,10,10.75,10.70,1200\n2024-01-03,10.75,12,10.5,11.5,11.45,1500\n' > yahoo.csv
"$BARSTORE" ingest --db "$db" --symbol Y yahoo.csv 2>&1
# An FX quote file has no volume: stored as 0, and said.
printf 'time,open,high,low,close\n2024-01-02 10:00:00,1.1001,1.1003,1.1000,1.1002\n2024-01-02 10:01:00,1.1002,1.1004,1.1001,1.1004\n' > eurusd.csv
"$BARSTORE" ingest --db "$db" --symbol EURUSD eurusd.csv 2>&1
"$BARSTORE" query --db "$db" EURUSD --format csv
# A plain file has nothing to say.
printf 'ts,open,high,low,close,volume\n2024-01-02 10:00:00,1,2,1,2,5\n' > plain.csv
"$BARSTORE" ingest --db "$db" --symbol P --timeframe 1m plain.csv 2>&1

# ls --json: one object per line; its fields against ls's own text and query's row count.
"$BARSTORE" ls --db "$db" --json > ls.jsonl
"$BARSTORE" ls --db "$db" > ls.txt
$py - "$BARSTORE" "$db" <<'PY'
import json, subprocess, sys
exe, db = sys.argv[1:]
lines = open("ls.jsonl").read().splitlines()
text = open("ls.txt").read().splitlines()
assert len(lines) == len(text), (lines, text)
for line, t in zip(lines, text):
    o = json.loads(line)
    sym, base, bars = t.split("\t")[:3]
    assert (o["symbol"], o["base"], f'{o["rows"]} bars') == (sym, base, bars), (o, t)
    q = subprocess.run([exe, "query", "--db", db, sym, "--format", "csv"], capture_output=True, text=True, check=True)
    rows = q.stdout.splitlines()[1:]
    assert o["rows"] == len(rows)
    assert (o["first"], o["last"]) == (rows[0].split(",")[0], rows[-1].split(",")[0]), (o, rows)
    assert "disk_bytes" not in o
    print(o["symbol"], o["base"], o["rows"], o["first"], o["last"], o["price_decimals"], o["volume_decimals"],
          o["session"], o["prewarmed"], o["stored_bytes"] > 0, o["chunks"])
PY
# info --json: the same object plus disk bytes, which info's text also prints.
"$BARSTORE" info --db "$db" Y --json > info.jsonl
"$BARSTORE" info --db "$db" Y > info.txt
$py - <<'PY'
import json
lines = open("info.jsonl").read().splitlines()
assert len(lines) == 1
o = json.loads(lines[0])
text = dict(l.split(":", 1) for l in open("info.txt").read().splitlines() if ":" in l)
assert o["disk_bytes"] == int(text["disk bytes"]) and o["chunks"] == int(text["chunks"]), (o, text)
assert o["stored_bytes"] == int(text["chunk bytes"]) and o["generation"] == int(text["generation"])
print("info --json matches info:", o["symbol"], o["rows"], o["disk_bytes"] > 0)
PY
# Prewarmed aggregates appear in both.
"$BARSTORE" prewarm --db "$db" --symbols EURUSD --timeframes 5m,1h >/dev/null
"$BARSTORE" ls --db "$db" --json | $py -c 'import json,sys
for l in sys.stdin:
    o = json.loads(l)
    print(o["symbol"], [(p["timeframe"], p["align"], p["bins"], p["current"]) for p in o["prewarmed"]])'

# A DBN file of the trades schema (the 1m sample with its schema field, byte 24, set to 4).
cp "$SHARED/data/dbn/test_data.ohlcv-1m.dbn" trades.dbn
printf '\x04\x00' | dd of=trades.dbn bs=1 seek=24 conv=notrunc status=none
"$BARSTORE" ls --db "$db" --json > before.jsonl
"$BARSTORE" ingest --db "$db" trades.dbn 2>err.txt; echo "trades.dbn: exit $?"
sed "s|$PWD/||" err.txt
"$BARSTORE" ls --db "$db" --json > after.jsonl
cmp before.jsonl after.jsonl && echo "store unchanged"
