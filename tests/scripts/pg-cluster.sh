#!/bin/sh
# A private PostgreSQL cluster for the tests:
#   pg-cluster.sh start   DIR PORT  initdb in DIR (first time), start on
#                                   127.0.0.1:PORT with its socket in DIR;
#                                   prints the conninfo
#   pg-cluster.sh stop    DIR PORT  stop it (fast shutdown), data kept
#   pg-cluster.sh destroy DIR PORT  stop it if running and remove DIR
# As root everything runs as the postgres user (PostgreSQL refuses root),
# which then owns DIR.  Exits 77 (meson's "skipped") when no PostgreSQL
# server is installed.
set -eu
cmd=$1 dir=$2 port=$3
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "no PostgreSQL server installed (Debian: postgresql)" >&2
  exit 77
fi
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
start)
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync \
      --no-instructions > "$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=40" start \
    > /dev/null || { tail -20 "$dir/server.log" >&2; exit 1; }
  echo "host=127.0.0.1 port=$port dbname=postgres user=postgres"
  ;;
stop)
  as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop > /dev/null
  ;;
destroy)
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 60 stop > /dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start|stop|destroy DIR PORT" >&2
  exit 2
  ;;
esac
