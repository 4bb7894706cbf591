"""`mediateur-tui history export`: the site's history as a CSV for a spreadsheet, the file
the history screen writes with Ctrl+E."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from mediateur_tui.cli.common import EXIT_OK, CliError, Commands, open_existing
from mediateur_tui.domain.formatting import parse_day, plural
from mediateur_tui.domain.french_cli import expanded, say
from mediateur_tui.domain.text import inert

DAY_SHAPES = "JJ/MM/AAAA ou AAAA-MM-JJ"


def add_commands(commands: Commands) -> None:
    history = commands.group("history", "historique des encaissements et des lectures refusées")
    export = history.add(
        "export", "écrire l'historique dans un fichier CSV pour un tableur", history_export
    )
    export.add_argument("file", metavar="FICHIER", help="le fichier CSV à écrire")
    export.add_argument(
        "--from", dest="since", metavar="DATE", help=f"premier jour inclus ({DAY_SHAPES})"
    )
    export.add_argument(
        "--to", dest="until", metavar="DATE", help=f"dernier jour inclus ({DAY_SHAPES})"
    )


def history_export(args: argparse.Namespace, data_dir: Path) -> int:
    since = _day(args.since, "--from")
    until = _day(args.until, "--to")
    path = expanded(args.file, "Fichier d'export")
    count = open_existing(data_dir).history.export_period(path, since, until)
    say(f"Historique exporté : {plural(count, 'ligne')} dans {path}.")
    return EXIT_OK


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return parse_day(text)
    except ValueError:
        raise CliError(
            f"Date illisible pour {option} : « {inert(text)} » (attendu {DAY_SHAPES})."
        ) from None
