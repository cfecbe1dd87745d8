#!/bin/sh
# The rooms of lib/ keep to their layers (docs/design.md, "Rooms"):
#  - the base rooms (XML, JIDs, stanza rules, timers, stanza errors, and
#    the counter names) include only one another and the public header,
#    so they know nothing of registrations, sessions, publishes or the
#    context;
#  - no source includes a header that shows every struct (the former
#    lib/private.h): each includes the headers of the modules it uses;
#  - every internal header compiles on its own.
#   check-rooms.sh SOURCE_ROOT CC
set -u
root=$1 cc=$2
command -v pkg-config >/dev/null || { echo "pkg-config missing"; exit 1; }
# shellcheck disable=SC2046 # word splitting of the flags is wanted
set -- $(pkg-config --cflags glib-2.0 libxml-2.0)
cd "$root/lib" || exit 1
status=0
# counters.h (the counter names) is a base header; counters.c, the getter,
# reads the context and is not a base room.
base="xml jid rules timers stanza-errors"
allowed=" cloudnotify/cloudnotify.h counters.h"
for b in $base; do allowed="$allowed $b.h"; done
files=counters.h
for b in $base; do files="$files $b.c $b.h"; done
for f in $files; do
  [ -f "$f" ] || continue
  for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
    case "$allowed " in
    *" $inc "*) ;;
    *) echo "base room $f includes $inc"; status=1 ;;
    esac
  done
done
if [ -e private.h ] || grep -ln '#include "private.h"' ./*.c ./*.h ../tests/*.c ../fuzz/*.c 2>/dev/null; then
  echo "lib/private.h is back, or something includes it"; status=1
fi
tmp="${TMPDIR:-/tmp}/check-rooms.$$.c"
for h in *.h; do
  printf '#include "%s"\n' "$h" > "$tmp"
  if ! "$cc" -fsyntax-only -Werror -I. -I../include "$@" "$tmp"; then
    echo "$h does not compile on its own"; status=1
  fi
done
rm -f "$tmp"
[ $status -eq 0 ] && echo "base rooms keep to themselves; every header stands alone"
exit $status
