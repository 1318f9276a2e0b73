# A chunk that fails its checksum, in the middle of a series of three chunks (4096 bars each
# but the last): verify names it and the command that cuts it out; rm of that range works
# without reading it, and ingesting the file again with --replace restores every bar. On a
# second copy, ingest --replace over the corrupt chunk repairs it in one step. A range that only
# cuts into the chunk must read it: exit 1, naming the range to use, store unchanged.
set -u
awk 'BEGIN { print "ts,open,high,low,close,volume"
             for (i = 0; i < 8692; i++) printf "%d,%d.5,%d,%d,%d.25,%d\n", 1704067200 + 60 * i, 100 + i % 7, 101 + i % 7, 99 + i % 7, 100 + i % 7, i }' > s.csv
"$BARSTORE" ingest --db db --symbol s --timeframe 1m s.csv >/dev/null
cp -r db db2
"$BARSTORE" query --db db s --format csv > before.csv

# Flip a byte in the payload of the chunk that starts at bar 4096 (2024-01-03T20:16:00Z): the
# chunk header holds its first ts (i64 LE) 16 bytes after the magic "BSCK".
flip() {
  local want=$(( (1704067200 + 60 * 4096) * 1000000000 )) off
  for off in $(grep -obUaP 'BSCK' "$1/data.mdb" | cut -d: -f1); do
    if [ "$(od -An -t d8 -j $((off + 16)) -N 8 "$1/data.mdb" | tr -d ' ')" = "$want" ]; then
      printf '\xff' | dd of="$1/data.mdb" bs=1 seek=$((off + 400)) conv=notrunc status=none
      return
    fi
  done
  echo "chunk not found"
}
flip db
flip db2
"$BARSTORE" verify --db db > verify.txt; echo "verify: exit $?"
cat verify.txt
snap() { md5sum db/data.mdb | cut -d' ' -f1; }
before=$(snap)
"$BARSTORE" rm --db db s --from 2024-01-03T20:17:00Z --to 2024-01-06T12:32:00Z 2>&1; echo "rm part of it: exit $?"
[ "$before" = "$(snap)" ] && echo "store unchanged"
# The command verify printed.
cmd=$(sed -n 's/^  to cut it out: barstore \(rm .*\) (or .*/\1/p' verify.txt)
$BARSTORE $cmd; echo "rm: exit $?"
"$BARSTORE" verify --db db; echo "verify: exit $?"
"$BARSTORE" ingest --db db --symbol s --timeframe 1m --replace s.csv; echo "ingest --replace: exit $?"
"$BARSTORE" query --db db s --format csv | cmp - before.csv && echo "every bar is back"
"$BARSTORE" verify --db db; echo "verify: exit $?"

"$BARSTORE" ingest --db db2 --symbol s --timeframe 1m --replace s.csv; echo "db2 ingest --replace: exit $?"
"$BARSTORE" verify --db db2; echo "db2 verify: exit $?"
"$BARSTORE" query --db db2 s --format csv | cmp - before.csv && echo "db2: every bar is back"
