# compact and snapshot: a compacted store and a snapshot hold the same bars as the store (query
# output byte-identical, replay checksums equal), every read command opens a snapshot with
# --db FILE, read-only and without a lock file, and what would write to one, or over an existing
# file or store, is refused with exit 2 and changes nothing.
set -eu
"$BARSTORE" ingest --db db --symbol BTC "$SHARED/data/csv/btc-perp-20211231-20220201_1m.csv" >/dev/null 2>&1
"$BARSTORE" ingest --db db --symbol SPY --stamp end --session us-equity "$SHARED/data/csv/nt-spy-minute-2011.csv"
"$BARSTORE" rm --db db BTC --from 2022-01-08
size() { stat -c %s "$1"; }
queries() {  # the same queries against any --db
  "$BARSTORE" query --db "$1" BTC --timeframe 1h --format csv
  "$BARSTORE" query --db "$1" SPY --timeframe 15m --format csv
  "$BARSTORE" query --db "$1" SPY --timeframe 1d --format csv
}
queries db > db.csv
echo "--- compact"
"$BARSTORE" compact --db db --out compacted | sed 's/: .* -> .* (.*)$/: SIZE -> SIZE (N%)/'
[ "$(size compacted/data.mdb)" -lt "$(size db/data.mdb)" ] && echo "compacted data.mdb smaller: yes"
"$BARSTORE" ls --db compacted
"$BARSTORE" verify --db compacted
queries compacted | cmp - db.csv && echo "compacted: query output identical"
echo "--- snapshot"
"$BARSTORE" snapshot --db db --out bars.snapshot | sed 's/: .* -> .* (.*)$/: SIZE -> SIZE (N%)/'
echo "mode $(stat -c %a bars.snapshot), beside it: $(ls | grep -c '^bars') file(s) named bars*"
"$BARSTORE" ls --db bars.snapshot
"$BARSTORE" verify --db bars.snapshot
"$BARSTORE" info --db bars.snapshot SPY | grep -E '^(symbol|rows|span|generation)'
queries bars.snapshot | cmp - db.csv && echo "snapshot: query output identical"
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([0-9a-z-]*\)\"\{0,1\}[,}].*/\1/p" "$2"; }
for d in db bars.snapshot; do
  "$BARSTORE" replay --db "$d" --symbols BTC,SPY --timeframes 1m,1h --bars 100 --from 2022-01-02 --to 2022-01-03 --step 13m --json > r.json
  echo "replay $d: checksum $(field checksum r.json)"
done
"$BARSTORE" stats --db bars.snapshot
echo "--- refusals (exit 2, nothing changed)"
cp bars.snapshot before.snapshot
chmod u+w before.snapshot
"$BARSTORE" snapshot --db db --out bars.snapshot 2>&1 || echo "exit $?"
"$BARSTORE" ingest --db bars.snapshot --symbol ETH "$SHARED/data/csv/nt-spy-minute-2011.csv" 2>&1 || echo "exit $?"
"$BARSTORE" rm --db bars.snapshot SPY 2>&1 || echo "exit $?"
"$BARSTORE" session --db bars.snapshot SPY 24x7 2>&1 || echo "exit $?"
cmp bars.snapshot before.snapshot && echo "snapshot unchanged"
"$BARSTORE" compact --db db --out compacted 2>&1 || echo "exit $?"
"$BARSTORE" compact --db db --out db.csv 2>&1 || echo "exit $?"
"$BARSTORE" compact --db db --out no/such/dir 2>&1 || echo "exit $?"
"$BARSTORE" snapshot --db missing --out x.snapshot 2>&1 || echo "exit $?"
"$BARSTORE" ls --db db.csv 2>&1 || echo "exit $?"
echo "files: $(ls | grep -E 'snapshot|compacted|tmp|^no$|^x' | tr '\n' ' ')"
echo "--- a snapshot back into a store, which takes writes"
"$BARSTORE" compact --db bars.snapshot --out restored | sed 's/: .* -> .* (.*)$/: SIZE -> SIZE (N%)/'
"$BARSTORE" ingest --db restored --symbol SPY2 "$SHARED/data/csv/nt-spy-minute-2011.csv"
"$BARSTORE" ls --db restored
echo "--- a store nobody may write (directory 0555, files 0444) reads without a lock file"
mkdir frozen && cp db/data.mdb frozen/ && chmod 0444 frozen/data.mdb && chmod 0555 frozen
# As root, run barstore as nobody from a copy in this directory: the build tree may sit under a
# directory only root can enter (a clone in a 0700 home or mktemp -d). barstore links
# libbarstore statically, so the copy runs alone.
as_other() {
  if [ "$(id -u)" = 0 ]; then
    chmod o+x "$PWD"; cp "$BARSTORE" ./barstore-as-nobody
    setpriv --reuid=65534 --regid=65534 --clear-groups ./barstore-as-nobody "$@"
  else "$BARSTORE" "$@"; fi
}
as_other ls --db frozen
as_other query --db frozen SPY --timeframe 1d --format csv | cmp - <("$BARSTORE" query --db db SPY --timeframe 1d --format csv) && echo "frozen: query output identical"
echo "in frozen: $(ls frozen)"
"$BARSTORE" ingest --db frozen --symbol ETH "$SHARED/data/csv/nt-spy-minute-2011.csv" 2>&1 || echo "exit $?"
chmod 0755 frozen
