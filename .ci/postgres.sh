#!/usr/bin/env bash
# Start or stop a throwaway local PostgreSQL server for the test suite.
#   .ci/postgres.sh start   -> prints the URL to export as SHOPMIND_TEST_POSTGRES_URL
#   .ci/postgres.sh stop
# Installs the Debian server packages when they are missing (needs root and apt).
set -euo pipefail
PGDIR=${PGDIR:-/tmp/shopmind-pg}
PGPORT=${PGPORT:-54329}
BIN=""

find_bin() {
  local candidate
  for candidate in /usr/lib/postgresql/*/bin; do
    if [ -x "$candidate/pg_ctl" ]; then BIN=$candidate; fi
  done
}

install_server() {
  find_bin
  if [ -z "$BIN" ]; then
    echo "installing PostgreSQL server packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    find_bin
  fi
  [ -n "$BIN" ] || { echo "PostgreSQL server binaries not found" >&2; exit 1; }
}

as_postgres() {
  if [ "$(id -un)" = "postgres" ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

case "${1:-start}" in
  start)
    install_server
    if [ ! -s "$PGDIR/PG_VERSION" ]; then
      mkdir -p "$PGDIR"
      chown postgres:postgres "$PGDIR"
      as_postgres "$BIN/initdb" -D "$PGDIR" -U postgres -A trust -E UTF8 --no-locale >/dev/null
    fi
    for attempt in 1 2 3 4 5; do
      if ! as_postgres "$BIN/pg_ctl" -D "$PGDIR" status >/dev/null 2>&1; then
        rm -f "$PGDIR/postmaster.pid"  # left by a server that was killed, not stopped
        as_postgres "$BIN/pg_ctl" -D "$PGDIR" -w -l "$PGDIR/server.log" \
          -o "-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
          start >/dev/null || true
      fi
      "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" && break
      sleep 3
    done
    as_postgres "$BIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname='shopmind_test'" | grep -q 1 ||
      as_postgres "$BIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres shopmind_test
    echo "postgresql+psycopg://postgres@127.0.0.1:$PGPORT/shopmind_test"
    ;;
  stop)
    find_bin
    if [ -n "$BIN" ] && [ -s "$PGDIR/PG_VERSION" ]; then
      as_postgres "$BIN/pg_ctl" -D "$PGDIR" -m fast stop >/dev/null 2>&1 || true
    fi
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
