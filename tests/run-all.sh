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
          postgresql libpq-dev)
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
  grep -E '^ *[0-9]+/[0-9]+ ' "$out/$label-test.log" | grep -v ' OK ' | head -40
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
CC=clang run_suite asan "$out/build-asan" -Dwerror=$werror -Db_sanitize=address,undefined \
  -Db_lundef=false -Dc_args=-fno-sanitize-recover=all -- --suite unit --suite api --suite fuzz --suite pg
# Floods prove flat memory in the plain run; under valgrind a smaller one
# still exercises every path for leaks.
CN_FLOOD_COUNT=20000 G_SLICE=always-malloc G_DEBUG=gc-friendly run_suite valgrind "$out/build-plain" -- \
  --suite unit --suite api --suite lua --timeout-multiplier 10 \
  --wrapper "valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --suppressions=/usr/share/glib-2.0/valgrind/glib.supp"

# The PostgreSQL suite under valgrind too (about 40 s; its label must not
# start like another step's, the log is found by prefix).
G_SLICE=always-malloc G_DEBUG=gc-friendly run_suite vg-pg "$out/build-plain" -- \
  --suite pg --timeout-multiplier 10 \
  --wrapper "valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --suppressions=/usr/share/glib-2.0/valgrind/glib.supp"

# A real Prosody with real clients, once with prosody-modules'
# mod_cloud_notify and once with ours, side by side.
echo "== integration"
if [ -f "$out/build-plain/bindings/lua/cloudnotify.so" ]; then
  # -- Prosody 13 (bookworm-backports, unpacked once into $out/prosody13 beside
  # Debian's 0.12) runs the same scenarios against its built-in
  # mod_cloud_notify, in parallel: each scenario has ports of its own.
  p13_bin=$(tests/integration/prosody13.sh "$out/prosody13" 2> "$out/prosody13-fetch.log") || {
    tail -5 "$out/prosody13-fetch.log"; p13_bin=; failed_steps+=("integration: Prosody 13 could not be fetched"); }
  if [ -n "$p13_bin" ]; then
    rm -f "$out/integration-13.jsonl"
    /usr/bin/python3 tests/integration/run.py --compare --build "$out/build-plain" --prosody-bin "$p13_bin" \
      --json "$out/integration-13.jsonl" > "$out/integration-13.log" 2>&1 &
    p13_pid=$!
  fi
  # -- end Prosody 13
  /usr/bin/python3 tests/integration/run.py --compare --build "$out/build-plain" \
    --json "$out/integration.jsonl" > "$out/integration.log" 2>&1
  sed -n '/^Comparison/,$p' "$out/integration.log" | grep -vE '^[0-9]+ passed, [0-9]+ failed'
  grep -E '^FAIL' "$out/integration.log" | head -40
  logs+=("integration=$out/integration.jsonl")
  # -- Prosody 13
  if [ -n "$p13_bin" ]; then
    wait "$p13_pid"
    sed -n '/^Comparison/,$p' "$out/integration-13.log" | grep -vE '^[0-9]+ passed, [0-9]+ failed'
    grep -E '^FAIL' "$out/integration-13.log" | head -40
    logs+=("integration-13=$out/integration-13.jsonl")
  fi
  # -- end Prosody 13
else
  failed_steps+=("integration: the Lua binding was not built")
fi

args=("${logs[@]}")
for s in "${failed_steps[@]+"${failed_steps[@]}"}"; do args+=(--failed-step "$s"); done
exec /usr/bin/python3 tests/scripts/summarize.py "${args[@]}"
