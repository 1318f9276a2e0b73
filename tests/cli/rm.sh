# rm: a range ([from, to), like query), open-ended ranges, a whole series, and every way to get
# it wrong: exit 2 naming the problem, data.mdb byte-for-byte unchanged, no store created.
set -u
db=$PWD/db
printf 'ts,open,high,low,close,volume\n' > a.csv
for i in $(seq 0 9); do printf '2024-01-02 10:0%d:00,1.5,2,1,1.25,%d\n' "$i" "$i" >> a.csv; done
printf 'ts,open,high,low,close,volume\n2024-01-02 10:00:00,1,2,0.5,1.5,10\n2024-01-02 10:05:00,1,2,0.5,1.5,10\n' > b5.csv
"$BARSTORE" ingest --db "$db" --timeframe 1m a.csv >/dev/null
"$BARSTORE" ingest --db "$db" --symbol b --timeframe 1m a.csv >/dev/null
"$BARSTORE" ingest --db "$db" --symbol b --timeframe 5m b5.csv >/dev/null
"$BARSTORE" session --db "$db" a "UTC 09:00-17:00" >/dev/null

echo "# 10:02, 10:03 and 10:04 go; 10:05 stays"
"$BARSTORE" rm --db "$db" a --from 2024-01-02T10:02:00Z --to 2024-01-02T10:05:00Z; echo "rm: exit $?"
"$BARSTORE" query --db "$db" a --format csv
echo "# open ends"
"$BARSTORE" rm --db "$db" a --to "2024-01-02 10:01"; echo "rm: exit $?"
"$BARSTORE" rm --db "$db" a --from 2024-01-02T10:09:00Z; echo "rm: exit $?"
echo "# nothing in the range: nothing removed, nothing written"
gen() { "$BARSTORE" info --db "$db" a | grep '^generation'; }
g=$(gen)
"$BARSTORE" rm --db "$db" a --from 2024-01-03; echo "rm: exit $?"
[ "$g" = "$(gen)" ] && echo "generation unchanged"
"$BARSTORE" query --db "$db" a --format csv

echo "# bad input: exit 2, store unchanged"
snap() { md5sum "$db/data.mdb" | cut -d' ' -f1; }
before=$(snap)
bad() {  # bad ARGS...: runs rm, prints its exit status and stderr
  "$BARSTORE" rm "$@" >out.txt 2>err.txt
  echo "rm $*: exit $?, $(wc -l <out.txt) stdout line(s)" | sed "s|$PWD/||g"
  sed "s|$PWD/||g; s/^/  /" err.txt
}
bad --db "$db" nope
bad --db "$db" a --timeframe 5m
bad --db "$db" b
bad --db "$db" a --from 2024-01-02T10:05:00Z --to 2024-01-02T10:04:00Z
bad --db "$db" a --from 2024-01-02T10:05:00Z --to 2024-01-02T10:05:00Z
bad --db "$db" a --from yesterday
bad --db "$db" a --timeframe 7x
bad --db "$PWD/nostore" a
[ "$before" = "$(snap)" ] && echo "store unchanged"
[ -e nostore ] && echo "a store was created at nostore"
"$BARSTORE" ls --db "$db"

echo "# a whole series; a series emptied by a range stays, with its session"
"$BARSTORE" rm --db "$db" b --timeframe 5m; echo "rm: exit $?"
"$BARSTORE" rm --db "$db" a --from 2000-01-01; echo "rm: exit $?"
"$BARSTORE" ls --db "$db"
"$BARSTORE" query --db "$db" a --format csv; echo "query: exit $?"
"$BARSTORE" rm --db "$db" a; echo "rm: exit $?"
"$BARSTORE" ls --db "$db"
"$BARSTORE" verify --db "$db"
# Ingested again, it is a new series: 24x7, the bars of the file only.
"$BARSTORE" ingest --db "$db" --timeframe 1m a.csv >/dev/null
"$BARSTORE" ls --db "$db"
