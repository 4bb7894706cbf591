"""`mediateur-tui activity export`: the sessions as La Coop de la médiation numérique exports
its activities (XLSX, CSV) and serves them (JSON of its API), docs/coop-activite.md; and
`mediateur-tui activity report`: a month's activity report (services/activity_report.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mediateur_tui.cli.common import EXIT_OK, Commands, open_existing
from mediateur_tui.domain.activity_report import COLUMNS, NOTES, Line, cells
from mediateur_tui.domain.formatting import plural
from mediateur_tui.domain.french_cli import expanded, say
from mediateur_tui.domain.periods import parse_period, period_label

if TYPE_CHECKING:  # the parser is built without any service (tests/cli/test_imports.py)
    from mediateur_tui.services.activity_report import SiteReport


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
    report = activity.add(
        "report",
        "rapport d'activité d'un mois : séances par type, par thématique, par semaine, pass",
        activity_report,
    )
    report.add_argument("--month", metavar="AAAA-MM", help="le mois (défaut : le mois en cours)")
    report.add_argument("--pdf", metavar="FICHIER", help="écrire aussi le rapport en PDF")
    report.add_argument("--csv", metavar="FICHIER", help="écrire aussi le rapport en CSV")
    report.add_argument(
        "--json",
        action="store_true",
        help="afficher le rapport en JSON (nombres, minutes, centimes)",
    )


def activity_export(args: argparse.Namespace, data_dir: Path) -> int:
    period = parse_period(args.month) if args.month is not None else None
    path = expanded(args.file, "Fichier d'export")
    count = open_existing(data_dir).activity.export(path, period, args.format)
    say(f"Activité exportée : {plural(count, 'séance')} dans {path}.")
    return EXIT_OK


def activity_report(args: argparse.Namespace, data_dir: Path) -> int:
    from mediateur_tui.services.activity_report import json_document

    period = parse_period(args.month) if args.month is not None else None
    pdf = expanded(args.pdf, "Fichier PDF") if args.pdf is not None else None
    csv_path = expanded(args.csv, "Fichier CSV") if args.csv is not None else None
    reports = open_existing(data_dir).activity_report
    site = reports.report(period or reports.current_period())
    reports.write(site, pdf, csv_path)
    if args.json:
        json.dump(json_document(site), sys.stdout, ensure_ascii=False, indent=2)
        say()
    else:
        for line in report_text(site):
            say(line)
    for path in (pdf, csv_path):
        if path is not None:
            say(f"Rapport écrit dans {path}.")
    return EXIT_OK


def report_text(site: SiteReport) -> list[str]:
    """The report as lines of text, its tables in columns."""
    report = site.report
    lines = [f"Rapport d'activité — {period_label(report.period)}", f"Lieu : {site.site_label}", ""]
    tables = (
        ("Par type", report.by_type),
        ("Par thématique", report.by_thematique),
        ("Par semaine", [Line(week.label, week.tally) for week in report.weeks]),
    )
    for title, rows in tables:
        lines += _table(title, rows)
        lines.append(_row("Total (séances une fois)", cells(report.total)))
        lines.append("")
    return lines + [f"Note : {note}" for note in NOTES]


def _table(title: str, rows: list[Line] | tuple[Line, ...]) -> list[str]:
    return [_row(title, COLUMNS)] + [_row(row.label, cells(row.tally)) for row in rows]


_LABEL_WIDTH = 30  # with the five numbers, 80 columns


def _row(label: str, values: tuple[str, ...]) -> str:
    widths = (8, 12, 8, 5, 12)
    numbers = " ".join(value.rjust(width) for value, width in zip(values, widths, strict=True))
    shown = label if len(label) <= _LABEL_WIDTH else label[: _LABEL_WIDTH - 1] + "…"
    return f"{shown:<{_LABEL_WIDTH}} {numbers}"
