#!/usr/bin/env bash
# Opens mediateur-tui on demo data (created on first run). Extra arguments go to the app.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/bootstrap.sh"
exec "$root/.venv/bin/mediateur-tui" --demo "$@"
