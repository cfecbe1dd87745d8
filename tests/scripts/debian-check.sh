#!/bin/bash
# The Debian packages, end to end (docs/packaging.md):
#   build             dpkg-buildpackage -us -uc -b in a copy of the tree
#                     (DEB_BUILD_OPTIONS=nocheck: the tests run elsewhere in CI)
#   lintian           lintian on the .changes: no error (warnings are listed)
#   install           the packages installed into the system with apt-get
#   python3-import    import cloudnotify from / finds the installed package
#   scenario-prosody  one integration scenario on Prosody with the installed
#                     lua-cloudnotify (run.py --installed)
#   scenario-ejabberd the same on ejabberd with the installed
#                     ejabberd-mod-cloudnotify (run_ejabberd.py --installed)
# and the packages removed again at the end (purge), whatever happened.
#
# Usage: tests/scripts/debian-check.sh [--json PATH] [WORKDIR]
# WORKDIR (default _test/debian) receives the copy, the .deb files and the
# logs. With --json, one line per check in meson's test-log form, which
# tests/scripts/summarize.py counts into run-all.sh's closing line.
# CN_DEBIAN_SCENARIO picks the scenario (default offline_message).
set -u
cd "$(dirname "$0")/../.."
src=$PWD
json=
if [ "${1:-}" = "--json" ]; then json=$2; shift 2; fi
work=$(realpath -m "${1:-$src/_test/debian}")
scenario=${CN_DEBIAN_SCENARIO:-offline_message}
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo

rm -rf "$work"
mkdir -p "$work/src"
[ -n "$json" ] && : > "$json"
failed=0

# record NAME OK|FAIL|SKIP SECONDS [DETAIL]
record() {
  printf '%-18s %-4s %4ss %s\n' "$1" "$2" "$3" "${4:-}"
  [ "$2" = FAIL ] && failed=$((failed + 1))
  [ -n "$json" ] && /usr/bin/python3 -c 'import json,sys
print(json.dumps({"name": "debian:" + sys.argv[1], "result": sys.argv[2],
                  "duration": float(sys.argv[3]), "detail": sys.argv[4]}))' \
    "$1" "$2" "$3" "${4:-}" >> "$json"
  return 0
}
skip_rest() { # NAME... : the steps that cannot run after a failure
  for s in "$@"; do record "$s" SKIP 0 "an earlier step failed"; done
}

# -- build: the tracked files only (no build dirs of the worktree) ----------
t=$SECONDS
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  git -C "$src" ls-files -z | (cd "$src" && xargs -0 tar cf -) | tar xf - -C "$work/src"
else
  tar cf - --exclude='./_*' --exclude=./build . | tar xf - -C "$work/src"
fi
if (cd "$work/src" && DEB_BUILD_OPTIONS="nocheck${DEB_BUILD_OPTIONS:+ $DEB_BUILD_OPTIONS}" \
      dpkg-buildpackage -us -uc -b) > "$work/build.log" 2>&1; then
  record build OK $((SECONDS - t)) "$(cd "$work" && ls ./*.deb | grep -vc dbgsym) packages"
else
  tail -30 "$work/build.log"
  record build FAIL $((SECONDS - t)) "see $work/build.log"
  skip_rest lintian install python3-import scenario-prosody scenario-ejabberd
  exit 1
fi
changes=$(ls "$work"/*.changes)
debs=()
for d in "$work"/*.deb; do case "$d" in *-dbgsym_*) ;; *) debs+=("$d") ;; esac; done
packages=()
for d in "${debs[@]}"; do packages+=("$(dpkg-deb -f "$d" Package)"); done
echo "packages: ${packages[*]}"

# -- lintian: errors fail, warnings are listed -------------------------------
t=$SECONDS
lintian --fail-on error "$changes" > "$work/lintian.log" 2>&1
lintian_rc=$?
grep -E '^[EW]: ' "$work/lintian.log" | sed 's/^/  /'
n_err=$(grep -c '^E: ' "$work/lintian.log")
n_warn=$(grep -c '^W: ' "$work/lintian.log")
if [ $lintian_rc -eq 0 ] && [ "$n_err" -eq 0 ]; then
  record lintian OK $((SECONDS - t)) "0 errors, $n_warn warnings"
else
  record lintian FAIL $((SECONDS - t)) "$n_err errors, $n_warn warnings (exit $lintian_rc)"
fi

# -- install; removed again on exit ------------------------------------------
remove_packages() {
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${packages[@]}" \
    > "$work/remove.log" 2>&1 || echo "warning: removing the packages failed, see $work/remove.log"
}
t=$SECONDS
if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
     "${debs[@]}" > "$work/install.log" 2>&1; then
  trap remove_packages EXIT
  record install OK $((SECONDS - t)) "${packages[*]}"
else
  tail -20 "$work/install.log"
  record install FAIL $((SECONDS - t)) "see $work/install.log"
  skip_rest python3-import scenario-prosody scenario-ejabberd
  exit 1
fi

# -- the Python binding imports from the system, not from the tree ----------
t=$SECONDS
if (cd / && /usr/bin/python3 -c 'import cloudnotify, sys; sys.exit(0 if cloudnotify.__file__.startswith("/usr/lib/python3/") else 1)') \
     > "$work/python3-import.log" 2>&1; then
  record python3-import OK $((SECONDS - t)) "/usr/lib/python3/dist-packages/cloudnotify"
else
  cat "$work/python3-import.log"
  record python3-import FAIL $((SECONDS - t)) "see $work/python3-import.log"
fi

# -- one scenario per server, with nothing from the source tree's build ------
scenario_step() { # NAME COMMAND...
  local name=$1; shift
  t=$SECONDS
  if "$@" --only "$scenario" > "$work/$name.log" 2>&1; then
    record "$name" OK $((SECONDS - t)) "$scenario"
  else
    grep -E '^(FAIL|PASS)|error' "$work/$name.log" | head -20
    record "$name" FAIL $((SECONDS - t)) "$scenario, see $work/$name.log"
  fi
}
scenario_step scenario-prosody /usr/bin/python3 tests/integration/run.py --module cloudnotify --installed
scenario_step scenario-ejabberd /usr/bin/python3 tests/integration/run_ejabberd.py --module cloudnotify --installed

echo "debian-check: $failed failed"
[ $failed -eq 0 ]
