# query's table aligns numbers on the decimal point (integer parts right-aligned, fractions
# left-aligned, no trailing blanks); csv and jsonl stay as they were. The golden was written by hand.
set -u
printf 'ts,open,high,low,close,volume\n2024-01-02 10:00:00,1.5,100.25,0.125,7,10\n2024-01-02 10:01:00,12.125,1000,-3.5,12.5,2.5\n' > p.csv
"$BARSTORE" ingest --db db --timeframe 1m p.csv
"$BARSTORE" query --db db p
"$BARSTORE" query --db db p --format csv
"$BARSTORE" query --db db p --format jsonl
