# Every bad-input case of the ingest contract: exit status 2, one line FILE:LINE: error: REASON
# (got 'TEXT') (DBN: FILE:byte N:), and data.mdb byte-for-byte unchanged.
set -u
db=$PWD/db
dbn=$SHARED/data/dbn
printf 'ts,open,high,low,close,volume\n2024-01-02 10:00:00,1,2,0.5,1.5,10\n' > good.csv
"$BARSTORE" ingest --db "$db" --symbol X --timeframe 1m good.csv >/dev/null || echo "setup failed"
snap() { md5sum "$db/data.mdb" | cut -d' ' -f1; }
before=$(snap)

check() {  # check FILE [ingest options...]
  local file=$1; shift
  "$BARSTORE" ingest --db "$db" "$@" "$file" >out.txt 2>err.txt
  local rc=$? after
  after=$(snap)
  echo "$file: exit $rc, $(wc -l <err.txt) line(s), store $([ "$before" = "$after" ] && echo unchanged || echo CHANGED)"
  sed 's/^/  /' err.txt
}
csv() {  # csv NAME CONTENT: write NAME and check it as symbol X at 1m
  printf "$2" > "$1"
  check "$1" --symbol X --timeframe 1m
}
H='ts,open,high,low,close,volume\n'
R1='2024-01-02 10:01:00,1,2,0.5,1.5,10\n'
csv empty.csv ''
csv header_only.csv "$H"
csv field_count.csv "$H$R1"'2024-01-02 10:02:00,1,2,0.5,10\n'
csv non_numeric.csv "$H$R1"'2024-01-02 10:02:00,abc,2,0.5,1.5,10\n'
csv nan_price.csv "$H$R1"'2024-01-02 10:02:00,1,NaN,0.5,1.5,10\n'
csv inf_price.csv "$H$R1"'2024-01-02 10:02:00,1,2,0.5,inf,10\n'
csv negative_volume.csv "$H$R1"'2024-01-02 10:02:00,1,2,0.5,1.5,-3\n'
csv high_below_low.csv "$H$R1"'2024-01-02 10:02:00,1,0.4,0.5,1.5,10\n'
csv duplicate_ts.csv "$H$R1$R1"
csv decreasing_ts.csv "$H"'2024-01-02 10:03:00,1,2,0.5,1.5,10\n'"$R1"
csv cut_short.csv "$H$R1"'2024-01-02 10:02:00,1,2,0.'
csv not_after_last.csv "$H"'2024-01-02 09:59:00,1,2,0.5,1.5,10\n'

# DBN: mutate copies of the real v2 file (first record at byte 353) and its zstd twin.
patch() {  # patch FILE OFFSET HEXBYTES
  printf "$(echo "$3" | sed 's/\(..\)/\\x\1/g')" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
cp "$dbn/test_data.ohlcv-1m.dbn" bad_magic.dbn && chmod u+w bad_magic.dbn && patch bad_magic.dbn 0 58
cp "$dbn/test_data.ohlcv-1m.dbn" version0.dbn && chmod u+w version0.dbn && patch version0.dbn 3 00
cp "$dbn/test_data.ohlcv-1m.dbn" version4.dbn && chmod u+w version4.dbn && patch version4.dbn 3 04
cp "$dbn/test_data.ohlcv-1m.dbn" length0.dbn && chmod u+w length0.dbn && patch length0.dbn 353 00
head -c 400 "$dbn/test_data.ohlcv-1m.dbn" > truncated.dbn
cp "$dbn/test_data.ohlcv-1m.dbn" metadata_length.dbn && chmod u+w metadata_length.dbn && patch metadata_length.dbn 4 ffffffff
cp "$dbn/test_data.ohlcv-1m.v2.dbn.zst" corrupt.dbn.zst && chmod u+w corrupt.dbn.zst && patch corrupt.dbn.zst 60 ff
: > empty.dbn
for f in bad_magic.dbn version0.dbn version4.dbn length0.dbn truncated.dbn metadata_length.dbn corrupt.dbn.zst empty.dbn; do
  check "$f"
done

# Usage errors are exit 2 too, and a complete last row without a newline is fine.
"$BARSTORE" query --db "$db" X --timeframe 15x >/dev/null 2>&1; echo "bad timeframe: exit $?"
"$BARSTORE" query --db "$db" NOPE >/dev/null 2>&1; echo "unknown symbol: exit $?"
printf "$H"'2024-01-02 10:01:00,1,2,0.5,1.5,10' > no_final_newline.csv
"$BARSTORE" ingest --db "$db" --symbol X --timeframe 1m no_final_newline.csv; echo "no final newline: exit $?"
