#!/usr/bin/env bash
# tests/install/headers.sh SRC_INC HEADERS_ALONE_LIB ALONE_TU...: the build compiled one TU per
# public header (tests/install/meson.build; HEADERS_ALONE_LIB is its output, so it exists only if
# each compiled); here: that those headers are exactly the folder's (so a new header cannot escape
# the check or the install), that barstore.hpp includes them all, and that none includes an LMDB,
# zstd, xxHash or date header (no dependency's type in the API).
set -uo pipefail
src_inc=$1 lib=$2
shift 2
fail=0
bad() { echo "FAIL: $*"; fail=1; }
[ -f "$lib" ] || bad "$lib was not built"
listed=$(for tu in "$@"; do sed -n 's|^#include "barstore/\(.*\)"$|\1|p;T;q' "$tu"; done | sort -u)
# version.hpp is generated from version.hpp.in into the build's include folder.
in_dir=$(cd "$src_inc/barstore" && { ls *.hpp; ls *.hpp.in | sed 's/\.in$//'; } | sort -u)
[ "$listed" = "$in_dir" ] ||
  bad "lib/include/barstore/meson.build's public_headers differ from the folder (< folder, > compiled alone):
$(diff <(echo "$in_dir") <(echo "$listed"))"
for h in $in_dir; do
  [ "$h" = barstore.hpp ] && continue
  grep -qx "#include \"barstore/$h\"" "$src_inc/barstore/barstore.hpp" || bad "barstore.hpp does not include $h"
done
grep -nE '#\s*include\s*[<"](lmdb\.h|zstd\.h|xxhash\.h|date/)' "$src_inc"/barstore/*.hpp "$src_inc"/barstore/*.hpp.in &&
  bad "a public header includes a dependency's header (docs/api.md, ABI)"
[ $fail -eq 0 ] && echo "ok: $(wc -w <<<"$in_dir") headers, each compiled alone"
exit $fail
