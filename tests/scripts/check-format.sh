#!/bin/sh
# The project's C follows one style, written in .clang-format; this fails
# on any file that clang-format would change and shows the difference.
set -u
cd "$1"
command -v clang-format >/dev/null || { echo "clang-format missing (Debian package clang-format)"; exit 1; }
status=0
for f in $(git ls-files '*.c' '*.h' 2>/dev/null || find lib include tests fuzz bench examples bindings -name '*.[ch]'); do
  if ! clang-format --style=file "$f" | diff -u "$f" - > /dev/null; then
    echo "not formatted: $f"; clang-format --style=file "$f" | diff -u "$f" - | head -20
    status=1
  fi
done
[ $status -eq 0 ] && echo "every C file follows .clang-format"
exit $status
