# Every subcommand's --help exits 0 and ends with examples that begin "barstore <sub>"; then every
# example of every --help is run, in a working order (ingest first, rm last), on a store built
# from the real data in $SHARED/data, and must exit 0. Examples that stop working fail here.
set -u
ln -s "$SHARED/data" data
mkdir bin && ln -s "$BARSTORE" bin/barstore && export PATH="$PWD/bin:$PATH"
commands=$(barstore --help | sed -n '/^Subcommands:$/,/^$/p' | awk 'NF > 1 {print $1}')
for c in $commands; do
  barstore "$c" --help >help.txt 2>&1; rc=$?
  last=$(tail -1 help.txt)
  case "$last" in
    "  barstore $c "*) echo "$c --help: exit $rc, ends with an example" ;;
    *) echo "$c --help: exit $rc, ends with '$last'" ;;
  esac
  grep -q '^Examples:$' help.txt || echo "$c --help: no Examples:"
  sed -n '/^Examples:$/,$p' help.txt | sed -n 's/^  \(barstore .*\)/\1/p' >"examples.$c"
done
order="ingest $(echo "$commands" | grep -vxE 'ingest|rm' | tr '\n' ' ') rm"
n=0
for c in $order; do
  while IFS= read -r line; do
    n=$((n + 1))
    eval "$line" >out.txt 2>&1 || { echo "example failed (exit $?): $line"; cat out.txt; }
  done <"examples.$c"
done
echo "$n examples ran"
