#!/bin/sh
# The API reference must build without a single doxygen warning: every
# function, macro, typedef, struct, member and enum value of the public
# headers documented, every @param naming a real parameter.  Runs doxygen
# on the configured Doxyfile into a scratch directory (the api-docs target
# keeps its own output), prints each warning as file:line: text and fails
# when there is any, whatever doxygen's own exit status says.  Doxygen
# does not warn about an undocumented enum value, so its XML output is
# read for those (check-doxygen-enums.py).
# Usage: check-doxygen.sh DOXYGEN DOXYFILE [EXTRA_HEADER...]
# With CN_DOXYGEN_EXPECT="NAME..." it passes only when each NAME is
# reported and nothing outside the extra headers is (the planted-defects
# test, tests/doxygen-planted.h).
set -u
doxygen=$1 doxyfile=$2
shift 2
here=$(dirname "$0")
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
{ cat "$doxyfile"
  echo "OUTPUT_DIRECTORY = $tmp"
  echo "WARN_LOGFILE = $tmp/warnings"
  echo "GENERATE_XML = YES"
  for extra in "$@"; do echo "INPUT += $extra"; done
} | "$doxygen" - > "$tmp/out" 2>&1
status=$?
planted_name=doxygen-planted.h
/usr/bin/python3 "$here/check-doxygen-enums.py" "$tmp/xml" >> "$tmp/warnings"
n=$(grep -c ': warning: \|: error: ' "$tmp/warnings")
if [ -n "${CN_DOXYGEN_EXPECT:-}" ]; then
  cat "$tmp/warnings"
  ok=0
  for name in $CN_DOXYGEN_EXPECT; do
    grep -q "$name" "$tmp/warnings" || { echo "not reported: $name"; ok=1; }
  done
  # Nothing but the planted header may be reported.
  if grep ': warning: \|: error: ' "$tmp/warnings" | grep -v "^[^:]*$planted_name:" | grep .; then
    ok=1
  fi
  exit $ok
fi
if [ "$n" -ne 0 ] || [ "$status" -ne 0 ]; then
  cat "$tmp/warnings"
  tail -20 "$tmp/out"
  echo "doxygen: $n warning(s), exit status $status"
  exit 1
fi
echo "doxygen: 0 warnings"
