#!/bin/sh
# The project's C follows one style, written in .clang-format; this fails
# on any file that clang-format would change and shows the difference.
# One clang-format process checks every file (one per file took longer
# than the test's timeout on a loaded machine); only the files it flags are
# run again to show their differences.
set -u
cd "$1"
command -v clang-format >/dev/null || { echo "clang-format missing (Debian package clang-format)"; exit 1; }
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find lib include tests fuzz bench examples bindings tools -name '*.[ch]')
bad=$(clang-format --style=file --dry-run $files 2>&1 | sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: warning: code should be clang-formatted.*/\1/p' | sort -u)
if [ -z "$bad" ]; then
  echo "every C file follows .clang-format"
  exit 0
fi
for f in $bad; do
  echo "not formatted: $f"; clang-format --style=file "$f" | diff -u "$f" - | head -20
done
exit 1
