# Ingest both real CSV files and query them; expected output comes from
# tests/reference/golden_queries.py, an independent stdlib-only reference.
set -e
db=$PWD/db
btc=$SHARED/data/csv/btc-perp-20211231-20220201_1m.csv
spy=$SHARED/data/csv/nt-spy-minute-2011.csv
"$BARSTORE" ingest --db "$db" --symbol BTC "$btc" >/dev/null
"$BARSTORE" ingest --db "$db" --symbol SPY --stamp end "$spy" >/dev/null
q() { "$BARSTORE" query --db "$db" "$@" --format csv; }
echo "# btc 1h last 3"
q BTC --timeframe 1h --last 3
echo "# btc 1d from 2022-01-30 to 2022-02-01"
q BTC --timeframe 1d --from 2022-01-30 --to 2022-02-01T00:00:00Z
echo "# btc 5m as of 2022-01-15 10:07, last 2 closed"
q BTC --timeframe 5m --as-of "2022-01-15 10:07" --last 2
echo "# btc 5m as of 2022-01-15 10:07 with the forming bar"
q BTC --timeframe 5m --as-of "2022-01-15T10:07:00Z" --last 2 --include-forming
echo "# spy 1m last 2 (stamps are bar ends)"
q SPY --last 2
echo "# spy 1h from 2011-01-18T14:00 to 2011-01-18T17:00"
q SPY --timeframe 1h --from 2011-01-18T14:00:00Z --to "2011-01-18 17:00"
echo "# spy 15m as of 2011-01-03T14:40 (no look-ahead), last 3"
q SPY --timeframe 15m --as-of 2011-01-03T14:40:00Z --last 3
