#!/bin/sh
# The ABI recorded for a release may only grow.  abidiff compares the
# built library with the committed baseline (produced by abidw from the
# same compiler CI uses); added functions and fields appended where the
# vtable rule allows them are compatible, anything else fails the run.
#   check-abi.sh LIB BASELINE HEADERS_DIR            compare
#   check-abi.sh --update LIB BASELINE HEADERS_DIR   record a new baseline
set -u
update=0
[ "${1:-}" = "--update" ] && { update=1; shift; }
lib=$1 baseline=$2 headers=$3
if [ $update -eq 1 ]; then
  exec abidw --headers-dir "$headers" --no-corpus-path --out-file "$baseline" "$lib"
fi
if ! command -v abidiff >/dev/null; then
  echo "abidiff missing (Debian package abigail-tools)"
  # A developer's machine may lack it (skip); CI installs it and must not.
  [ "${CI:-}" = "true" ] && exit 1 || exit 77
fi
out="${TMPDIR:-/tmp}/abidiff.$$"
# Members appended to the size-prefixed structs are allowed (vtable rule).
suppr="$(dirname "$baseline")/appendable.suppr"
abidiff --suppressions "$suppr" --headers-dir2 "$headers" "$baseline" "$lib" > "$out" 2>&1
rc=$?
cat "$out"
# abidiff's status is a bit field: 1 error, 2 usage error, 4 ABI changed,
# 8 incompatible change (something removed).  A changed function (a type
# it reaches changed: a member moved, a parameter retyped) only sets 4,
# so the summary lines are read too.  abidiff itself counts a member
# appended to a struct as harmless (filtered out), which is what the
# vtable rule allows for the structs that start with a size field.
changed=$(sed -n 's/^\(Functions\|Variables\) changes summary: \([0-9]*\) Removed, \([0-9]*\) Changed.*/\2 \3/p' "$out" |
          awk '{ n += $1 + $2 } END { print n + 0 }')
rm -f "$out"
if [ $((rc & 3)) -ne 0 ]; then
  echo "abidiff failed (status $rc)"; exit 1
fi
if [ $((rc & 8)) -ne 0 ] || [ "$changed" -ne 0 ]; then
  echo "INCOMPATIBLE ABI change against $baseline (status $rc, $changed removed or changed)"; exit 1
fi
[ $((rc & 4)) -ne 0 ] && echo "compatible additions only (status $rc)" || echo "ABI identical to the baseline"
exit 0
