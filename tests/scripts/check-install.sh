#!/bin/sh
# Install into a scratch prefix and build the example the way a host
# would: with nothing but pkg-config and the installed files.
set -eu
builddir=$1 srcdir=$2
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$builddir" --destdir "$dest" --no-rebuild --quiet >/dev/null
pcdir=$(dirname "$(find "$dest" -name libcloudnotify.pc | head -n1)")
prefix=$(sed -n 's/^prefix=//p' "$pcdir/libcloudnotify.pc")
export PKG_CONFIG_SYSROOT_DIR="$dest" PKG_CONFIG_PATH="$pcdir"
# The installed header must compile alone, with no glib or libxml2 on the
# include path.
cflags=$(pkg-config --cflags libcloudnotify)
case "$cflags" in *glib*|*libxml*) echo "public cflags leak a dependency: $cflags"; exit 1;; esac
cc -std=c99 -Wall -Werror $cflags -o "$dest/walkthrough" "$srcdir/examples/walkthrough.c" \
  $(pkg-config --libs libcloudnotify)
LD_LIBRARY_PATH="$dest$prefix/lib:$(dirname "$(find "$dest" -name 'libcloudnotify.so.0' | head -n1)")" \
  "$dest/walkthrough" > "$dest/out"
grep -q "type='result' id='enable1'" "$dest/out"
grep -q "<publish-options>" "$dest/out"
grep -q "registration removed: .* (too many app-server errors)" "$dest/out"
echo "installed library, header and pkg-config file build and run the example"
