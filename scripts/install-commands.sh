#!/usr/bin/env bash
# Puts mediateur-tui and mediateur-hub on the PATH: links this checkout's .venv/bin programs into
# ~/.local/bin (prepares .venv first). Safe to run again: it replaces links, never a file.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="$HOME/.local/bin"
bash "$root/scripts/bootstrap.sh"
mkdir -p "$bin_dir"
for program in mediateur-tui mediateur-hub; do
  target="$root/.venv/bin/$program"
  link="$bin_dir/$program"
  if [ -e "$link" ] && [ ! -L "$link" ]; then
    echo "$link existe déjà et n'est pas un lien : il est laissé tel quel (supprimez-le, puis relancez)." >&2
    exit 1
  fi
  ln -sfn "$target" "$link"
  echo "$program : $link → $target"
done
case ":$PATH:" in
  *":$bin_dir:"*)
    echo "C'est prêt : $bin_dir est dans le PATH, tapez « mediateur-tui --demo »." ;;
  *)
    echo "$bin_dir n'est pas encore dans le PATH : il y sera à la prochaine connexion" \
      "(Debian l'y ajoute quand le dossier existe) ; d'ici là, tapez" \
      "« export PATH=\"$bin_dir:\$PATH\" » dans ce terminal." ;;
esac
