# --version names barstore's version (meson.build's), the on-disk format (docs/format.md's title)
# and the LMDB, zstd and tzdata it runs with, as Debian's packages give them; exit 0.
set -u
root=$(dirname "$0")/../..
out=$("$BARSTORE" --version); echo "exit $?"
want="barstore $(sed -n "s/^ *version: '\([0-9.]*\)',.*/\1/p" "$root/meson.build")
on-disk format $(sed -n '1s/^# barstore on-disk format, version \([0-9]*\)$/\1/p' "$root/docs/format.md")
lmdb $(pkg-config --modversion lmdb)
zstd $(pkg-config --modversion libzstd)
tzdata $(sed -n '1s/^# version //p' /usr/share/zoneinfo/tzdata.zi)"
if [ "$out" = "$want" ]; then echo "as meson.build, docs/format.md, pkg-config and tzdata.zi say"; else diff <(echo "$want") <(echo "$out"); fi
