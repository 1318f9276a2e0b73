# BARSTORE_DB is the default --db of every subcommand that takes one; an explicit --db wins; an
# empty BARSTORE_DB counts as unset. --help names the variable.
set -u
printf 'ts,open,high,low,close,volume\n2024-01-02 10:00:00,1.5,2,1,1.25,7\n2024-01-02 10:01:00,1.25,1.5,1,1.5,3\n' > a.csv
printf 'ts,open,high,low,close,volume\n2024-01-02 10:00:00,9,9,9,9,1\n' > b.csv
BARSTORE_DB=env-db "$BARSTORE" ingest --timeframe 1m a.csv; echo "ingest with BARSTORE_DB: exit $?"
BARSTORE_DB=env-db "$BARSTORE" ingest --db flag-db --timeframe 1m b.csv; echo "ingest with both: exit $?"
export BARSTORE_DB=env-db
"$BARSTORE" ls; echo "ls: exit $?"
"$BARSTORE" ls --db flag-db; echo "ls --db flag-db: exit $?"
"$BARSTORE" query a --format csv; echo "query: exit $?"
"$BARSTORE" verify; echo "verify: exit $?"
BARSTORE_DB= "$BARSTORE" ls 2>&1; echo "ls with BARSTORE_DB empty: exit $?"
unset BARSTORE_DB
"$BARSTORE" ls 2>&1; echo "ls without: exit $?"
# Every subcommand whose --help has --db names the variable there.
for c in $("$BARSTORE" --help | sed -n '/^Subcommands:$/,/^$/p' | awk 'NF > 1 {print $1}'); do
  h=$("$BARSTORE" "$c" --help)
  if grep -q -- '^  --db ' <<<"$h" && ! grep -q -- '^  --db .*(Env:BARSTORE_DB)' <<<"$h"; then echo "$c --help: --db without BARSTORE_DB"; fi
done
echo "--help checked"
