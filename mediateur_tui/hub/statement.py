"""A site's monthly statement (relevé): every line of its batches for a period, with verdicts,
and beside the payments the activity of the sessions they belong to (hub.statement_activity).

The period is the batch's `period` (the month the site remitted). Each redemption id counts
once: a line replaying an id already received in an earlier batch is listed but not counted
again. Three files: the lines' CSV and the activity's CSV (`;`, UTF-8 with BOM, for a
spreadsheet) and a PDF slip with both.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from sqlmodel import col, select

from mediateur_tui.domain.activity_report import hours_text
from mediateur_tui.domain.clock import system_clock
from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.formatting import (
    capitalised,
    format_date,
    format_datetime,
    format_euros,
    format_time,
    local_date,
    plural,
    spreadsheet_euros,
    spreadsheet_hours,
)
from mediateur_tui.domain.periods import period_label, read_period
from mediateur_tui.domain.site_identity import SiteIdentity
from mediateur_tui.hub.database import Hub, read_session
from mediateur_tui.hub.errors import NotFound
from mediateur_tui.hub.models import HubBatch, HubBatchSession, HubLine, HubSite
from mediateur_tui.hub.statement_activity import (
    NOT_SENT,
    PaidLine,
    SiteActivity,
    site_activity,
)
from mediateur_tui.pdf_fonts import BOLD, REGULAR, sample_styles
from mediateur_tui.protocol.files import private_text_file, write_file
from mediateur_tui.protocol.verdicts import LineVerdict, refusal_label

CSV_HEADER = (
    "Remise",
    "Ligne",
    "Identifiant",
    "Code",
    "Date",
    "Heure",
    "Montant accepté (€)",
    "Verdict",
    "Motif",
)
ACTIVITY_CSV_HEADER = (
    "Thématique",
    "Séances",
    "Heures",
    "Participants",
    "Pass acceptés",
    "Montant accepté (€)",
)


@dataclass(frozen=True)
class StatementLine:
    batch_id: str
    sequence: int
    line: HubLine

    @property
    def counted(self) -> bool:
        """Accepted, and the first time this redemption id reached the hub."""
        return self.line.verdict == LineVerdict.ACCEPTED and self.line.replay_of_batch_id is None

    @property
    def counted_cents(self) -> int:
        """What the region pays for this line: nothing for a refused or replayed one."""
        return self.line.value_cents if self.counted else 0

    @property
    def verdict_text(self) -> str:
        if self.line.replay_of_batch_id is not None:
            return "déjà remis"
        return "accepté" if self.line.verdict == LineVerdict.ACCEPTED else "refusé"

    @property
    def reason_text(self) -> str:
        line = self.line
        parts = []
        if line.reason is not None:
            text = capitalised(refusal_label(line.reason))
            if line.winner_site_id and line.winner_redeemed_at:
                when = format_datetime(line.winner_redeemed_at)
                text += f" (premier reçu : {line.winner_site_id}, le {when})"
            parts.append(text)
        if line.replay_of_batch_id is not None:
            parts.append(
                f"Encaissement déjà reçu dans la remise {line.replay_of_batch_id} : "
                "compté une seule fois"
            )
        return " ; ".join(parts)


@dataclass(frozen=True)
class Statement:
    region_id: str
    site_id: str
    site_name: str
    month: str
    lines: list[StatementLine]
    activity: SiteActivity
    site_identity: SiteIdentity | None = None

    @property
    def period_text(self) -> str:
        return period_label(self.month)

    @property
    def accepted(self) -> list[StatementLine]:
        return [line for line in self.lines if line.counted]

    @property
    def refused(self) -> list[StatementLine]:
        return [line for line in self.lines if line.line.verdict != LineVerdict.ACCEPTED]

    @property
    def accepted_cents(self) -> int:
        return sum(line.line.value_cents for line in self.accepted)

    @property
    def batch_ids(self) -> list[str]:
        return list(dict.fromkeys(line.batch_id for line in self.lines))


def build_statement(hub: Hub, site_id: str, month: str) -> Statement:
    month = read_period(month)
    with read_session(hub.engine) as session:
        site = session.get(HubSite, site_id)
        if site is None:
            raise NotFound(f"Site inconnu : {site_id}.")
        rows = session.exec(
            select(HubBatch.batch_id, HubBatch.sequence, HubLine)
            .join(HubLine, col(HubLine.batch_id) == HubBatch.batch_id)
            .where(HubBatch.site_id == site_id, HubBatch.period == month)
            .order_by(col(HubBatch.received_at), col(HubBatch.batch_id), col(HubLine.line_index))
        ).all()
        sessions = session.exec(
            select(HubBatchSession)
            .join(HubBatch, col(HubBatch.batch_id) == HubBatchSession.batch_id)
            .where(HubBatch.site_id == site_id, HubBatch.period == month)
            .order_by(col(HubBatchSession.batch_id), col(HubBatchSession.session_id))
        ).all()
        counted_before = set(
            session.exec(
                select(HubBatchSession.session_id)
                .join(HubBatch, col(HubBatch.batch_id) == HubBatchSession.batch_id)
                .where(HubBatch.site_id == site_id, col(HubBatch.period) < month)
            ).all()
        )
    lines = [StatementLine(batch_id, sequence, line) for batch_id, sequence, line in rows]
    paid = [
        PaidLine(item.batch_id, item.line.session_id, item.counted_cents)
        for item in lines
        if item.counted
    ]
    activity = site_activity(sessions, paid, counted_before)
    return Statement(hub.region_id, site.id, site.name, month, lines, activity, site.identity())


def write_files(statement: Statement, out_dir: Path) -> tuple[Path, Path, Path]:
    """Writes releve-<site>-<month>.csv, releve-activite-<site>-<month>.csv and
    releve-<site>-<month>.pdf into `out_dir`; returns the three paths, in that order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"releve-{statement.site_id}-{statement.month}"
    csv_path, pdf_path = stem.with_suffix(".csv"), stem.with_suffix(".pdf")
    activity_path = out_dir / f"releve-activite-{statement.site_id}-{statement.month}.csv"
    write_csv(statement, csv_path)
    write_activity_csv(statement, activity_path)
    write_pdf(statement, pdf_path)
    return csv_path, activity_path, pdf_path


def write_activity_csv(statement: Statement, path: Path) -> None:
    """The total first, then one row per thématique; one row « activité non transmise » when
    the site's batches carried no activity."""
    activity = statement.activity
    with private_text_file(path, encoding="utf-8-sig") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(ACTIVITY_CSV_HEADER)
        if not activity.sent:
            writer.writerow((NOT_SENT, "", "", "", "", ""))
            return
        for row in (activity.total, *activity.by_theme):
            writer.writerow(
                (
                    row.label,
                    row.sessions,
                    spreadsheet_hours(row.minutes),
                    row.participants,
                    row.passes,
                    spreadsheet_euros(row.cents),
                )
            )
        if activity.without_activity:
            writer.writerow(
                ("Séances sans activité transmise", activity.without_activity, "", "", "", "")
            )


def write_csv(statement: Statement, path: Path) -> None:
    """Dates JJ/MM/AAAA and amounts as numbers with a decimal comma, for a spreadsheet: the
    amount column sums to the accepted total (0 on a refused or replayed line)."""
    with private_text_file(path, encoding="utf-8-sig") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(CSV_HEADER)
        for item in statement.lines:
            line = item.line
            writer.writerow(
                (
                    item.batch_id,
                    line.line_index + 1,
                    line.redemption_id,
                    format_code(line.code) if len(line.code) == 13 else line.code,
                    format_date(local_date(line.redeemed_at)),
                    format_time(line.redeemed_at),
                    spreadsheet_euros(item.counted_cents),
                    item.verdict_text,
                    item.reason_text,
                )
            )
        writer.writerow(
            (
                "",
                "",
                "",
                "",
                "",
                f"Total accepté ({plural(len(statement.accepted), 'pass', 'pass')})",
                spreadsheet_euros(statement.accepted_cents),
                "",
                "",
            )
        )


def write_pdf(statement: Statement, path: Path, generated_at: datetime | None = None) -> None:
    styles = sample_styles()
    story = [
        Paragraph(f"Relevé des pass numériques — région {statement.region_id}", styles["Title"]),
        Paragraph(f"Site : {statement.site_name} ({statement.site_id})", styles["Normal"]),
        *_identity_paragraphs(statement.site_identity, styles["Normal"]),
        Paragraph(f"Période : {statement.period_text}", styles["Normal"]),
        Paragraph(f"Édité le {format_datetime(generated_at or system_clock())}", styles["Normal"]),
        Paragraph(
            "Remises : " + (", ".join(statement.batch_ids) or "aucune remise reçue"),
            styles["Normal"],
        ),
        Spacer(1, 6 * mm),
        _summary_table(statement),
        Spacer(1, 6 * mm),
        Paragraph("Activité (La Coop de la médiation numérique)", styles["Heading2"]),
        *_activity_story(statement.activity),
        Spacer(1, 6 * mm),
    ]
    if statement.refused:
        story += [
            Paragraph("Lignes refusées et motifs", styles["Heading2"]),
            _lines_table(statement.refused, with_reason=True),
            Spacer(1, 6 * mm),
        ]
    if statement.lines:
        story += [
            Paragraph("Toutes les lignes", styles["Heading2"]),
            _lines_table(statement.lines, with_reason=False),
        ]
    content = io.BytesIO()
    document = SimpleDocTemplate(
        content,
        pagesize=A4,
        initialFontName=REGULAR,
        title=f"Relevé {statement.site_id} {statement.month}",
        author=f"Région {statement.region_id}",
        leftMargin=15 * mm,
        rightMargin=15 * mm,
    )
    document.build(story)
    write_file(path, content.getvalue())


def _identity_paragraphs(identity: SiteIdentity | None, style: ParagraphStyle) -> list[Paragraph]:
    return [Paragraph(identity.printed(), style)] if identity else []


def _summary_table(statement: Statement) -> Table:
    rows = [
        ("Lignes reçues", str(len(statement.lines))),
        ("Pass acceptés", str(len(statement.accepted))),
        ("Lignes refusées", str(len(statement.refused))),
        ("Total accepté", format_euros(statement.accepted_cents)),
    ]
    table = Table(rows, colWidths=(60 * mm, 50 * mm))
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("FONTNAME", (0, 0), (-1, -1), REGULAR),
                ("FONTNAME", (0, -1), (-1, -1), BOLD),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
            ]
        )
    )
    return table


def _activity_story(activity: SiteActivity) -> list[Flowable]:
    styles = sample_styles()
    if not activity.sent:
        return [Paragraph(f"Activité : {NOT_SENT}.", styles["Normal"])]
    header: list[object] = ["Thématique", "Séances", "Heures", "Participants", "Pass", "Montant"]
    rows: list[list[object]] = [header]
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    for row in (activity.total, *activity.by_theme):
        rows.append(
            [
                Paragraph(row.label, small),
                str(row.sessions),
                hours_text(row.minutes),
                str(row.participants),
                str(row.passes),
                format_euros(row.cents),
            ]
        )
    table = Table(rows, colWidths=(62 * mm, 18 * mm, 22 * mm, 24 * mm, 16 * mm, 28 * mm))
    table.setStyle(
        TableStyle(
            [
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("FONTNAME", (0, 0), (-1, -1), REGULAR),
                ("FONTNAME", (0, 0), (-1, 1), BOLD),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
            ]
        )
    )
    story: list[Flowable] = [table]
    notes = [
        "Une séance à plusieurs thématiques compte dans chacune : les lignes par thématique "
        "ne s'additionnent pas. Pass et montants : les lignes acceptées de ces séances."
    ]
    if activity.without_activity:
        notes.append(
            plural(activity.without_activity, "séance", "séances")
            + " de ce mois sans activité transmise."
        )
    story += [Paragraph(note, small) for note in notes]
    return story


def _lines_table(lines: list[StatementLine], with_reason: bool) -> Table:
    styles = sample_styles()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    header: list[object] = ["Ligne", "Code", "Encaissé le", "Valeur", "Verdict"]
    widths = [14 * mm, 38 * mm, 30 * mm, 20 * mm, 20 * mm]
    if with_reason:
        header.append("Motif")
        widths.append(58 * mm)
    rows: list[list[object]] = [header]
    for item in lines:
        line = item.line
        row: list[object] = [
            str(line.line_index + 1),
            format_code(line.code) if len(line.code) == 13 else line.code,
            format_datetime(line.redeemed_at),
            format_euros(line.value_cents),
            item.verdict_text,
        ]
        if with_reason:
            row.append(Paragraph(item.reason_text, small))
        rows.append(row)
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("FONTNAME", (0, 0), (-1, -1), REGULAR),
                ("FONTNAME", (0, 0), (-1, 0), BOLD),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (3, 1), (3, -1), "RIGHT"),
            ]
        )
    )
    return table
