#!/bin/bash
# Unpack Prosody 13 (Debian 12's bookworm-backports) into DIR, beside the
# installed Prosody 0.12, and print the path of its `prosody` executable.
#
#   tests/integration/prosody13.sh DIR
#
# The two cannot both be installed as packages, and the integration suite
# only needs the files: the .deb is fetched with a private apt state (a
# deb822 entry for bookworm-backports with the archive URL and keyring of
# the system's debian.sources; the system's apt configuration is not
# touched) and unpacked with `dpkg-deb -x`.  Prosody 13 needs nothing from
# backports beyond itself: its dependencies are the lua5.4 libraries that
# Debian 12's prosody package already installed.  The result is cached:
# a second call only prints the path.
set -eu
dir=$(realpath -m "$1")   # the scripts get absolute paths
bin=$dir/root/usr/bin/prosody
if [ -x "$bin" ] && [ -f "$dir/root/.patched" ]; then
  echo "$bin"; exit 0
fi
mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial"
rm -rf "$dir/root" "$dir"/*.deb
# The archive and keyring of the system's first entry (a mirror, if set).
sys_sources=/etc/apt/sources.list.d/debian.sources
uri=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' "$sys_sources" 2>/dev/null | head -n1)
keyring=$(sed -n 's/^Signed-By: *\([^ ]*\).*/\1/p' "$sys_sources" 2>/dev/null | head -n1)
cat > "$dir/apt/backports.sources" <<EOS
Types: deb
URIs: ${uri:-http://deb.debian.org/debian}
Suites: bookworm-backports
Components: main
Signed-By: ${keyring:-/usr/share/keyrings/debian-archive-keyring.gpg}
EOS
apt_opts=(-o "Dir::Etc::SourceList=$dir/apt/backports.sources" -o Dir::Etc::SourceParts=/nonexistent
          -o "Dir::State::Lists=$dir/apt/lists" -o "Dir::Cache=$dir/apt/cache"
          -o APT::Sandbox::User=root -qq)
apt-get "${apt_opts[@]}" update >&2
(cd "$dir" && apt-get "${apt_opts[@]}" download prosody/bookworm-backports >&2)
dpkg-deb -x "$dir"/prosody_*.deb "$dir/root"
# The scripts name their Lua tree with absolute paths (/usr/lib/prosody,
# which is 0.12's): point them at the private copy.
for f in prosody prosodyctl; do
  sed -i -e "s|^CFG_SOURCEDIR=.*|CFG_SOURCEDIR='$dir/root/usr/lib/prosody';|" \
         -e "s|^CFG_PLUGINDIR=.*|CFG_PLUGINDIR='$dir/root/usr/lib/prosody/modules/';|" \
         -e "s|^CFG_CONFIGDIR=.*|CFG_CONFIGDIR='$dir/root/etc/prosody';|" \
         -e "1s|^#!.*|#!/usr/bin/lua5.4|" "$dir/root/usr/bin/$f"
done
grep -q "^CFG_SOURCEDIR='$dir/" "$dir/root/usr/bin/prosody" || { echo "prosody13.sh: could not patch CFG_SOURCEDIR" >&2; exit 1; }
touch "$dir/root/.patched"
echo "$bin"
