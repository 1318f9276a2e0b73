# ls, info and verify on a small store; verify catches a flipped byte and exits 1.
set -u
db=$PWD/db
printf 'ts,open,high,low,close,volume\n' > a.csv
for i in $(seq 0 9); do printf '2024-01-02 10:0%d:00,1.5,2,1,1.25,%d\n' "$i" "$i" >> a.csv; done
"$BARSTORE" ingest --db "$db" --timeframe 1m a.csv
"$BARSTORE" ls --db "$db"
"$BARSTORE" info --db "$db" a | grep -E "^(symbol|timeframe|rows|span|decimals|chunks):"
"$BARSTORE" verify --db "$db"; echo "verify: exit $?"
# Flip one byte inside the chunk (found by its magic) and verify again.
off=$(grep -obUaP 'BSCK' "$db/data.mdb" | head -1 | cut -d: -f1)
printf '\xff' | dd of="$db/data.mdb" bs=1 seek=$((off + 40)) conv=notrunc status=none
"$BARSTORE" verify --db "$db" | sed "s|$PWD/||"; echo "verify: exit ${PIPESTATUS[0]}"
"$BARSTORE" query --db "$db" a >/dev/null 2>err.txt; echo "query: exit $?"
cat err.txt
# --replace swaps the bars of the file's range inside one transaction; jsonl prints exact decimals.
db2=$PWD/db2
"$BARSTORE" ingest --db "$db2" --timeframe 1m a.csv >/dev/null
printf 'ts,open,high,low,close,volume\n2024-01-02 10:03:00,7.125,8,7,7.5,30\n2024-01-02 10:04:00,7.5,9,7.5,8,40\n' > r.csv
"$BARSTORE" ingest --db "$db2" --symbol a --timeframe 1m r.csv >/dev/null 2>&1; echo "append over stored bars: exit $?"
"$BARSTORE" ingest --db "$db2" --symbol a --timeframe 1m --replace r.csv
"$BARSTORE" query --db "$db2" a --from 2024-01-02T10:02:00Z --to 2024-01-02T10:06:00Z --format jsonl
"$BARSTORE" info --db "$db2" a | grep -E "^(rows|decimals):"
