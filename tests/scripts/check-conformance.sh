#!/bin/sh
# The route docs/store-conformance.md gives a host author: the installed
# conformance suite and example target, built with nothing but
# pkg-config against the installed library, then run.
set -eu
builddir=$1 srcdir=$2
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$builddir" --destdir "$dest" --no-rebuild --quiet >/dev/null
pcdir=$(dirname "$(find "$dest" -name libcloudnotify.pc | head -n1)")
suite=$(find "$dest" -path '*/libcloudnotify/conformance' -type d | head -n1)
[ -n "$suite" ] || { echo "the conformance suite is not installed"; exit 1; }
for f in store-conformance.c store-conformance.h conformance-example-store.c; do
  [ -f "$suite/$f" ] || { echo "missing installed $f"; exit 1; }
done
export PKG_CONFIG_SYSROOT_DIR="$dest" PKG_CONFIG_PATH="$pcdir"
flags="$(pkg-config --cflags libcloudnotify cmocka) -std=c99 -Wall -Werror"
libs=$(pkg-config --libs libcloudnotify cmocka)
export LD_LIBRARY_PATH="$(dirname "$(find "$dest" -name 'libcloudnotify.so.0' | head -n1)")"
for variant in "" -DEXAMPLE_LATER; do
  # shellcheck disable=SC2086
  cc $flags $variant -o "$dest/conformance" "$suite/store-conformance.c" \
    "$suite/conformance-example-store.c" $libs
  "$dest/conformance"
done
echo "the installed suite builds with pkg-config and passes on the example store"
