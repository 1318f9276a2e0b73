# All 20 DBN files ingest through the CLI; values as listed in shared/docs/dbn-ohlcv.md.
set -e
for f in "$SHARED"/data/dbn/*; do
  db=$PWD/db-$(basename "$f")
  "$BARSTORE" ingest --db "$db" "$f" >/dev/null
  name=$(basename "$f")
  if "$BARSTORE" ls --db "$db" | grep -q ESH1; then
    echo "$name: $("$BARSTORE" query --db "$db" ESH1 --format csv | tail -n +2 | tr '\n' ' ')"
  else
    echo "$name: no bars"
  fi
done
