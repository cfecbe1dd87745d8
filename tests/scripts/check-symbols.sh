#!/bin/sh
# Every symbol the shared library exports must be declared in the public
# header and listed in the version script, and the other way round: a
# symbol that leaks out unversioned becomes ABI by accident.
set -eu
# One header or several (a library whose API spans more than one).
lib=$1 map=$2; shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRW]$/ {print $3}' | sed 's/@.*//' |
  grep -v "^LIBCLOUDNOTIFY" | sort -u > "$tmp/exported"
# Symbols only: a later node ends with "} LIBCLOUDNOTIFY_0.2;", no name.
sed -n '/global:/,$p' "$map" | grep -E '^[[:space:]]+[a-z_0-9]+;' | tr -d ' \t;' | sort -u > "$tmp/mapped"
# A declaration may be wrapped after its return type: read the header as
# one line.
cat "$@" | tr '\n' ' ' | grep -o 'CLOUDNOTIFY_EXPORT [^(;]*(' | grep -v __attribute__ |
  sed -E 's/.*[ *]([a-z_0-9]+)\($/\1/' | sort -u > "$tmp/declared"
status=0
if ! diff -u "$tmp/mapped" "$tmp/exported" > "$tmp/d1"; then
  echo "exported symbols differ from the version script:"; cat "$tmp/d1"; status=1
fi
if ! diff -u "$tmp/declared" "$tmp/exported" > "$tmp/d2"; then
  echo "exported symbols differ from the header's CLOUDNOTIFY_EXPORT declarations:"; cat "$tmp/d2"; status=1
fi
# Every exported symbol carries the version node of a release.
if nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRW]$/ {print $3}' | grep -v "^LIBCLOUDNOTIFY" | grep -v "@@LIBCLOUDNOTIFY"; then
  echo "the symbols above carry no version node"; status=1
fi
[ $status -eq 0 ] && echo "$(wc -l < "$tmp/exported") symbols exported, all declared and versioned"
exit $status
