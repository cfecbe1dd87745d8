#!/bin/bash
# Builds the library (installing its Debian 12 build dependencies) and
# runs the walkthrough example, which prints every stanza it exchanges.
set -eu
cd "$(dirname "$0")/.."
packages=(meson ninja-build gcc pkg-config libglib2.0-dev libxml2-dev libidn11-dev libcmocka-dev libsqlite3-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
exec ./build/examples/walkthrough
