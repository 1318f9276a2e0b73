# gzip and zstd CSV, and standard input (`-`), are told by their bytes, not their names, and give
# the same store as the plain file (issue 17): query --format csv and ls --json compared byte for
# byte on the real BTC file compressed here. A truncated or corrupt stream is refused naming the
# file and the compressed byte, changing nothing; no message echoes raw binary.
set -u
py=/usr/bin/python3
src="$SHARED/data/csv/btc-perp-20211231-20220201_1m.csv"
gzip -n -c "$src" > btc.csv.gz  # -n: no name or time in the header, the same bytes everywhere
zstd -q -c "$src" > btc.csv.zst
cp btc.csv.gz gz-named.csv      # a name that says nothing (or lies): the magic bytes decide
cp btc.csv.zst zst-named.txt
snap() { "$BARSTORE" ls --db "$1" --json; "$BARSTORE" query --db "$1" BTC --format csv; }
"$BARSTORE" ingest --db plain --symbol BTC "$src" | sed "s|$src|btc.csv|"
snap plain > plain.txt
for f in btc.csv.gz btc.csv.zst gz-named.csv zst-named.txt; do
  "$BARSTORE" ingest --db "db-$f" --symbol BTC "$f"
  snap "db-$f" > "$f.txt"
  cmp -s plain.txt "$f.txt" && echo "$f: same store as the plain file" || echo "$f: DIFFERS"
done
# The default symbol of a compressed file is its stem past .gz/.zst.
"$BARSTORE" ingest --db stem btc.csv.gz
# Standard input: plain, gzip and zstd.
"$BARSTORE" ingest --db stdin-plain --symbol BTC - < "$src"
gzip -c "$src" | "$BARSTORE" ingest --db stdin-gz --symbol BTC -
zstd -q -c "$src" | "$BARSTORE" ingest --db stdin-zst --symbol BTC -
for d in stdin-plain stdin-gz stdin-zst; do
  snap "$d" > "$d.txt"
  cmp -s plain.txt "$d.txt" && echo "$d: same store as the plain file" || echo "$d: DIFFERS"
done
"$BARSTORE" ingest --db plain - < "$src" 2>&1; echo "stdin without --symbol: exit $?"

refused() {  # refused LABEL FILE: the ingest into `plain` must fail, naming FILE, changing nothing
  "$BARSTORE" ingest --db plain --symbol BTC2 "$2" > /dev/null 2>err.txt; echo "$1: exit $?"
  sed 's/([0-9]* bytes decoded)/(N bytes decoded)/' err.txt
  # Nothing but printable ASCII (and newlines) reaches the terminal.
  $py -c 'import sys; b = open("err.txt", "rb").read(); sys.exit(any(c > 126 or (c < 32 and c != 10) for c in b))' \
    && echo "$1: message is printable" || echo "$1: RAW BYTES IN MESSAGE"
  snap plain > after.txt
  cmp -s plain.txt after.txt && echo "$1: store unchanged" || echo "$1: STORE CHANGED"
}
head -c 100000 btc.csv.gz > cut.csv.gz
refused "truncated gzip" cut.csv.gz
head -c 100000 btc.csv.zst > cut.csv.zst
refused "truncated zstd" cut.csv.zst
cp btc.csv.gz bad.csv.gz
printf 'XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX' | dd of=bad.csv.gz bs=1 seek=5000 conv=notrunc status=none
refused "corrupt gzip" bad.csv.gz
(cat btc.csv.gz; printf 'garbage') > trailing.csv.gz
refused "gzip with trailing garbage" trailing.csv.gz
printf '\xfd7zXZ\x00\x00\x04\xe6\xd6\xb4\x46' > data.csv.xz
refused "xz" data.csv.xz
printf 'ts,open,high,low,close,volume\n2024-01-02 09:30:00,1,2,1,2,5\n\x80\x81\xff\x00\x01,1,2,1,2,5\n' > binary.csv
refused "binary bytes in a row" binary.csv
# Two gzip members (`cat a.gz b.gz`) are one stream, as gzip -d reads them.
(head -n 20001 "$src" | gzip -c; tail -n +20002 "$src" | gzip -c) > members.csv.gz
"$BARSTORE" ingest --db members --symbol BTC members.csv.gz
snap members > members.txt
cmp -s plain.txt members.txt && echo "two gzip members: same store as the plain file" || echo "two gzip members: DIFFERS"
