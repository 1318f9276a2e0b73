# barstore prewarm on the real files: the bins it reports equal an independent count from the
# CSV; a rerun finds every aggregate current and leaves data.mdb byte-identical; --all takes
# query's default alignment per series; ls and info show the aggregates; bad input is exit 2
# naming the bad item, with data.mdb unchanged; a symbol with two bases prewarms each timeframe
# on the series query reads; --drop removes them (all bases of a symbol, both alignments).
set -u
btc=$SHARED/data/csv/btc-perp-20211231-20220201_1m.csv
"$BARSTORE" ingest --db db --symbol BTC "$btc" >/dev/null 2>&1
"$BARSTORE" ingest --db db --symbol SPY --stamp end --session us-equity "$SHARED/data/csv/nt-spy-minute-2011.csv" >/dev/null
sum() { md5sum db/data.mdb | cut -d' ' -f1; }

echo "--- prewarm BTC"
"$BARSTORE" prewarm --db db --symbols BTC --timeframes 5m,15m,30m,1h,2h,4h,1d --jobs 2 >out.txt 2>err.txt
echo "exit $?"
cat out.txt
# Independent count: distinct UTC bins of the CSV's timestamps (24x7, bar starts, so every bar
# is in the bin its start falls in).
/usr/bin/python3 - "$btc" >want.txt <<'PY'
import sys, datetime
ts = []
with open(sys.argv[1]) as f:
    next(f)
    for line in f:
        t = datetime.datetime.strptime(line.split(',')[0], '%Y-%m-%d %H:%M:%S.%f').replace(tzinfo=datetime.timezone.utc)
        ts.append(int(t.timestamp()))
for name, sec in [('5m', 300), ('15m', 900), ('30m', 1800), ('1h', 3600), ('2h', 7200), ('4h', 14400), ('1d', 86400)]:
    print('BTC 1m %s utc: %d bins' % (name, len({t // sec for t in ts})))
PY
sed -n 's/^\(BTC 1m [^:]*: \)built, \([0-9]* bins\),.*/\1\2/p' out.txt | cmp - want.txt && echo "bins equal the CSV's distinct bins: yes"
[ -s err.txt ] || echo "stderr empty (piped: no progress)"

echo "--- rerun: every aggregate current, nothing written"
before=$(sum)
"$BARSTORE" prewarm --db db --symbols BTC --timeframes 5m,15m,30m,1h,2h,4h,1d; echo "exit $?"
[ "$before" = "$(sum)" ] && echo "data.mdb unchanged"

echo "--- --all: SPY (us-equity) gets session bins, BTC utc; 1d twice is once"
"$BARSTORE" prewarm --db db --all --timeframes 1h,1d,1w,1d; echo "exit $?"
"$BARSTORE" prewarm --db db --symbols SPY --timeframes 1h --align utc; echo "exit $?"
"$BARSTORE" ls --db db
"$BARSTORE" info --db db SPY | sed -n '/^prewarmed:/,$p'

echo "--- bad input: exit 2, naming the item; data.mdb unchanged"
before=$(sum)
bad() { "$BARSTORE" prewarm --db db "$@" 2>&1; echo "exit $?"; }
bad --all --timeframes 4h,2d
bad --symbols BTC --timeframes 5m,7x
bad --symbols BTC,NOPE --timeframes 5m
bad --symbols BTC --timeframes 30s
bad --symbols BTC --timeframes 400d --align utc
bad --symbols BTC --timeframes ,
bad --all
bad --timeframes 5m
bad --all --symbols BTC --timeframes 5m
bad --all --timeframes 5m --jobs 0
bad --all --timeframes 5m --jobs -1
bad --all --timeframes 5m --align local
[ "$before" = "$(sum)" ] && echo "data.mdb unchanged"
"$BARSTORE" prewarm --db missing --all --timeframes 5m 2>&1; echo "exit $?"
[ -e missing ] || echo "no store created at missing"

echo "--- a symbol with bases 1m and 1h: each timeframe on the series query reads"
"$BARSTORE" query --db db BTC --timeframe 1h --format csv >btc1h.csv
"$BARSTORE" ingest --db db --symbol BTC --timeframe 1h btc1h.csv
"$BARSTORE" prewarm --db db --symbols BTC --timeframes 5m,1h,4h; echo "exit $?"

echo "--- --drop"
"$BARSTORE" prewarm --db db --symbols BTC --drop --timeframes 1h; echo "exit $?"
before=$(sum)
"$BARSTORE" prewarm --db db --symbols SPY --drop --timeframes 5m; echo "exit $?"
[ "$before" = "$(sum)" ] && echo "nothing to drop: data.mdb unchanged"
"$BARSTORE" prewarm --db db --symbols SPY --drop --align utc; echo "exit $?"
"$BARSTORE" prewarm --db db --all --drop; echo "exit $?"
"$BARSTORE" ls --db db
"$BARSTORE" verify --db db --deep
