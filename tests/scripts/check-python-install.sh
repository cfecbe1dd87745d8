#!/bin/sh
# Install into a scratch root and import the Python binding from there, as
# /usr/bin/python3 would after `meson install`: the package directory holds
# the extension, the pure modules, the stubs and py.typed.
set -eu
builddir=$1
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$builddir" --destdir "$dest" --no-rebuild --quiet >/dev/null
pkg=$(find "$dest" -type d -name cloudnotify -path '*dist-packages*' | head -n1)
[ -n "$pkg" ] || { echo "no cloudnotify package under a dist-packages directory"; exit 1; }
for f in __init__.py __init__.pyi aio.py glib.py py.typed; do
  [ -f "$pkg/$f" ] || { echo "missing $pkg/$f"; exit 1; }
done
ls "$pkg"/_cloudnotify.cpython-*.so >/dev/null
# The directory must be one Debian's python3 searches for that prefix.
prefix=$(meson introspect "$builddir" --buildoptions |
  /usr/bin/python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
site=${pkg#"$dest"}
site=${site%/cloudnotify}
PYTHONPATH= /usr/bin/python3 -c "import sys; p='$site'; sys.exit(0 if p in sys.path or '$prefix' not in ('/usr', '/usr/local') else 'not on sys.path: ' + p)"
libdir=$(dirname "$(find "$dest" -name 'libcloudnotify.so.0' | head -n1)")
cd "$dest"
PYTHONPATH="$dest$site" LD_LIBRARY_PATH="$libdir" PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -c "
import cloudnotify, cloudnotify.aio
assert cloudnotify.__file__.startswith('$dest'), cloudnotify.__file__
with cloudnotify.Context() as ctx:
    assert ctx.counter(cloudnotify.Counter.SESSIONS) == 0
print('installed package', cloudnotify.__file__, cloudnotify.version_string())
"
