#!/usr/bin/env bash
# Runs lint, the layer contracts (import-linter), the types (mypy) and the whole test suite,
# the wheel's smoke test included (tests/test_wheel.py).
# Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NEED_POSTGRESQL=1 bash "$root/scripts/bootstrap.sh"
cd "$root"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports --no-cache
.venv/bin/mypy
exec .venv/bin/pytest -n 2 -q "$@"
