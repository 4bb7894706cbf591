#!/usr/bin/env bash
# Opens mediateur-tui on demo data (created on first run). Extra arguments go to the app.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/bootstrap.sh"
status=0
"$root/.venv/bin/mediateur-tui" --demo "$@" || status=$?
if ! command -v mediateur-tui >/dev/null; then
  echo "Pour taper « mediateur-tui » (et « mediateur-hub ») depuis n'importe quel dossier :" \
    "bash scripts/install-commands.sh" >&2
fi
exit "$status"
