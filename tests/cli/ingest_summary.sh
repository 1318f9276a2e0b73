# A run of several files ends with a summary (issue 17): files committed, bars, series touched;
# when a file fails, after its error, the files committed and those never attempted. The store
# then holds exactly the files before the bad one (ls --json against a run of those alone).
set -u
db=$PWD/db
printf 'ts,open,high,low,close,volume\n2024-01-02 09:30:00,1,2,1,2,5\n2024-01-02 09:31:00,2,3,1,2,6\n' > a.csv
printf 'ts,open,high,low,close,volume\n2024-01-02 09:32:00,1,2,1,2,5\n2024-01-02 09:33:00,2,3,1,2,6\n' > a2.csv
printf 'ts,open,high,low,close,volume\n2024-01-03,1,2,1,2,5\n2024-01-04,2,3,1,2,6\n2024-01-05,2,3,1,2,6\n' > b.csv
cp b.csv c.csv
printf 'ts,open,high,low,close,volume\n2024-01-02 09:30:00,1,2,1,2,5\n2024-01-02 09:31:00,2,3,x,2,6\n' > bad.csv
"$BARSTORE" ingest --db "$db" --symbol A a.csv a2.csv; echo "exit $?"
"$BARSTORE" ingest --db "$db" a.csv b.csv; echo "exit $?"  # symbols a and b: two series
"$BARSTORE" ingest --db "$db" c.csv; echo "exit $?"  # one file: no summary
# A failure in the middle: the first file stays, the third is never read.
"$BARSTORE" ingest --db db2 --symbol D a.csv bad.csv b.csv 2>&1; echo "exit $?"
"$BARSTORE" ingest --db db3 --symbol D a.csv > /dev/null
cmp <("$BARSTORE" ls --db db2 --json) <("$BARSTORE" ls --db db3 --json) && echo "db2 holds a.csv only"
# The first file fails: nothing committed, the rest listed.
"$BARSTORE" ingest --db db4 --symbol E bad.csv a.csv b.csv 2>&1; echo "exit $?"
"$BARSTORE" ls --db db4 --json | wc -l
# A file that cannot be read stops the run the same way (exit 1 for I/O, as for one file).
"$BARSTORE" ingest --db db4 --symbol E a.csv missing.csv 2>&1; echo "exit $?"
