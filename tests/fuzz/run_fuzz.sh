#!/usr/bin/env bash
# tests/fuzz/run_fuzz.sh FUZZER TARGET SHARED SOURCE_ROOT BARSTORE: fuzzes one libFuzzer target
# for BARSTORE_FUZZ_SECONDS (default 60) under the sanitizers it was built with, from seeds made
# at run time (make_seeds.py) plus tests/fuzz/corpus/TARGET. BARSTORE_FUZZ_CORPUS keeps the
# grown corpus across runs; BARSTORE_FUZZ_JOBS runs that many fuzzing processes in parallel.
# BARSTORE_FUZZ_CPU_SECONDS (one job only) stops the fuzzer once it has used that much CPU
# time instead of wall time, so a documented "1 CPU-hour" run is one on a shared machine too.
# Prints one FIGURE line and exits non-zero on any crash, leak, timeout or OOM; the input
# that caused it is kept in BARSTORE_FUZZ_ARTIFACTS (default: ./fuzz-artifacts).
set -uo pipefail
fuzzer=$(realpath "$1"); target=$2; shared=$(realpath "$3"); src=$(realpath "$4"); barstore=$(realpath "$5")
seconds=${BARSTORE_FUZZ_SECONDS:-60}
jobs=${BARSTORE_FUZZ_JOBS:-1}
artifacts=$(realpath -m "${BARSTORE_FUZZ_ARTIFACTS:-fuzz-artifacts}")/$target
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"
python3 "$src/tests/fuzz/make_seeds.py" "$work/seeds" "$shared" "$src/tests/golden" "$barstore" >/dev/null || exit 1
corpus=${BARSTORE_FUZZ_CORPUS:-$work/corpus}/$target
mkdir -p "$corpus"
case $target in
  csv) max_len=8192 ;;
  chunk) max_len=65536 ;;
  *) max_len=16384 ;;
esac
cpu_limit=${BARSTORE_FUZZ_CPU_SECONDS:-}
if [ -n "$cpu_limit" ]; then
  [ "$jobs" -eq 1 ] || { echo "BARSTORE_FUZZ_CPU_SECONDS needs BARSTORE_FUZZ_JOBS=1" >&2; exit 2; }
  seconds=$((cpu_limit * 100))  # the CPU watcher below ends the run
fi
opts=(-max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048
      -print_final_stats=1 -artifact_prefix="$artifacts/")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
log=$work/log
start=$(date +%s)
TIMEFORMAT='%U %S'
{ time {
  if [ "$jobs" -gt 1 ]; then
    # -fork: a crashing child is reported and fuzzing stops (ignore_crashes=0); all jobs share the corpus.
    "$fuzzer" "${opts[@]}" -fork="$jobs" "$corpus" "$work/seeds/$target" "$src/tests/fuzz/corpus/$target" >"$log" 2>&1
  elif [ -n "$cpu_limit" ]; then
    # SIGINT makes libFuzzer print its final stats and exit 72 (clang 14 ignores
    # -interrupted_exit_code); a stop we asked for is a clean end.
    "$fuzzer" "${opts[@]}" "$corpus" "$work/seeds/$target" \
      "$src/tests/fuzz/corpus/$target" >"$log" 2>&1 &
    pid=$!
    hz=$(getconf CLK_TCK)
    while kill -0 "$pid" 2>/dev/null; do
      ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null) || break
      if [ -n "$ticks" ] && [ $((ticks / hz)) -ge "$cpu_limit" ]; then kill -INT "$pid"; stopped=1; break; fi
      sleep 5
    done
    wait "$pid"
    rc=$?
    [ "${stopped:-0}" = 1 ] && [ $rc -eq 72 ] && grep -q 'run interrupted' "$log" && rc=0
    (exit $rc)
  else
    "$fuzzer" "${opts[@]}" "$corpus" "$work/seeds/$target" "$src/tests/fuzz/corpus/$target" >"$log" 2>&1
  fi
  echo $? >"$work/rc"
}; } 2>"$work/cpu"
rc=$(cat "$work/rc")
elapsed=$(( $(date +%s) - start ))
cpu=$(awk '{printf "%.0f", $1 + $2}' "$work/cpu")
runs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
[ "$runs" -gt 0 ] || runs=$(grep -oE '#[0-9]+' "$log" | tail -1 | tr -d '#')
crashes=$(grep -cE 'ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|libFuzzer: deadly signal)|runtime error:|invariant broken' "$log")
leaks=$(grep -c 'ERROR: LeakSanitizer' "$log")
timeouts=$(grep -c 'ERROR: libFuzzer: timeout' "$log")
ooms=$(grep -cE 'ERROR: libFuzzer: (out-of-memory|malloc limit)' "$log")
cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
echo "FIGURE fuzz $target: ${elapsed} s wall, ${cpu} CPU-s, $jobs job(s), ${runs:-0} inputs, coverage ${cov:-?} edges, corpus $(ls "$corpus" | wc -l) files: $crashes crashes, $leaks leaks, $timeouts timeouts, $ooms OOMs (exit $rc)"
if [ $rc -ne 0 ] || [ $((crashes + leaks + timeouts + ooms)) -ne 0 ]; then
  tail -60 "$log"
  echo "artifacts: $artifacts"
  exit 1
fi
