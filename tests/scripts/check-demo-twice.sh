#!/bin/sh
# The demo keeps its registrations in SQLite: a second run must find the
# laptop's registration the first run left (issue 9).
set -eu
demo=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$demo" "$tmp/demo.db" > "$tmp/run1"
"$demo" "$tmp/demo.db" > "$tmp/run2"
if grep -q 'found from a previous run' "$tmp/run1"; then
  echo "the first run found a registration in a new database"; exit 1
fi
grep 'found from a previous run: .*push.capulet.example node laptop-node.*client urn:uuid:0a5f3c1e-laptop' "$tmp/run2" ||
  { echo "the second run did not find the first run's registration"; sed -n '1,8p' "$tmp/run2"; exit 1; }
