#!/usr/bin/env bash
# tests/cli/run_case.sh BARSTORE SHARED CASE.sh: runs one CLI case in a fresh directory and
# compares its stdout (the data directory spelled $SHARED) with CASE.stdout and its exit status
# with CASE.exit (default 0).
set -uo pipefail
export BARSTORE="$(realpath "$1")" SHARED="$(realpath "$2")"
case_file="$(realpath "$3")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
actual_exit=0
bash "$case_file" >"$work/stdout.raw" 2>"$work/stderr" || actual_exit=$?
# The data's path differs by checkout (CI's is not /work/shared): goldens spell it $SHARED.
sed "s|$SHARED|\$SHARED|g" "$work/stdout.raw" >"$work/stdout"
expected_exit=0
[ -f "${case_file%.sh}.exit" ] && expected_exit=$(cat "${case_file%.sh}.exit")
fail=0
if ! diff -u "${case_file%.sh}.stdout" "$work/stdout"; then
  echo "stdout differs from ${case_file%.sh}.stdout"; fail=1
fi
if [ "$actual_exit" != "$expected_exit" ]; then
  echo "exit status $actual_exit, expected $expected_exit"; fail=1
fi
if [ $fail -ne 0 ]; then echo "--- stderr:"; cat "$work/stderr"; fi
exit $fail
