#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests.
#
#   scripts/pg.sh start DIR   initdb + start a server whose data and Unix socket
#                             live in DIR; prints the connection URL on stdout
#   scripts/pg.sh stop DIR    stops it (fast shutdown) and removes DIR
#   scripts/pg.sh url DIR     prints the URL of a server started in DIR
#
# The server listens on a Unix socket inside DIR only (no TCP port, so helpers
# and CI jobs side by side never collide), trusts local connections (nothing
# outside DIR can reach it) and keeps no data worth keeping: fsync is off.
# PostgreSQL refuses to run as root, and CI runs as root, so under root the
# cluster belongs to the unprivileged `postgres` user (created if missing).
set -euo pipefail

PG_VERSION=${PG_VERSION:-15}

find_bin() {
  local d
  for d in "${PG_BIN:-}" "/usr/lib/postgresql/$PG_VERSION/bin" /usr/lib/postgresql/*/bin; do
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      echo "$d"
      return 0
    fi
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return 0
  fi
  return 1
}

install_pg() {
  # Only where we may: root with apt. Anyone else installs it themselves.
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "pg.sh: PostgreSQL not found (looked in /usr/lib/postgresql/*/bin and PATH); install postgresql-$PG_VERSION" >&2
    return 1
  fi
  echo "pg.sh: PostgreSQL not found, installing it with apt-get" >&2
  apt-get update -qq >&2
  local pkg="postgresql-$PG_VERSION"
  if ! apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [0-9]'; then pkg=postgresql; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >&2
}

# Runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

url_for() {
  # host= as a query parameter is how libpq URLs (and rust-postgres) name a
  # socket directory.
  echo "postgresql://postgres@/postgres?host=$1"
}

start() {
  local dir=$1 bin
  bin=$(find_bin) || { install_pg && bin=$(find_bin); } || return 1
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    chown postgres "$dir"
    # The owner must be able to reach DIR: a mktemp folder under a private
    # parent would not do, so say so instead of failing obscurely.
    runuser -u postgres -- test -w "$dir" || { echo "pg.sh: user postgres cannot write $dir" >&2; return 1; }
  fi
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
    --no-sync >"$dir/initdb.log" 2>&1 \
    || as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-sync \
      >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-c listen_addresses='' -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null \
    || { cat "$dir/server.log" >&2; return 1; }
  echo "$bin" >"$dir/bin"
  url_for "$dir"
}

stop() {
  local dir=$1
  if [ -f "$dir/bin" ] && [ -d "$dir/data" ]; then
    as_owner "$(cat "$dir/bin")/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start "${2:?usage: pg.sh start DIR}" ;;
  stop) stop "${2:?usage: pg.sh stop DIR}" ;;
  url) url_for "${2:?usage: pg.sh url DIR}" ;;
  *) echo "usage: scripts/pg.sh start|stop|url DIR" >&2; exit 2 ;;
esac
