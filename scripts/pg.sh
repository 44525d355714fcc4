#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests.
#
#   scripts/pg.sh start DIR    initdb + start a server whose data and Unix socket
#                              live in DIR; prints the Unix-socket URL on stdout
#   scripts/pg.sh stop DIR     stops it (fast shutdown) and removes DIR
#   scripts/pg.sh url DIR      prints the Unix-socket URL of a server started in DIR
#   scripts/pg.sh tls-url DIR  prints its TCP URL: TLS, password, and
#                              sslmode=verify-full against the script's own CA
#   scripts/pg.sh down DIR     stops the server, keeping DIR (for restart tests)
#   scripts/pg.sh up DIR       starts it again after `down`, same socket and port
#   scripts/pg.sh restart DIR  pg_ctl restart -m fast
#
# The Unix socket inside DIR trusts local connections (nothing outside DIR can
# reach it). The server also listens on a free 127.0.0.1 port, for the TLS
# tests: there only TLS connections are accepted (pg_hba `hostssl` lines, so
# sslmode=disable is refused), with a password made at start and kept in DIR,
# and a certificate for `localhost` and 127.0.0.1 signed by a throwaway CA
# made here with the openssl CLI (DIR/tls/ca.crt; its key is deleted once the
# server certificate is signed). No data worth keeping: fsync is off.
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
  # socket directory; the port names the socket file (.s.PGSQL.PORT).
  echo "postgresql://postgres@/postgres?host=$1&port=$(cat "$1/port")"
}

tls_url_for() {
  echo "postgresql://postgres:$(cat "$1/password")@localhost:$(cat "$1/port")/postgres?sslmode=verify-full&sslrootcert=$1/tls/ca.crt"
}

# A throwaway CA and a server certificate it signs, for localhost and 127.0.0.1.
make_certs() {
  local tls=$1/tls
  if ! command -v openssl >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "pg.sh: openssl not found, installing it with apt-get" >&2
      apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >&2
    else
      echo "pg.sh: the openssl command is needed for the TLS certificates; install openssl" >&2
      return 1
    fi
  fi
  mkdir -p "$tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 \
    -subj "/CN=avatar-store test CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$tls/ca.key" -out "$tls/ca.crt" >/dev/null 2>&1
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=localhost" -keyout "$tls/server.key" -out "$tls/server.csr" >/dev/null 2>&1
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$tls/server.ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
    -days 7 -extfile "$tls/server.ext" -out "$tls/server.crt" >/dev/null 2>&1
  rm -f "$tls/ca.key" "$tls/server.csr" "$tls/server.ext" "$tls/ca.srl"
  chmod 600 "$tls/server.key"
  [ -s "$tls/server.crt" ] || { echo "pg.sh: could not make the TLS certificates" >&2; return 1; }
}

# A port nothing on 127.0.0.1 answers on now (the server may still lose a race
# for it: start tries again with another).
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

server_up() {
  local dir=$1
  as_owner "$(cat "$dir/bin")/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null
}

start() {
  local dir=$1 bin port
  bin=$(find_bin) || { install_pg && bin=$(find_bin); } || return 1
  mkdir -p "$dir"
  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/password"
  chmod 600 "$dir/password"
  make_certs "$dir" || return 1
  if [ "$(id -u)" = 0 ]; then
    id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    chown -R postgres "$dir"
    # The owner must be able to reach DIR: a mktemp folder under a private
    # parent would not do, so say so instead of failing obscurely.
    runuser -u postgres -- test -w "$dir" || { echo "pg.sh: user postgres cannot write $dir" >&2; return 1; }
  fi
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/password" --auth=trust --encoding=UTF8 \
    --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
    || as_owner "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/password" --auth=trust --encoding=UTF8 \
      --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  # Settings live in the cluster's own files, so that `up` and `restart`
  # bring back the same server.
  cat >"$dir/data/pg_hba.conf" <<'HBA'
local   all  all                 trust
hostssl all  all  127.0.0.1/32   scram-sha-256
HBA
  echo "$bin" >"$dir/bin"
  for _ in 1 2 3 4 5; do
    port=$(free_port) || { echo "pg.sh: no free TCP port on 127.0.0.1" >&2; return 1; }
    echo "$port" >"$dir/port"
    cat >"$dir/data/postgresql.auto.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
ssl = on
ssl_cert_file = '$dir/tls/server.crt'
ssl_key_file = '$dir/tls/server.key'
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
CONF
    [ "$(id -u)" = 0 ] && chown postgres "$dir/port" "$dir/data/postgresql.auto.conf" "$dir/data/pg_hba.conf"
    if server_up "$dir"; then
      url_for "$dir"
      return 0
    fi
    # Another process took the port meanwhile: try another one.
    grep -q "could not bind\|could not create any TCP/IP sockets" "$dir/server.log" 2>/dev/null || break
  done
  cat "$dir/server.log" >&2
  return 1
}

down() {
  local dir=$1
  as_owner "$(cat "$dir/bin")/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null
}

restart() {
  local dir=$1
  as_owner "$(cat "$dir/bin")/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 30 restart >/dev/null
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
  tls-url) tls_url_for "${2:?usage: pg.sh tls-url DIR}" ;;
  down) down "${2:?usage: pg.sh down DIR}" ;;
  up) server_up "${2:?usage: pg.sh up DIR}" ;;
  restart) restart "${2:?usage: pg.sh restart DIR}" ;;
  *) echo "usage: scripts/pg.sh start|stop|url|tls-url|down|up|restart DIR" >&2; exit 2 ;;
esac
