# `barstore query` prints the same bytes with and without prewarmed aggregates, on the real
# files: a store ("warm") after prewarm against the same store never prewarmed ("plain", the
# "before"), then after an append, a --replace and a session change that the aggregates follow.
# Timeframes, --from/--to, --last, --as-of (mid-bin too) and --include-forming, both alignments.
set -u
btc=$SHARED/data/csv/btc-perp-20211231-20220201_1m.csv
spy=$SHARED/data/csv/nt-spy-minute-2011.csv
head -n 30001 "$btc" > btc-a.csv                            # to 2022-01-21T19:00Z
{ head -n 1 "$btc"; tail -n +30002 "$btc"; } > btc-b.csv     # the rest
{ head -n 1 "$btc"; sed -n '20001,20500p' "$btc"; } > btc-r.csv  # a range inside btc-a, for --replace
for db in warm plain; do
  "$BARSTORE" ingest --db $db --symbol BTC btc-a.csv >/dev/null 2>&1
  "$BARSTORE" ingest --db $db --symbol SPY --stamp end --session us-equity "$spy" >/dev/null
done
queries() {  # every query, each output after a line naming it
  local db=$1 tf
  for tf in 5m 15m 1h 4h 1d 1w; do
    for args in "" "--from 2022-01-05T10:07:00Z --to 2022-01-19 --last 40" "--as-of 2022-01-12T13:37:00Z --last 5" \
                "--as-of 2022-01-30T00:00:00Z --last 3 --include-forming"; do
      echo "# BTC $tf $args"
      "$BARSTORE" query --db $db BTC --timeframe $tf $args --format csv 2>&1
    done
  done
  for tf in 5m 30m 1h 1d 1w; do
    for args in "" "--align utc --from 2011-01-10 --to 2011-01-20" "--as-of 2011-01-18T15:10:00Z --last 3 --include-forming" \
                "--align utc --as-of 2011-01-18T15:10:00Z --last 4"; do
      echo "# SPY $tf $args"
      "$BARSTORE" query --db $db SPY --timeframe $tf $args --format csv 2>&1
    done
  done
}
prewarm() {
  "$BARSTORE" prewarm --db warm --symbols BTC --timeframes 5m,15m,1h,4h,1d,1w --jobs 2 | tail -n 1
  "$BARSTORE" prewarm --db warm --symbols SPY --timeframes 5m,30m,1h,1d,1w | tail -n 1
  "$BARSTORE" prewarm --db warm --symbols SPY --timeframes 1h,1d --align utc | tail -n 1
}
queries plain > before.txt
echo "$(grep -c '^#' before.txt) queries, $(wc -l < before.txt) lines"
prewarm
queries warm > after.txt
cmp before.txt after.txt && echo "after prewarm: identical"

"$BARSTORE" ingest --db warm --symbol BTC btc-b.csv >/dev/null 2>&1
"$BARSTORE" ingest --db plain --symbol BTC btc-b.csv >/dev/null 2>&1
queries warm > warm.txt; queries plain > plain.txt
cmp warm.txt plain.txt && echo "after an append: identical"
"$BARSTORE" ingest --db warm --symbol BTC --replace btc-r.csv >/dev/null 2>&1
"$BARSTORE" ingest --db plain --symbol BTC --replace btc-r.csv >/dev/null 2>&1
"$BARSTORE" session --db warm SPY us-equity-extended >/dev/null
"$BARSTORE" session --db plain SPY us-equity-extended >/dev/null
queries warm > warm.txt; queries plain > plain.txt
cmp warm.txt plain.txt && echo "after a replace and a session change: identical"
cmp before.txt warm.txt >/dev/null || echo "(the bars did change)"
"$BARSTORE" ls --db warm | cut -f1,2,6
prewarm
"$BARSTORE" verify --db warm --deep
