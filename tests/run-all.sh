#!/bin/bash
# The full test suite: installs what it needs (Debian 12), then builds and
# runs every suite (plain with warnings as errors, AddressSanitizer +
# UBSan, valgrind) and ends with one line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
src=$PWD
out=${CN_TEST_DIR:-$src/_test}

packages=(meson ninja-build gcc clang libclang-rt-14-dev pkg-config valgrind
          libglib2.0-dev libxml2-dev libidn11-dev libcmocka-dev lua5.4 liblua5.4-dev
          prosody prosody-modules python3-slixmpp abigail-tools clang-format
          # issue 9: the built-in SQLite store, the PostgreSQL store
          libsqlite3-dev postgresql libpq-dev
          # issue 10: ejabberd and the Erlang NIF
          ejabberd erlang-dev
          # issue 11: Tigase encrypted pushes (libcrypto) and their independent check
          libssl-dev python3-cryptography
          # issue 13: the Python binding (cffi API mode) and its tests
          python3-cffi python3-dev python3-pytest python3-gi
          # issue 13: the Debian packages (tests/scripts/debian-check.sh)
          debhelper dh-python lintian fakeroot build-essential dpkg-dev erlang-p1-xmpp
          # issue 13: the API reference (test doxygen, suite docs)
          doxygen)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null || { echo "package installation failed"; exit 1; }
  # Installing prosody starts the system service on the default ports; the
  # integration tests run private servers on ports of their own.
  if printf '%s\n' "${missing[@]}" | grep -qx prosody; then
    $SUDO service prosody stop >/dev/null 2>&1 || true
  fi
  # ejabberd's package may start its service, and its ejabberdctl an epmd on
  # all interfaces: the tests run private ones (tests/integration/server_ejabberd.py).
  if printf '%s\n' "${missing[@]}" | grep -qx ejabberd; then
    $SUDO service ejabberd stop >/dev/null 2>&1 || true
    epmd_pid=$(ss -Hltnp 'sport = :4369' 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2)
    [ -n "$epmd_pid" ] && $SUDO kill "$epmd_pid" 2>/dev/null
  fi
  # Likewise PostgreSQL: suite pg runs a private cluster of its own.
  if printf '%s\n' "${missing[@]}" | grep -qx postgresql; then
    $SUDO service postgresql stop >/dev/null 2>&1 || true
  fi
fi

mkdir -p "$out"
logs=()
failed_steps=()

# run_suite LABEL BUILDDIR SETUP_ARGS... -- TEST_ARGS...
run_suite() {
  local label=$1 dir=$2; shift 2
  local setup=() test=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do setup+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  test=("$@")
  echo "== $label"
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "${setup[@]}" > "$out/$label-setup.log" 2>&1 ||
      { tail -30 "$out/$label-setup.log"; failed_steps+=("$label: meson setup"); return; }
  fi
  ninja -C "$dir" > "$out/$label-build.log" 2>&1 ||
    { grep -E 'error|FAILED' -A5 "$out/$label-build.log" | head -60; failed_steps+=("$label: build"); return; }
  meson test -C "$dir" --no-rebuild --print-errorlogs --logbase "$label" "${test[@]}" \
    > "$out/$label-test.log" 2>&1
  grep -E '^ *[0-9]+/[0-9]+ ' "$out/$label-test.log" | grep -vE ' (OK|EXPECTEDFAIL) ' | head -40
  # meson appends the wrapper's name to the log base when one is used.
  local log
  log=$(ls "$dir/meson-logs/$label"*.json 2>/dev/null | head -n1)
  logs+=("$label=${log:-$dir/meson-logs/$label.json}")
}

werror=false; [ "${CI:-}" = "true" ] && werror=true

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
run_suite plain "$out/build-plain" -Dwerror=$werror -- --no-suite pg
# The PostgreSQL store: two nodes on a private cluster the suite starts,
# restarts and stops itself (tests/scripts/pg-cluster.sh).
run_suite pg "$out/build-plain" -- --suite pg
# The integration suites need only the plain build; they spend most of their
# time waiting on the servers' timers, so they run in the background beside
# the ASan and valgrind steps (each scenario has ports and servers of its
# own), and are collected at the end.
# - Prosody 0.12 (Debian's) and Prosody 13 (bookworm-backports, unpacked once
#   into $out/prosody13 beside 0.12), each with its own mod_cloud_notify and
#   ours side by side;
# - Debian's ejabberd 23.01, with its own mod_push + mod_push_keepalive and
#   ours (bindings/erlang) side by side.
integration_pids=()
integration_names=()
start_integration() { # NAME COMMAND...
  local name=$1; shift
  rm -f "$out/$name.jsonl"
  "$@" --json "$out/$name.jsonl" > "$out/$name.log" 2>&1 &
  integration_pids+=($!)
  integration_names+=("$name")
}
if [ -f "$out/build-plain/bindings/lua/cloudnotify.so" ]; then
  start_integration integration /usr/bin/python3 tests/integration/run.py --compare --build "$out/build-plain"
  p13_bin=$(tests/integration/prosody13.sh "$out/prosody13" 2> "$out/prosody13-fetch.log") || {
    tail -5 "$out/prosody13-fetch.log"; p13_bin=; failed_steps+=("integration: Prosody 13 could not be fetched"); }
  [ -n "$p13_bin" ] && start_integration integration-13 /usr/bin/python3 tests/integration/run.py \
    --compare --build "$out/build-plain" --prosody-bin "$p13_bin"
else
  failed_steps+=("integration: the Lua binding was not built")
fi
if [ -f "$out/build-plain/bindings/erlang/mod_cloudnotify.beam" ]; then
  start_integration integration-ejabberd /usr/bin/python3 tests/integration/run_ejabberd.py \
    --compare --build "$out/build-plain"
else
  failed_steps+=("integration-ejabberd: the Erlang binding was not built")
fi

# The Debian packages (tests/scripts/debian-check.sh): build, lintian, install,
# one scenario per server on the installed packages, removal. Beside the
# sanitizer steps like the integration suites: it builds in its own copy and
# its servers use their own ports; one JSON line per check.
rm -f "$out/debian.jsonl"
tests/scripts/debian-check.sh --json "$out/debian.jsonl" "$out/debian" > "$out/debian.log" 2>&1 &
debian_pid=$!

CC=clang run_suite asan "$out/build-asan" -Dwerror=$werror -Db_sanitize=address,undefined \
  -Db_lundef=false -Dc_args=-fno-sanitize-recover=all -- --suite unit --suite api --suite fuzz --suite pg \
  --suite conformance --suite tools
# Floods prove flat memory in the plain run; under valgrind a smaller one
# still exercises every path for leaks.
CN_FLOOD_COUNT=20000 G_SLICE=always-malloc G_DEBUG=gc-friendly run_suite valgrind "$out/build-plain" -- \
  --suite unit --suite api --suite lua --suite conformance --timeout-multiplier 10 \
  --wrapper "valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --suppressions=/usr/share/glib-2.0/valgrind/glib.supp"

# The PostgreSQL suite under valgrind too (about 40 s; its label must not
# start like another step's, the log is found by prefix).
G_SLICE=always-malloc G_DEBUG=gc-friendly run_suite vg-pg "$out/build-plain" -- \
  --suite pg --timeout-multiplier 10 \
  --wrapper "valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --suppressions=/usr/share/glib-2.0/valgrind/glib.supp"

for i in "${!integration_pids[@]}"; do
  name=${integration_names[$i]}
  wait "${integration_pids[$i]}"
  echo "== $name"
  sed -n '/^Comparison/,$p' "$out/$name.log" | grep -vE '^[0-9]+ passed, [0-9]+ failed'
  grep -E '^FAIL' "$out/$name.log" | head -40
  logs+=("$name=$out/$name.jsonl")
done

wait "$debian_pid"
echo "== debian"
grep -E '^(build|lintian|install|python3-import|scenario-[a-z]+) ' "$out/debian.log"
grep -E '^  [EW]: ' "$out/debian.log" | head -20
logs+=("debian=$out/debian.jsonl")

args=("${logs[@]}")
for s in "${failed_steps[@]+"${failed_steps[@]}"}"; do args+=(--failed-step "$s"); done
exec /usr/bin/python3 tests/scripts/summarize.py "${args[@]}"
