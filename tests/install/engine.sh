#!/usr/bin/env bash
# tests/install/engine.sh BUILD_DIR SHARED ENGINE_CPP SANITIZE CXX...: installs the build into a
# temporary --destdir, builds docs/examples/engine against it through pkg-config only (shared
# with an rpath, then static with --static once the .so files are gone), runs both on a store the
# installed barstore ingests from the real data, and checks what the engine saw against
# `barstore query`: bars per timeframe by count, trades and PnL by an awk run of its rule.
set -euo pipefail
build=$(realpath "$1") shared=$(realpath "$2") engine_cpp=$(realpath "$3") sanitize=$4
shift 4
cxx=("$@")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

meson install -C "$build" --no-rebuild --destdir "$work/dest" --quiet >/dev/null
pc=$(find "$work/dest" -name barstore.pc)
[ -n "$pc" ] || fail "no barstore.pc installed"
export PKG_CONFIG_PATH=$(dirname "$pc")
# The .pc names the real prefix; point it at the destdir copy.
pkgconf=(pkg-config "--define-variable=prefix=$work/dest$(pkg-config --variable=prefix barstore)")
libdir=$("${pkgconf[@]}" --variable=libdir barstore)
bin="$work/dest$(pkg-config --variable=prefix barstore)/bin/barstore"
flags=(-std=c++20 -O1 -Wall -Wextra -Werror)
# A sanitized build's library needs its runtime in the engine too.
[ "$sanitize" = none ] || flags+=("-fsanitize=$sanitize")

# docs/api.md's example, as the page shows it.
awk '/^<!-- compiled, linked and run by tests\/install\/engine.sh -->/ { f = 1; next }
     f && /^```cpp/ { g = 1; next }  g && /^```/ { exit }  g' "$(dirname "$engine_cpp")/../../api.md" >"$work/example.cpp"
[ -s "$work/example.cpp" ] || fail "no example found in docs/api.md"
# Compile once, link twice: the object does not depend on how it is linked.
"${cxx[@]}" "${flags[@]}" $("${pkgconf[@]}" --cflags barstore) -c "$work/example.cpp" -o "$work/example.o" &
"${cxx[@]}" "${flags[@]}" $("${pkgconf[@]}" --cflags barstore) -c "$engine_cpp" -o "$work/engine.o"
wait $! || fail "docs/api.md's example does not compile"
"${cxx[@]}" "${flags[@]}" "$work/example.o" $("${pkgconf[@]}" --libs barstore) -Wl,-rpath,"$libdir" -o "$work/example"
"${cxx[@]}" "${flags[@]}" "$work/engine.o" $("${pkgconf[@]}" --libs barstore) -Wl,-rpath,"$libdir" \
  -o "$work/engine-shared"
# Never `objdump | grep -q` under pipefail: grep -q exits at the first match, and objdump's next
# write then dies of SIGPIPE, failing the pipeline (it did, under ASan's longer output).
needed() { objdump -p "$1" | grep NEEDED || true; }  # grep reads all of objdump's output
[[ $(needed "$work/engine-shared") =~ NEEDED\ *libbarstore\.so\. ]] || fail "engine-shared does not load libbarstore.so"
rm "$libdir"/libbarstore.so*
"${cxx[@]}" "${flags[@]}" "$work/engine.o" $("${pkgconf[@]}" --static --libs barstore) -o "$work/engine-static"
[[ $(needed "$work/engine-static") == *libbarstore* ]] && fail "engine-static loads libbarstore.so"

db=$work/db
"$bin" ingest --db "$db" --symbol BTC "$shared/data/csv/btc-perp-20211231-20220201_1m.csv" >/dev/null 2>&1
"$bin" ingest --db "$db" --symbol SPY --stamp end "$shared/data/csv/nt-spy-minute-2011.csv" >/dev/null 2>&1
"$work/engine-static" "$db" BTC SPY >"$work/static.out"
cp "$work/static.out" "$work/shared.out"
# The shared engine's library is gone now: reinstall it to run that one too.
meson install -C "$build" --no-rebuild --destdir "$work/dest" --quiet >/dev/null
"$work/engine-shared" "$db" BTC SPY >"$work/shared.out"
cmp -s "$work/static.out" "$work/shared.out" || fail "static and shared engines differ: $(diff "$work/static.out" "$work/shared.out")"
out=$work/static.out
cat "$out"

# The rule of engine.cpp's opening comment, on the 5m closes query returns: mantissas at the
# most decimals any close shows, so the sums are exact integers.
rule='BEGIN { FS = "," }
NR > 1 { c[++n] = $5; p = index($5, "."); if (p && length($5) - p > d) d = length($5) - p }
END {
  s = 1; for (i = 0; i < d; i++) s *= 10
  for (i = 1; i <= n; i++) m[i] = int(c[i] * s + (c[i] < 0 ? -0.5 : 0.5))
  for (i = 48; i <= n; i++) {
    fs = 0; ss = 0
    for (j = i - 47; j <= i; j++) { ss += m[j]; if (j > i - 12) fs += m[j] }
    want = fs * 48 > ss * 12
    if (want != hold) { if (want) entry = m[i]; else { pnl += m[i] - entry; trades++ } hold = want }
  }
  if (hold) { pnl += m[n] - entry; trades++ }
  a = pnl < 0 ? -pnl : pnl; txt = int(a / s)
  if (d > 0) { f = sprintf("%0" d "d", a % s); sub(/0+$/, "", f); if (f != "") txt = txt "." f }
  printf "trades %d pnl %s%s\n", trades, (pnl < 0 ? "-" : ""), txt
}'
for sym in BTC SPY; do
  for tf in 1m 5m 1h; do
    want=$("$bin" query --db "$db" "$sym" --timeframe "$tf" --format csv | tail -n +2 | wc -l)
    grep -qx "$sym $tf bars $want" "$out" || fail "$sym $tf: query has $want bars, engine: $(grep "^$sym $tf " "$out")"
  done
  want=$("$bin" query --db "$db" "$sym" --timeframe 5m --format csv | awk "$rule")
  grep -qx "$sym $want" "$out" || fail "$sym: the rule on query's 5m bars gives '$want', engine: $(grep "^$sym trades" "$out")"
done
# The Reader reads the store in lookahead runs, not once per step.
read -r hits misses reads < <(awk '/^reader /{ print $3, $5, $7 }' "$out")
[ $((hits + misses)) -gt 100000 ] && [ "$reads" -lt 100 ] || fail "reader counters: $hits hits, $misses misses, $reads store reads"
v=$("$bin" --version) && v=${v%%$'\n'*}  # its first line (no `| head -1`: see needed())
grep -qx "${v/barstore /barstore } (headers ${v#barstore })" "$out" || fail "version line, --version says '$v'"
ex=$("$work/example" "$db" BTC)
want=$("$bin" query --db "$db" BTC --timeframe 1h --last 3 --format csv | tail -n +2 | cut -d, -f1,5 | tr , ' ')
[ "$ex" = "$want" ] || fail "docs/api.md's example printed '$ex', query: '$want'"
echo "ok"
