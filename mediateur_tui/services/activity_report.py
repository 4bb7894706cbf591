"""A month's activity report (domain/activity_report.py) from the site's database, and its
files: a CSV for a French spreadsheet and an A4 PDF, `activite-<site>-<period>.csv|.pdf`,
written beside the remise files (`remise-<site>-<period>…`) when the month is closed."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from mediateur_tui.domain.activity_report import (
    COLUMNS,
    NOTES,
    ActivityReport,
    Line,
    ReportSession,
    Tally,
    build_report,
    cells,
    hours_text,
    month_days,
)
from mediateur_tui.domain.clock import Clock, system_clock
from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.formatting import (
    format_date,
    format_euros,
    local_date,
    plural,
    redeemed_passes,
    spreadsheet_euros,
    spreadsheet_hours,
    spreadsheet_text,
)
from mediateur_tui.domain.periods import parse_period, period_label
from mediateur_tui.domain.site_identity import SiteIdentity
from mediateur_tui.pdf_fonts import BOLD, REGULAR, sample_styles
from mediateur_tui.protocol.files import private_text_file
from mediateur_tui.services import activity_export
from mediateur_tui.services.pdf import identity_paragraphs, write_a4_pdf
from mediateur_tui.store import queries


@dataclass(frozen=True)
class SiteReport:
    """The report of one site's month, with the site it is of."""

    site_id: str
    site_name: str
    report: ActivityReport
    identity: SiteIdentity | None = None  # as the region gave it (SIRET or RNA, commune)

    @property
    def site_label(self) -> str:
        return f"{self.site_name} ({self.site_id})" if self.site_name else self.site_id

    @property
    def basename(self) -> str:
        return report_basename(self.site_id, self.report.period)


def report_basename(site_id: str, period: str) -> str:
    """`activite-<site>-<period>`, as the remise's `remise-<site>-<period>`."""
    return f"activite-{site_id or 'lieu'}-{period}"


def _site_id(engine: Engine) -> str:
    with Session(engine) as session:
        meta = queries.replica_meta(session)
        return meta.site_id if meta else ""


def current_period(today: date) -> str:
    return f"{today:%Y-%m}"


def site_report(engine: Engine, period: str) -> SiteReport:
    """The report of `period` (YYYY-MM): its sessions by their day, with their active passes."""
    period = parse_period(period)
    place, exported = activity_export.sessions(engine, period)
    site_id = _site_id(engine)
    items = [ReportSession(item.activity, item.pass_count, item.pass_cents) for item in exported]
    return SiteReport(site_id, place.name, build_report(period, items), place.identity)


# --- the CSV ----------------------------------------------------------------------------

CSV_COLUMNS = (
    "Partie",
    "Libellé",
    "Du",
    "Au",
    "Séances",
    "Participants",
    "Durée (h)",
    "Pass encaissés",
    "Montant des pass (€)",
)


def write_csv(site: SiteReport, path: Path) -> Path:
    """`;` separated, UTF-8 with BOM, days JJ/MM/AAAA, hours and € with a decimal comma (as
    the remise's CSV): the month's total, then by type, by thématique, by week, and the notes."""
    report = site.report
    days = month_days(report.period)
    with private_text_file(path, encoding="utf-8-sig") as stream:
        writer = csv.writer(stream, delimiter=";")
        writer.writerow(CSV_COLUMNS)
        writer.writerow(_csv_row("Total du mois", site.site_label, days[0], days[-1], report.total))
        for part, lines in (("Type", report.by_type), ("Thématique", report.by_thematique)):
            for line in lines:
                writer.writerow(_csv_row(part, line.label, None, None, line.tally))
        for week in report.weeks:
            writer.writerow(_csv_row("Semaine", week.label, week.first, week.last, week.tally))
        for note in NOTES:
            writer.writerow([spreadsheet_text(cell) for cell in ("Note", note)])
    return path


def _csv_row(
    part: str, label: str, first: date | None, last: date | None, tally: Tally
) -> list[object]:
    row: list[object] = [
        part,
        label,
        format_date(first) if first else "",
        format_date(last) if last else "",
        tally.sessions,
        tally.participants,
        spreadsheet_hours(tally.minutes),
        tally.passes,
        spreadsheet_euros(tally.cents),
    ]
    return [spreadsheet_text(cell) for cell in row]


# --- the PDF ----------------------------------------------------------------------------


def write_pdf(site: SiteReport, path: Path) -> Path:
    """The report on A4, set in the project's Unicode fonts (pdf_fonts.py)."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer

    styles = sample_styles()
    normal, heading = styles["Normal"], styles["Heading2"]
    report = site.report
    total = report.total
    label = period_label(report.period)
    story: list[Any] = [  # reportlab flowables
        Paragraph(f"Rapport d'activité — {label}", styles["Title"]),
        Paragraph(f"<b>Lieu :</b> {_escape(site.site_label)}", normal),
        *identity_paragraphs(site.identity, normal),
        Paragraph(
            f"<b>{plural(total.sessions, 'séance')}</b>, "
            f"{plural(total.participants, 'participant')}, {hours_text(total.minutes)} de "
            f"médiation, {redeemed_passes(total.passes)} pour {format_euros(total.cents)}.",
            normal,
        ),
        Spacer(1, 4 * mm),
        Paragraph("Par type d'activité", heading),
        _table(("Type", *COLUMNS), report.by_type, total),
        Paragraph("Par thématique", heading),
        _table(("Thématique", *COLUMNS), report.by_thematique, total),
        Paragraph("Par semaine", heading),
        _table(
            ("Semaine", *COLUMNS),
            [Line(week.label, week.tally) for week in report.weeks],
            total,
        ),
        Spacer(1, 4 * mm),
    ]
    story += [Paragraph(_escape(note), normal) for note in NOTES]

    def footer(canvas: Any, doc: Any) -> None:  # reportlab canvas and document
        canvas.saveState()
        canvas.setFont(REGULAR, 7)
        canvas.drawString(
            15 * mm, 10 * mm, f"Rapport d'activité — {site.site_label} — {label} — page {doc.page}"
        )
        canvas.restoreState()

    title = f"Rapport d'activité {site.site_id} {report.period}"
    return write_a4_pdf(path, story, title, site.site_id, footer)


def _table(headings: tuple[str, ...], lines: Any, total: Tally) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    rows = [list(headings)]
    rows += [[line.label, *cells(line.tally)] for line in lines]
    rows.append(["Total (chaque séance une fois)", *cells(total)])
    table = Table(rows, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), REGULAR, 8),
                ("FONT", (0, 0), (-1, 0), BOLD, 8),
                ("FONT", (0, -1), (-1, -1), BOLD, 8),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
            ]
        )
    )
    return table


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- the JSON of `activity report --json` -----------------------------------------------


def json_document(site: SiteReport) -> dict[str, Any]:
    """The report with numbers (minutes, cents) rather than French texts."""
    report = site.report

    def tally(value: Tally) -> dict[str, int]:
        return {
            "sessions": value.sessions,
            "participants": value.participants,
            "minutes": value.minutes,
            "passes": value.passes,
            "value_cents": value.cents,
        }

    return {
        "period": report.period,
        "site_id": site.site_id,
        "site_name": site.site_name,
        "total": tally(report.total),
        "by_type": [{"label": line.label, **tally(line.tally)} for line in report.by_type],
        "by_thematique": [
            {"label": line.label, **tally(line.tally)} for line in report.by_thematique
        ],
        "weeks": [
            {"first": week.first.isoformat(), "last": week.last.isoformat(), **tally(week.tally)}
            for week in report.weeks
        ],
        "sessions_per_day": list(report.per_day),
        "notes": list(NOTES),
    }


class ActivityReports:
    """The activity reports of one site's database."""

    def __init__(self, engine: Engine, clock: Clock = system_clock) -> None:
        self._engine = engine
        self.clock = clock

    def current_period(self) -> str:
        """The current month, in French time."""
        return current_period(local_date(self.clock()))

    def report(self, period: str) -> SiteReport:
        return site_report(self._engine, period)

    def write(
        self, site: SiteReport, pdf: Path | None = None, csv_path: Path | None = None
    ) -> None:
        """Writes the PDF and/or the CSV (0600, whole or not at all)."""
        for path, writer in ((pdf, write_pdf), (csv_path, write_csv)):
            if path is None:
                continue
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                writer(site, path)
            except OSError as error:
                raise UserError(
                    f"Écriture impossible de {path} : {error.strerror or error}."
                ) from error

    def write_beside_remise(self, period: str, directory: Path) -> tuple[Path, Path]:
        """The PDF and the CSV of `period` in `directory`, named as the remise files."""
        site = self.report(period)
        base = directory / site.basename
        pdf, csv_path = base.with_suffix(".pdf"), base.with_suffix(".csv")
        self.write(site, pdf, csv_path)
        return pdf, csv_path

    def beside_remise(self, period: str, directory: Path) -> Path:
        """Where `write_beside_remise` writes the PDF of `period` (without making the report)."""
        return (directory / report_basename(_site_id(self._engine), period)).with_suffix(".pdf")
