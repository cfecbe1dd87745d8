#!/bin/bash
# Usage: fuzz/run-fuzzers.sh SECONDS [BUILDDIR]
#
# Builds the libFuzzer targets (clang, ASan + UBSan) in BUILDDIR (default
# _test/build-fuzz, configured on first use), runs each target for
# SECONDS with its seed corpus and dictionary, and prints per target the
# executions, executions per second and the crash found (0, or the path
# of the input that reproduces it).  Exits non-zero when any target
# crashed, leaked or hung.
#
# The seed corpus is copied to a scratch directory first: what the fuzzer
# finds is not written into the repository.  Crash inputs are kept under
# BUILDDIR/fuzz-artifacts/<date>/; once fixed, copy them to
# fuzz/corpus/<target>/regress-<name> so that the replay tests keep them.
#
# Environment: FUZZ_JOBS (default 1) targets run at a time;
# FUZZ_TARGETS (default all) space-separated subset; FUZZ_ARGS extra
# libFuzzer arguments; FUZZ_WORK a directory where the working corpora
# are kept (and grown again by the next run) instead of a scratch one.
set -u
secs=${1:-}
if ! [[ "$secs" =~ ^[0-9]+$ ]] || [ "$secs" -eq 0 ]; then
  echo "usage: $0 SECONDS [BUILDDIR]" >&2
  exit 2
fi
cd "$(dirname "$0")/.." || exit 2
src=$PWD
dir=${2:-$src/_test/build-fuzz}
jobs=${FUZZ_JOBS:-1}
read -r -a targets <<< "${FUZZ_TARGETS:-client-iq app-reply trigger store-load jid xml api-sequence tree}"

if [ ! -f "$dir/build.ninja" ]; then
  CC=clang meson setup "$dir" -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false ||
    exit 1
elif ! meson introspect "$dir" --buildoptions |
    python3 -c 'import json,sys; sys.exit(0 if any(o["name"]=="fuzzing" and o["value"] for o in json.load(sys.stdin)) else 1)'; then
  echo "$dir is not configured with -Dfuzzing=true" >&2
  exit 1
fi
ninja -C "$dir" || exit 1

stamp=$(date +%Y%m%d-%H%M%S)
artifacts=$dir/fuzz-artifacts/$stamp
if [ -n "${FUZZ_WORK:-}" ]; then
  scratch=$FUZZ_WORK
  mkdir -p "$scratch" || exit 1
else
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/cn-fuzz.XXXXXX")
  trap 'rm -rf "$scratch"' EXIT
fi
mkdir -p "$artifacts"

# Findings must end the run: UBSan only reports by default, and ASan's
# leak check is what the api-sequence target relies on.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

run_one() {
  local t=$1
  local exe=$dir/fuzz/fuzz-$t
  local corpus=$scratch/corpus-$t
  mkdir -p "$corpus" "$artifacts/$t"
  cp -R "$src/fuzz/corpus/$t/." "$corpus/"
  local dict=()
  [ -f "$src/fuzz/$t.dict" ] && dict=(-dict="$src/fuzz/$t.dict")
  # shellcheck disable=SC2086
  "$exe" -max_total_time="$secs" -max_len=65536 -timeout=20 -rss_limit_mb=2560 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$t/" "${dict[@]}" ${FUZZ_ARGS:-} \
    "$corpus" > "$artifacts/$t.log" 2>&1
  echo $? > "$artifacts/$t.rc"
}

running=0
for t in "${targets[@]}"; do
  if [ ! -x "$dir/fuzz/fuzz-$t" ]; then
    echo "no such target: $t" >&2
    exit 2
  fi
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait

failed=0
printf '%-14s %14s %10s  %s\n' target executions exec/s crashes
for t in "${targets[@]}"; do
  log=$artifacts/$t.log
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
  found=$(find "$artifacts/$t" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
    -o -name 'timeout-*' -o -name 'oom-*' \) | sort | head -n1)
  rc=$(cat "$artifacts/$t.rc" 2>/dev/null || echo 1)
  if [ -n "$found" ]; then
    failed=1
  elif [ "$rc" -ne 0 ]; then
    found="failed (exit $rc), see $log"
    failed=1
  else
    found=0
  fi
  printf '%-14s %14s %10s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$found"
done
echo "logs: $artifacts"
exit $failed
