# spill_dir: a spill directory never costs the user a file. A copy of a store, the store's own
# directory however spelled, a directory holding the store, one holding a user's file, or a
# spill directory a store was ingested into: exit 2 and nothing in them touched, for replay and
# stats alike. A spill that cannot be used (no room for its files) is not an error: the replay
# runs without it, says so once on stderr and in --json, and returns the same bars.
set -u
mkdir A1
"$BARSTORE" ingest --db A1/store --symbol BTC "$SHARED/data/csv/btc-perp-20211231-20220201_1m.csv" >/dev/null 2>&1
cp -r A1/store A2
ln -s A1/store link
fingerprint() { (cd "$1" && find . -type f | sort | xargs cksum); }
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([0-9a-z-]*\)\"\{0,1\}[,}].*/\1/p" "$2"; }
replay() {
  "$BARSTORE" replay --db A1/store --symbols BTC --timeframes 5m,1h --bars 50 --from 2022-01-10 \
    --to 2022-01-10T12:00:00Z --step 7m --budget 8KiB "$@"
}
replay --no-cache --json > cold.json
same() { [ "$(field checksum "$1")" = "$(field checksum cold.json)" ] && echo yes || echo NO; }

# The issue's repro: --spill-dir pointed at a copy of the store.
a2=$(fingerprint A2)
replay --spill-dir A2 > out.txt 2> err.txt; echo "A2: exit $?, stdout $(wc -c < out.txt) bytes"
cat err.txt
[ "$(fingerprint A2)" = "$a2" ] && echo "A2 unchanged: yes"
echo "A2 still a store: $("$BARSTORE" ls --db A2 | grep -c BTC) series"

# The store's own directory, however spelled (lock.mdb holds reader slots: data.mdb must not change).
data=$(cksum < A1/store/data.mdb)
for d in A1/store ./A1/store/ A1/store/. link link/ A1/store/../store; do
  replay --spill-dir "$d" > out.txt 2> err.txt; echo "$d: exit $?, stdout $(wc -c < out.txt) bytes"
  sed "s|^$d|DIR|" err.txt
done
[ "$(cksum < A1/store/data.mdb)" = "$data" ] && ls A1/store | tr '\n' ' ' && echo "<- A1/store unchanged"

# A directory holding the store; one holding a user's file; a regular file.
replay --spill-dir A1 2>&1 >/dev/null; echo "A1: exit $?"
mkdir U && echo mine > U/notes.txt
replay --spill-dir U 2>&1 >/dev/null; echo "U: exit $?, notes.txt: $(cat U/notes.txt), $(ls U | wc -l) file"
echo mine > F
replay --spill-dir F 2>&1 >/dev/null; echo "F: exit $?"

# A spill directory is made, reused, listed; an ingest into it is refused and changes nothing.
replay --spill-dir S --json > s.json; echo "S: exit $?, bars as without a cache: $(same s.json), spills>0: $([ "$(field spills s.json)" -gt 0 ] && echo yes), disabled $(field spill_disabled s.json)"
replay --spill-dir S --json > s.json; echo "S again: exit $?, bars as without a cache: $(same s.json), spill_hits>0: $([ "$(field spill_hits s.json)" -gt 0 ] && echo yes)"
ls S | tr '\n' ' '; echo
"$BARSTORE" stats --db A1/store --spill-dir S --json > stats.json; echo "stats S: exit $?, entries>0: $([ "$(field entries stats.json)" -gt 0 ] && echo yes)"
s=$(fingerprint S)
"$BARSTORE" ingest --db S --symbol BTC "$SHARED/data/csv/btc-perp-20211231-20220201_1m.csv" 2>&1; echo "ingest into S: exit $?"
[ "$(fingerprint S)" = "$s" ] && echo "S unchanged: yes"

# stats on what is not a spill directory: a clear refusal, nothing opened.
"$BARSTORE" stats --db A1/store --spill-dir A2 2>&1; echo "stats A2: exit $?"
[ "$(fingerprint A2)" = "$a2" ] && echo "A2 unchanged: yes"
"$BARSTORE" stats --db A1/store --spill-dir U 2>&1; echo "stats U: exit $?"
"$BARSTORE" stats --db A1/store --spill-dir none 2>&1; echo "stats none: exit $?"

# No room for the spill's files (a 4 KiB file size limit; LMDB needs two 4 KiB pages): the
# replay goes on without a spill, says so once, and returns the same bars.
(trap '' XFSZ; ulimit -f 4; replay --spill-dir N --json > n.json 2> err.txt); echo "N: exit $?"
echo "  bars as without a cache: $(same n.json), spills $(field spills n.json), disabled $(field spill_disabled n.json)"
echo "notes: $(grep -c '^note: spill disabled: N: ' err.txt) of $(wc -l < err.txt) lines on stderr"
(trap '' XFSZ; ulimit -f 4; replay --spill-dir N2 > n.txt 2> err.txt); echo "N2: exit $?"
grep '^mode' n.txt
echo "notes: $(grep -c '^note: spill disabled: N2: ' err.txt) of $(wc -l < err.txt) lines on stderr"
