#!/usr/bin/env bash
# Builds the Node package the way a user's `npm install` does and runs its
# tests: the package's own (__test__), the HTTP example's, and the TypeScript
# example through `tsc --strict`. Installs its tools from npm (package-lock.json).
set -euo pipefail
cd "$(dirname "$0")"

echo "-- npm ci"
npm ci --ignore-scripts --no-audit --no-fund

# The HTTP example depends on this package by path (a symlink, no download).
(cd ../examples/node-http && npm ci --ignore-scripts --no-audit --no-fund)

echo "-- napi build --release --features test-hooks"
# test-hooks adds the functions that panic on purpose for errors.test.cjs;
# a published build (`npm run build`) leaves them out.
npm run build -- --features test-hooks

# The generated loader and declarations are committed; a build that changes
# them means they were not regenerated after a change to the Rust sources.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 && git ls-files --error-unmatch binding.d.ts >/dev/null 2>&1; then
  git diff --exit-code -- binding.js binding.d.ts
fi

echo "-- tsc --strict --noEmit"
npx tsc -p __test__/typescript

echo "-- node --test"
node --test __test__/*.test.cjs __test__/*.test.mjs ../examples/node-http/*.test.mjs
