# Updates join the stored series (issue 10): a daily update of a Friday and a Monday, a one-row
# file, an illiquid minute file; bars off the stored base, several bases and new bases; an empty
# --symbol; the float-noise note; sessions that never occur or that no stored bar can start in.
# Expected output is written by hand from the rows below.
set -u
db=$PWD/db
snap() { md5sum "$db/data.mdb" | cut -d' ' -f1; }
run() {  # run ARGS...: the exit status and stderr, indented
  "$BARSTORE" "$@" >out.txt 2>err.txt
  echo "exit $?"
  sed 's/^/  /' out.txt err.txt
}
q() { "$BARSTORE" query --db "$db" "$@" --format csv; }
H='date,open,high,low,close,volume\n'
printf "$H"'2024-01-08,10,11,9,10,100\n2024-01-09,10,11,9,10,100\n2024-01-10,10,11,9,10,100\n2024-01-11,10,11,9,10,100\n' > ORCL.csv
printf "$H"'2024-01-12,11,12,10,11,100\n2024-01-15,12,13,11,12,100\n' > fri_mon.csv
printf "$H"'2024-01-16,13,14,12,13,100\n' > one_row.csv
printf 'ts,open,high,low,close,volume\n2024-01-17 00:00:00,1,1,1,1,1\n2024-01-17 12:00:00,1,1,1,1,1\n' > half_days.csv
printf 'ts,open,high,low,close,volume\n2024-01-17 14:00:00,1,2,1,2,5\n2024-01-17 15:00:00,2,3,2,3,5\n' > hourly.csv

echo "# ORCL Monday to Thursday, then a Friday and a Monday: still ORCL 1d"
run ingest --db "$db" ORCL.csv
run ingest --db "$db" --symbol ORCL fri_mon.csv
echo "# a one-row update"
run ingest --db "$db" --symbol ORCL one_row.csv
"$BARSTORE" ls --db "$db"
q ORCL
echo "# bars 12 hours apart do not fit ORCL 1d: refused, store unchanged"
before=$(snap)
run ingest --db "$db" --symbol ORCL half_days.csv
[ "$before" = "$(snap)" ] && echo "store unchanged" || echo "store CHANGED"
echo "# a new base needs --timeframe; then ORCL has two and an update must pick one"
run ingest --db "$db" --symbol ORCL hourly.csv
run ingest --db "$db" --symbol ORCL --timeframe 1h hourly.csv
printf 'ts,open,high,low,close,volume\n2024-01-17 16:00:00,3,3,3,3,1\n' > hourly2.csv
before=$(snap)
run ingest --db "$db" --symbol ORCL hourly2.csv
[ "$before" = "$(snap)" ] && echo "store unchanged" || echo "store CHANGED"
run ingest --db "$db" --symbol ORCL --timeframe 1h hourly2.csv
"$BARSTORE" ls --db "$db"

echo "# an illiquid symbol: 1m bars, then an update whose smallest gap is 5m; 1h uses all five"
printf 'ts,open,high,low,close,volume\n2024-01-02 10:00:00,10,11,9,10,1\n2024-01-02 10:01:00,10,12,9,11,2\n' > S.csv
printf 'ts,open,high,low,close,volume\n2024-01-02 10:05:00,11,11,8,9,3\n2024-01-02 10:10:00,9,10,9,10,4\n2024-01-02 10:20:00,10,13,10,12,5\n' > S_update.csv
run ingest --db "$db" S.csv
run ingest --db "$db" --symbol S S_update.csv
q S --timeframe 1h

echo "# --symbol '' is an error, not the file name"
run ingest --db "$db" --symbol "" ORCL.csv

echo "# float noise: the note is true of every value it counts"
printf 'ts,open,high,low,close,volume\n2024-01-02 10:00:00,92233720368547758.08,92233720368547758.08,92233720368547758.08,92233720368547758.08,218102.59507500002\n' > noise.csv
run ingest --db "$db" --timeframe 1m noise.csv
q noise

echo "# sessions: one that never occurs is refused when parsed"
run session --db "$db" S "America/New_York 16:00-09:30 Mon-Mon"
run ingest --db "$db" --session "UTC 17:00-17:00 Mon,Wed,Fri" --timeframe 1m --symbol T S.csv
echo "# sessions on a daily base, or where no bar of the base can start: refused"
before=$(snap)
run session --db "$db" ORCL --timeframe 1d us-equity
printf "$H"'2024-01-08,10,11,9,10,100\n2024-01-09,10,11,9,10,100\n' > DAILY.csv
run ingest --db "$db" --session us-equity DAILY.csv
printf 'ts,open,high,low,close,volume\n2024-01-08 00:00:00,1,1,1,1,1\n2024-01-08 12:00:00,1,1,1,1,1\n' > HALF.csv
run ingest --db "$db" --session us-equity HALF.csv
[ "$before" = "$(snap)" ] && echo "store unchanged" || echo "store CHANGED"
echo "# a session an hourly series can use is fine"
run session --db "$db" ORCL --timeframe 1h us-equity
"$BARSTORE" ls --db "$db"
