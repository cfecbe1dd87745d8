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
abidiff --headers-dir2 "$headers" "$baseline" "$lib" > "${TMPDIR:-/tmp}/abidiff.$$" 2>&1
rc=$?
cat "${TMPDIR:-/tmp}/abidiff.$$"; rm -f "${TMPDIR:-/tmp}/abidiff.$$"
# abidiff's status is a bit field: 1 error, 2 usage error, 4 ABI changed,
# 8 incompatible change.  Only 4 alone (additions) is acceptable.
if [ $((rc & 8)) -ne 0 ]; then
  echo "INCOMPATIBLE ABI change against $baseline"; exit 1
fi
if [ $((rc & 3)) -ne 0 ]; then
  echo "abidiff failed (status $rc)"; exit 1
fi
[ $((rc & 4)) -ne 0 ] && echo "compatible additions only (status $rc)" || echo "ABI identical to the baseline"
exit 0
