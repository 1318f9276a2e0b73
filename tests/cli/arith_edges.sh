# arith_edges: numbers that wrap (issue 10). A negative count is exit 2, a huge one is clamped
# and answered at once; a bin whose volume sum passes int64 is exit 2 naming it, sums up to
# INT64_MAX are exact; times outside 1679-01-01..2261-01-01 and timeframes past 366 days are
# exit 2; --from after --to is exit 2. Every command runs under `timeout`: a hang shows as 124.
set -u
db=$PWD/db
H='ts,open,high,low,close,volume\n'
# V: the three 1m bars of 9e18 (at 2m they summed to -446744073709551616).
printf "$H"'2022-01-03 00:00:00,1,2,0.5,1.5,9000000000000000000\n2022-01-03 00:01:00,1,2,0.5,1.5,9000000000000000000\n2022-01-03 00:02:00,1,2,0.5,1.5,9000000000000000000\n' > v.csv
# W: its first 3m bin sums to exactly INT64_MAX (9223372036854775800 + 3 + 4).
printf "$H"'2022-01-03 00:00:00,1,2,1,2,9223372036854775800\n2022-01-03 00:01:00,2,3,2,3,3\n2022-01-03 00:02:00,3,4,3,4,4\n2022-01-03 00:03:00,4,5,4,5,1\n2022-01-03 00:04:00,5,6,5,6,2\n2022-01-03 00:05:00,6,7,6,7,3\n' > w.csv
"$BARSTORE" ingest --db "$db" --symbol V v.csv >/dev/null
"$BARSTORE" ingest --db "$db" --symbol W w.csv >/dev/null
run() { echo "# ${*//$db/DB}"; timeout 20 "$BARSTORE" "$@" 2>&1; echo "exit $?"; }
q() { run query --db "$db" --format csv "$@"; }
q V --timeframe 2m
q V --timeframe 3m
q V --timeframe 2m --from 2022-01-03T00:02:00Z
q W --timeframe 3m
q W --last -1
q W --last -2
q W --last 1.5
q W --timeframe 3m --last 6148914691236517204
q W --last 18446744073709551616
q W --as-of 1677-09-21T00:12:44Z --include-forming
q W --as-of 2261-01-01
q W --as-of 2260-12-31T23:59:59Z --timeframe 2m
q W --timeframe 15250w
q W --timeframe 367d
q W --timeframe 52w --as-of 2022-01-03T00:02:00Z
q W --timeframe 52w --as-of 2022-01-03T00:02:00Z --include-forming
q W --timeframe 52w --as-of 2022-06-01 --include-forming
q W --from 2022-01-04 --to 2022-01-03
r() { timeout 20 "$BARSTORE" replay --db "$db" --symbols W --timeframes 1m,3m --from 2022-01-03 --to 2022-01-03T00:10:00Z "$@" --json; }
echo "# replay --bars 18446744073709551614 (cache, no cache) answers as --bars 100:"
a=$(r --bars 100 --no-spill | sed 's/.*"checksum":"\([0-9a-f]*\)".*/\1/')
b=$(r --bars 18446744073709551614 --no-spill | sed 's/.*"checksum":"\([0-9a-f]*\)".*/\1/')
c=$(r --bars 18446744073709551614 --no-cache | sed 's/.*"checksum":"\([0-9a-f]*\)".*/\1/')
[ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" = "$c" ] && echo same || echo "differ: $a $b $c"
run replay --db "$db" --symbols W --timeframes 1m --from 2022-01-03 --to 2022-01-03T00:10:00Z --bars -1
run replay --db "$db" --symbols W --timeframes 1m --from 2022-01-03 --to 2022-01-03T00:10:00Z --bars 5 --history-bars -1
run replay --db "$db" --symbols W --timeframes 1m --from 2022-01-03 --to 2022-01-03T00:10:00Z --bars 5 --lookahead-bars -1
