#!/usr/bin/env bash
# Builds the Python package the way a user installs it (`pip install
# ./bindings-python`, a PEP 517 build with maturin) into a virtualenv, then
# runs the pytest suite, stubtest (stubs against the compiled module) and
# `mypy --strict` on the typed example and benchmark. Reuses the virtualenv
# and cargo's target directory between runs, so a warm run takes seconds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
venv="${AVATAR_STORE_PY_VENV:-$root/target/python-venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
  echo "-- creating virtualenv $venv"
  "$python" -m venv "$venv"
fi
py="$venv/bin/python"
# Keep mypy's cache out of the source tree.
export MYPY_CACHE_DIR="$root/target/mypy-cache"
pip=("$py" -m pip --disable-pip-version-check --quiet)

echo "-- installing test tools"
# psycopg: a real PostgreSQL client for the PostgreSQL tests' fixtures and
# checks (tests/pgserver.py), so the store under test is not also the tool
# that builds and inspects its databases.
"${pip[@]}" install "maturin>=1.9,<2" "pytest>=8,<10" "pytest-timeout>=2.3,<3" "mypy>=1.13,<2" "typing_extensions>=4.6" \
  "psycopg[binary]>=3.1,<4"

echo "-- pip install ./bindings-python"
# --force-reinstall: the version does not change between edits, the build does.
# test-hooks adds the functions that panic on purpose for test_errors.py; a
# published wheel leaves them out.
(cd "$root" && MATURIN_PEP517_ARGS="--features test-hooks" "${pip[@]}" install --force-reinstall --no-deps ./bindings-python)

echo "-- pytest"
# Run from the tests folder so `import avatar_store` finds the installed
# package, never the sources under bindings-python/python.
(cd "$here/tests" && "$py" -m pytest -q -p no:cacheprovider --timeout 120 .)

echo "-- stubtest"
(cd "$root/target" && "$py" -m mypy.stubtest avatar_store --allowlist "$here/stubtest-allowlist.txt")

echo "-- mypy --strict (typed example and benchmark)"
(cd "$root" && "$py" -m mypy --strict --no-incremental examples/python benches/python)

echo "-- python package: all checks passed"
