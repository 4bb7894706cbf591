"""`mediateur-tui activity export`: the sessions as La Coop de la médiation numérique exports
its activities (XLSX, CSV) and serves them (JSON of its API), docs/coop-activite.md."""

from __future__ import annotations

import argparse
from pathlib import Path

from mediateur_tui.cli.common import EXIT_OK, Commands, open_existing
from mediateur_tui.domain.formatting import plural
from mediateur_tui.domain.french_cli import expanded, say
from mediateur_tui.domain.periods import parse_period


def add_commands(commands: Commands) -> None:
    activity = commands.group(
        "activity", "activité des séances pour La Coop de la médiation numérique"
    )
    export = activity.add(
        "export",
        "exporter les séances (colonnes et libellés de La Coop, pass encaissés en plus)",
        activity_export,
    )
    export.add_argument("file", metavar="FICHIER", help="le fichier à écrire (.xlsx, .csv, .json)")
    export.add_argument("--month", metavar="AAAA-MM", help="les séances de ce mois seulement")
    export.add_argument(
        "--format",
        choices=("xlsx", "csv", "json"),
        help="format du fichier (défaut : son extension)",
    )


def activity_export(args: argparse.Namespace, data_dir: Path) -> int:
    period = parse_period(args.month) if args.month is not None else None
    path = expanded(args.file, "Fichier d'export")
    count = open_existing(data_dir).activity.export(path, period, args.format)
    say(f"Activité exportée : {plural(count, 'séance')} dans {path}.")
    return EXIT_OK
