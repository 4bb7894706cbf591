#!/usr/bin/env bash
# Prepares .venv with everything mediateur-tui needs; sourced by scripts/demo.sh and scripts/test.sh.
# Safe to run again: it reinstalls only when requirements.lock or pyproject.toml changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"

# shellcheck source=scripts/apt-install.sh
source "$root/scripts/apt-install.sh"

# ctypes finds the library the way pyzbar will (ldconfig is not on a normal user's PATH).
if [ "$("$python" -c 'import ctypes.util; print(ctypes.util.find_library("zbar") or "")')" = "" ]; then
  echo "Installation de libzbar0 (lecture des QR codes)…" >&2
  as_root_apt_install libzbar0
fi

# The hub's reconciliation tests also run against a throwaway PostgreSQL cluster.
if [ "${NEED_POSTGRESQL:-0}" = "1" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "Installation de PostgreSQL (tests du serveur régional)…" >&2
  as_root_apt_install postgresql
fi

if [ ! -x "$venv/bin/python" ]; then
  if ! "$python" -m venv "$venv" 2>/dev/null; then
    rm -rf "$venv"
    echo "Installation de python3-venv…" >&2
    as_root_apt_install python3-venv
    "$python" -m venv "$venv"
  fi
fi

stamp="$venv/.installed"
wanted="$(cat "$root/requirements.lock" "$root/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "Installation des dépendances Python dans .venv…" >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$root/requirements.lock"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e "$root"
  echo "$wanted" > "$stamp"
fi
