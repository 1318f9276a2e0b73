# verify --deep after prewarm is clean; a byte flipped in a prewarmed chunk is reported by verify
# (and verify --deep) with exit 1, query still prints the bars of the base (never the damaged
# bins), and --drop then prewarm repairs it.
set -u
# 8692 1-minute bars from 2024-01-01T00:01Z: the 1h aggregate is one chunk of 145 bins, a row
# count no base chunk (4096, 4096, 500) and no 5m chunk (1739) has, so the flip below finds it.
awk 'BEGIN { print "ts,open,high,low,close,volume"
             for (i = 0; i < 8692; i++) printf "%d,%d.5,%d,%d,%d.25,%d\n", 1704067260 + 60 * i, 100 + i % 7, 101 + i % 7, 99 + i % 7, 100 + i % 7, i }' > s.csv
"$BARSTORE" ingest --db db --symbol s --timeframe 1m s.csv >/dev/null
"$BARSTORE" prewarm --db db --symbols s --timeframes 5m,1h; echo "prewarm: exit $?"
"$BARSTORE" verify --db db --deep; echo "verify --deep: exit $?"
q() { "$BARSTORE" query --db db s --timeframe "$1" --format csv; }
q 1h > before-1h.csv
q 5m > before-5m.csv

# Flip a payload byte of the chunk whose header (magic "BSCK") says 145 rows (u32 at +8).
flip() {
  local off
  for off in $(grep -obUaP 'BSCK' "$1/data.mdb" | cut -d: -f1); do
    if [ "$(od -An -t u4 -j $((off + 8)) -N 4 "$1/data.mdb" | tr -d ' ')" = 145 ]; then
      printf '\xff' | dd of="$1/data.mdb" bs=1 seek=$((off + 240)) conv=notrunc status=none
      echo "flipped a byte of the 145-bin chunk"
      return
    fi
  done
  echo "chunk not found"
}
flip db
"$BARSTORE" verify --db db; echo "verify: exit $?"
"$BARSTORE" verify --db db --deep; echo "verify --deep: exit $?"
q 1h | cmp - before-1h.csv && echo "query 1h: the same bars"
q 5m | cmp - before-5m.csv && echo "query 5m: the same bars"

echo "--- repair: drop it as verify says, prewarm again"
cmd=$("$BARSTORE" verify --db db | sed -n 's/^  to rebuild it: barstore \(prewarm .*\), then .*/\1/p')
$BARSTORE $cmd; echo "drop: exit $?"
"$BARSTORE" prewarm --db db --symbols s --timeframes 5m,1h; echo "prewarm: exit $?"
"$BARSTORE" verify --db db --deep; echo "verify --deep: exit $?"
q 1h | cmp - before-1h.csv && echo "query 1h: the same bars"
