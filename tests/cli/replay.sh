# replay: identical checksums of every bar returned with no cache, with a 1 GiB budget, with
# 256 KiB, and with 40 KiB (evicting and spilling nearly every step, which the counters show);
# a session-aligned series stepped through its gaps; stats lists what the spill tier kept.
set -eu
db=$PWD/db
"$BARSTORE" ingest --db "$db" --symbol BTC "$SHARED/data/csv/btc-perp-20211231-20220201_1m.csv" >/dev/null 2>&1
"$BARSTORE" ingest --db "$db" --symbol SPY --stamp end --session us-equity "$SHARED/data/csv/nt-spy-minute-2011.csv" >/dev/null
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([0-9a-z-]*\)\"\{0,1\}[,}].*/\1/p" "$2"; }
run() {
  local name=$1 range=$2; shift 2
  for mode in "--no-cache" "--budget 1GiB" "--budget 256KiB" "--budget 40KiB"; do
    # shellcheck disable=SC2086
    "$BARSTORE" replay --db "$db" $range --bars 200 --json $mode "$@" > out.json
    echo "$name $mode: checksum $(field checksum out.json) steps $(field steps out.json) bars $(field bars out.json)"
    if [ "$mode" = "--budget 40KiB" ]; then
      [ "$(field evictions out.json)" -gt 0 ] && echo "  evicted: yes"
      [ "$(field spills out.json)" -gt 0 ] && [ "$(field spill_hits out.json)" -gt 0 ] && echo "  spilled and re-hydrated: yes"
      [ "$(field peak_resident_bytes out.json)" -le 40960 ] && echo "  peak resident within 40 KiB: yes"
    fi
  done
}
run "btc+spy" "--symbols BTC,SPY --timeframes 1m,5m,1h --from 2022-01-10 --to 2022-01-12 --step 7m"
run "spy session" "--symbols SPY --timeframes 1m,15m,1h,1d --from 2011-01-05 --to 2011-01-12 --step 13m"
"$BARSTORE" stats --db "$db" --json > stats.json
echo "stats: spill exists $(field exists stats.json), entries $(field entries stats.json)"
"$BARSTORE" stats --db "$db" | tail -n +3 | awk '{print $1, $2, $4, $5, $NF}' | sort
# Byte sizes: plain, binary and decimal units.
for b in 1048576 1GB 64m "1.5 MiB"; do
  "$BARSTORE" replay --db "$db" --symbols BTC --timeframes 5m --bars 50 --from 2022-01-10 --to 2022-01-10T06:00:00Z --budget "$b" --no-spill --json > out.json
  echo "budget $b: $(field budget_bytes out.json) bytes, checksum $(field checksum out.json)"
done
"$BARSTORE" replay --db "$db" --symbols BTC --timeframes 1m --bars 5 --from 2022-01-10 --to 2022-01-10 --budget 12XB 2>&1 || echo "bad budget: exit $?"
