# --columns maps a CSV's fields by position (issue 17): a file whose header does not match its
# rows is refused without it and read with it; a bad mapping is refused naming it. A symbol
# column names the series; a long-format file of several symbols stores one series per symbol in
# its one transaction, or --symbol's rows only. Every refusal leaves the store byte for byte as
# it was (query and ls --json).
set -u
db=$PWD/db
snap() { "$BARSTORE" ls --db "$db" --json; for s in $("$BARSTORE" ls --db "$db" | cut -f1 | sort -u); do "$BARSTORE" query --db "$db" "$s" --format csv; done; }
refused() {  # refused LABEL ARGS...: runs an ingest that must fail and checks the store is unchanged
  local label=$1; shift
  snap > before.txt
  "$BARSTORE" ingest --db "$db" "$@" 2>err.txt >/dev/null; echo "$label: exit $?"
  cat err.txt
  snap > after.txt
  cmp -s before.txt after.txt && echo "$label: store unchanged" || echo "$label: STORE CHANGED"
}
printf 'ts,open,high,low,close,volume\n2024-01-02 09:30:00,1,2,1,2,5\n2024-01-02 09:31:00,2,3,1,2,6\n' > base.csv
"$BARSTORE" ingest --db "$db" --symbol BASE base.csv

# Issue 17's file: date and time in two fields under a header naming seven columns, rows of eight.
printf 'DateTime,Open,High,Low,Close,Volume,OpenInterest\n2024-01-02,09:30:00,10.5,11,10,10.75,1200,7\n2024-01-02,09:31:00,10.75,12,10.5,11.5,1500,8\n' > mismatched.csv
refused "no --columns" --symbol M mismatched.csv
"$BARSTORE" ingest --db "$db" --symbol M --columns date,time,open,high,low,close,volume,skip mismatched.csv 2>&1
"$BARSTORE" query --db "$db" M --format csv
# The same rows without their header: the first line is data and is kept.
tail -n +2 mismatched.csv | sed 's/^2024-01-02/2024-01-03/' > noheader.csv
"$BARSTORE" ingest --db "$db" --symbol M --columns date,time,open,high,low,close,volume,skip noheader.csv 2>&1
"$BARSTORE" ls --db "$db" | cut -f1-3

# Mappings that cannot be right are the call's fault.
refused "unknown role" --symbol M --columns ts,open,high,low,close,vol mismatched.csv
refused "role twice" --symbol M --columns date,time,open,open,low,close,volume,skip mismatched.csv
refused "no close" --symbol M --columns date,time,open,high,low,skip,volume,skip mismatched.csv
# A mapping that does not fit the rows is named at the first row it fails.
refused "wrong mapping" --symbol M2 --columns ts,open,high,low,close,volume,skip,skip mismatched.csv

# Symbol columns: one symbol names the series (ticker is recognised too).
printf 'ticker,ts,open,high,low,close,volume\nES,2024-01-02 09:30:00,4700,4701,4699,4700.5,10\nES,2024-01-02 09:31:00,4700.5,4702,4700,4701,12\n' > one.csv
"$BARSTORE" ingest --db "$db" one.csv 2>&1
# Long format: one series per symbol, all in the file's one transaction; --symbol keeps one.
printf 'symbol,ts,open,high,low,close,volume\nES,2024-01-02 09:32:00,4701,4702,4700,4701.5,9\nNQ,2024-01-02 09:32:00,16500,16510,16490,16505,3\nES,2024-01-02 09:33:00,4701.5,4703,4701,4702,11\nNQ,2024-01-02 09:33:00,16505,16520,16500,16515,4\nCL,2024-01-02 09:33:00,71.5,71.6,71.4,71.55,2\n' > long.csv
# A bad row of one symbol refuses the whole file: neither symbol is stored.
sed 's/^NQ,2024-01-02 09:33:00,16505,16520,16500/NQ,2024-01-02 09:33:00,16505,16520,16530/' long.csv > long-bad.csv
refused "long format, one bad row" long-bad.csv
refused "symbol not in file" --symbol GC long.csv
"$BARSTORE" ingest --db "$db" --symbol NQ long.csv 2>&1
# NQ is stored now: the file is refused whole, so ES and CL are not stored either.
refused "NQ again" --timeframe 1m long.csv
"$BARSTORE" query --db "$db" NQ --format csv
sed -i '/^NQ/d' long.csv
"$BARSTORE" ingest --db "$db" --timeframe 1m long.csv 2>&1
"$BARSTORE" query --db "$db" ES --format csv
"$BARSTORE" query --db "$db" CL --format csv
# --columns can name a symbol field in a headerless file.
printf '2024-01-02 09:34:00,4702,4704,4701,4703,8,ES\n' > es.csv
"$BARSTORE" ingest --db "$db" --columns ts,open,high,low,close,volume,symbol es.csv 2>&1
"$BARSTORE" ls --db "$db" | cut -f1-3
