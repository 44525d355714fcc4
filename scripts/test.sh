#!/usr/bin/env bash
# Runs every test of the repository: Rust (format, lints, unit, integration,
# doc tests, CLI), then the Python and Node packages built and tested the way
# users install them. Installs what it needs (maturin, pytest, napi CLI, ...)
# from the package registries; nothing needs installing by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

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
