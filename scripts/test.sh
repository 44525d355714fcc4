#!/usr/bin/env bash
# Runs every test of the repository: Rust (format, lints, unit, integration,
# doc tests, CLI), then the Python and Node packages built and tested the way
# users install them. Installs what it needs (maturin, pytest, napi CLI, ...)
# from the package registries; nothing needs installing by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

# A throwaway PostgreSQL server for the PostgreSQL tests, stopped on every
# exit (success, failure, Ctrl-C). AVATAR_STORE_TEST_PG_URL set by the caller
# means "use my server" and nothing is started (then the TLS tests run only
# if AVATAR_STORE_TEST_PG_TLS_URL is set too: a URL with sslmode=verify-full
# and sslrootcert naming the CA, as `scripts/pg.sh tls-url` prints). Under CI=true a server that
# cannot start fails the run; elsewhere the PostgreSQL tests skip, saying why.
if [ -z "${AVATAR_STORE_TEST_PG_URL:-}" ]; then
  echo "== postgresql: starting a throwaway server"
  PG_DIR=$(mktemp -d /tmp/avatar-store-pg.XXXXXX)
  trap 'scripts/pg.sh stop "$PG_DIR"' EXIT
  trap 'exit 130' INT TERM
  if PG_URL=$(scripts/pg.sh start "$PG_DIR"); then
    export AVATAR_STORE_TEST_PG_URL=$PG_URL
    # The same server over TCP with TLS (its password is the throwaway one).
    AVATAR_STORE_TEST_PG_TLS_URL=$(scripts/pg.sh tls-url "$PG_DIR")
    export AVATAR_STORE_TEST_PG_TLS_URL
    echo "   $PG_URL"
  elif [ "${CI:-}" = true ]; then
    echo "PostgreSQL could not start and CI=true: failing" >&2
    exit 1
  else
    echo "   PostgreSQL could not start: the PostgreSQL tests will skip" >&2
  fi
fi

echo "== rust: format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

echo "== rust: tests"
cargo test --workspace

if [ -x bindings-python/test.sh ]; then
  echo "== python package"
  bindings-python/test.sh
fi

if [ -x bindings-node/test.sh ]; then
  echo "== node package"
  bindings-node/test.sh
fi

echo "== all tests passed"
