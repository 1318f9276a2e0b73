# Sessions end to end on the real SPY file (stamps are bar ends): ingest with a session, query
# session- and UTC-aligned bins with and without as-of, change the session. Expected output
# comes from tests/reference/golden_sessions.py, an independent stdlib-only reference (zoneinfo).
set -e
db=$PWD/db
spy=$SHARED/data/csv/nt-spy-minute-2011.csv
"$BARSTORE" ingest --db "$db" --symbol SPY --stamp end --session us-equity "$spy" >/dev/null
q() { "$BARSTORE" query --db "$db" SPY "$@" --format csv; }
echo "# info"
"$BARSTORE" info --db "$db" SPY | grep '^session:'
echo "# 1h, default alignment (session): 2011-01-18"
q --timeframe 1h --from 2011-01-18 --to 2011-01-19
echo "# 1h --align utc: 2011-01-18 14:00 to 20:00 UTC"
q --timeframe "1 hour" --align utc --from 2011-01-18T14:00:00Z --to 2011-01-18T21:00:00Z
echo "# 30m --align session, as of 2011-01-18T15:10Z: the last 3 closed, then with the forming bin"
q --timeframe 30m --align session --as-of 2011-01-18T15:10:00Z --last 3
q --timeframe 30min --align session --as-of 2011-01-18T15:10:00Z --last 3 --include-forming
echo "# 1d --align session, 2011-01-10 to 2011-01-22"
q --timeframe 1d --align session --from 2011-01-10 --to 2011-01-22
echo "# 1d --align utc, 2011-01-10 to 2011-01-13"
q --timeframe day --align utc --from 2011-01-10 --to 2011-01-13
echo "# 1d as of the close 2011-01-18T21:00Z, and a second before it"
q --timeframe 1D --as-of 2011-01-18T21:00:00Z --last 2
q --timeframe 1D --as-of 2011-01-18T20:59:59Z --last 2
echo "# 1w --align session"
q --timeframe 1w --align session
echo "# 1w --align utc"
q --timeframe week --align utc
echo "# barstore session SPY us-equity-extended"
"$BARSTORE" session --db "$db" SPY us-equity-extended
"$BARSTORE" info --db "$db" SPY | grep '^session:'
"$BARSTORE" ls --db "$db"
echo "# 1d extended, 2011-01-10 to 2011-01-15"
q --timeframe 1d --from 2011-01-10 --to 2011-01-15
echo "# 4h extended, 2011-01-18"
q --timeframe 4h --from 2011-01-18 --to 2011-01-19
echo "# 1w extended as of Friday 2011-01-21T23:00Z (18:00 EST), with the forming week"
q --timeframe 1w --as-of 2011-01-21T23:00:00Z --last 2
q --timeframe 1w --as-of 2011-01-21T23:00:00Z --last 2 --include-forming
