# barstore with no command, an unknown command or an unknown option: says which on stderr, lists
# every command (the same ones, in the same order, as CLI11's own --help), exit 2.
set -u
for args in "" "foo" "--bogus" "ingst --db x"; do
  "$BARSTORE" $args >out 2>err; echo "barstore $args: exit $?, stdout $(wc -c <out) bytes"
  head -2 err
  listed=$(sed -n '/^Commands:$/,/^$/p' err | awk 'NF > 1 {print $1}')
  helped=$("$BARSTORE" --help | sed -n '/^Subcommands:$/,/^$/p' | awk 'NF > 1 {print $1}')
  if [ -n "$listed" ] && [ "$listed" = "$helped" ]; then echo "lists the $(echo "$listed" | wc -l) commands of --help"; else echo "listed: $listed"; fi
done
# A known command with bad options keeps CLI11's message about that command.
"$BARSTORE" query 2>&1; echo "query: exit $?"
