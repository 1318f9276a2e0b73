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
"$BARSTORE" verify --db "$db"; echo "verify: exit $?"
"$BARSTORE" query --db "$db" a >/dev/null 2>err.txt; echo "query: exit $?"
cat err.txt
