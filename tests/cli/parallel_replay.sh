# Many processes, one store: 8 replay processes at once over prewarmed aggregates, while ingests
# append to other series and prewarm them, each get the checksum of a single-process run without
# prewarmed aggregates; so do replays of a snapshot taken meanwhile.
set -eu
db=$PWD/db
"$BARSTORE" ingest --db "$db" --symbol BTC "$SHARED/data/csv/btc-perp-20211231-20220201_1m.csv" >/dev/null 2>&1
"$BARSTORE" ingest --db "$db" --symbol SPY --stamp end --session us-equity "$SHARED/data/csv/nt-spy-minute-2011.csv" >/dev/null
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([0-9a-z-]*\)\"\{0,1\}[,}].*/\1/p" "$2"; }
# Budgets from roomy to tiny (evicting and spilling nearly every step, re-reading the store),
# each process with a spill directory of its own, so they share nothing but the store.
budgets=(1GiB 1GiB 1GiB 256KiB 256KiB 256KiB 64KiB 40KiB)
replay() {  # replay DB BUDGET OUT
  "$BARSTORE" replay --db "$1" --symbols BTC,SPY --timeframes 1m,5m,1h --bars 200 --from 2022-01-05 \
    --to 2022-01-12 --step 3m --budget "$2" --spill-dir "spill-$3" --json > "$3"
}
replay "$db" 1GiB single.json
single=$(field checksum single.json)
echo "single process: $(field steps single.json) steps, $(field bars single.json) bars"
# From here on the store holds 5m and 1h prewarmed (session-aligned for SPY, as replay's default).
"$BARSTORE" prewarm --db "$db" --symbols BTC,SPY --timeframes 5m,1h >/dev/null
replay "$db" 1GiB warm.json
[ "$(field checksum warm.json)" = "$single" ] && same=yes || same=no
[ "$(field prewarmed_hits warm.json)" -gt 0 ] && used=yes || used=no
echo "single process after prewarm: checksum equals the run without: $same, served from prewarmed bins: $used"

# The writer: the BTC file in 10 pieces, appended piece by piece (one ingest process and one
# commit each) to W1, then W2, ... until told to stop; commits counts them.
lines=$(wc -l < "$SHARED/data/csv/btc-perp-20211231-20220201_1m.csv")
per=$(( (lines - 1 + 9) / 10 ))
for i in $(seq 0 9); do
  { head -1 "$SHARED/data/csv/btc-perp-20211231-20220201_1m.csv"
    tail -n +2 "$SHARED/data/csv/btc-perp-20211231-20220201_1m.csv" | tail -n +$(( i * per + 1 )) | head -n "$per"; } > "piece$i.csv"
done
: > commits
(
  round=1
  while [ ! -e stop ]; do
    for i in $(seq 0 9); do
      "$BARSTORE" ingest --db "$db" --symbol "W$round" "piece$i.csv" >/dev/null 2>&1
      echo x >> commits
    done
    "$BARSTORE" prewarm --db "$db" --symbols "W$round" --timeframes 5m,1h >/dev/null 2>&1
    round=$((round + 1))
  done
) &
writer=$!
while [ "$(wc -l < commits)" -lt 2 ]; do sleep 0.05; done

before=$(wc -l < commits)
pids=()
for k in $(seq 0 7); do
  replay "$db" "${budgets[$k]}" "par$k.json" &
  pids+=($!)
done
"$BARSTORE" snapshot --db "$db" --out bars.snapshot >/dev/null
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
after=$(wc -l < commits)
for k in 0 3 7; do
  replay bars.snapshot "${budgets[$k]}" "snap$k.json" &
  pids+=($!)
done
wait "${pids[@]:8}"
touch stop
wait "$writer"

echo "replay processes failed: $failed"
for k in $(seq 0 7); do
  [ "$(field checksum "par$k.json")" = "$single" ] && same=yes || same="no: $(field checksum "par$k.json") vs $single"
  echo "replay $k (budget ${budgets[$k]}): checksum equals the single run: $same"
done
for k in 0 3 7; do
  [ "$(field checksum "snap$k.json")" = "$single" ] && same=yes || same=no
  echo "replay of the snapshot (budget ${budgets[$k]}): checksum equals the single run: $same"
done
[ "$after" -gt "$before" ] && echo "ingests committed while the replays ran: yes" || echo "ingests committed while the replays ran: NO ($before, $after)"
"$BARSTORE" verify --db "$db" | sed 's/[0-9]* series, [0-9]* chunks/N series, M chunks/'
"$BARSTORE" verify --db bars.snapshot | sed 's/[0-9]* series, [0-9]* chunks/N series, M chunks/'
