"""History of redemptions (active and cancelled) and refused scans, with filters and CSV export."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from sqlalchemy import ColumnElement, Engine
from sqlmodel import Session, col, select

from mediateur_tui.domain.clock import Clock, system_clock
from mediateur_tui.domain.codes import format_code, normalise
from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.formatting import (
    LOCAL_TZ,
    format_date,
    format_datetime,
    format_time,
    local_date,
    spreadsheet_euros,
    spreadsheet_text,
)
from mediateur_tui.protocol.files import private_text_file
from mediateur_tui.services.dashboard import local_midnight
from mediateur_tui.store.models import (
    Cancellation,
    DeskSession,
    Operator,
    Redemption,
    RefusedScan,
    stored_id,
)

HISTORY_LIMIT = 2_000


class Status(StrEnum):
    REDEEMED = "encaisse"
    CANCELLED = "annule"
    REFUSED = "refuse"

    @property
    def label(self) -> str:
        return {"encaisse": "Encaissé", "annule": "Annulé", "refuse": "Refusé"}[self.value]


@dataclass(frozen=True)
class HistoryFilter:
    text: str = ""  # part of a code, any spelling
    since: date | None = None
    until: date | None = None  # inclusive
    session_id: int | None = None
    status: Status | None = None


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    status: Status
    code: str  # formatted, or the raw input for an unreadable scan
    value_cents: int
    session_title: str
    operator_name: str
    detail: str  # cancellation reason or refusal message

    @property
    def due_cents(self) -> int:
        """What the region owes for this line: nothing for a cancelled or refused one."""
        return self.value_cents if self.status is Status.REDEEMED else 0


def search(
    engine: Engine, wanted: HistoryFilter, limit: int | None = HISTORY_LIMIT
) -> list[HistoryRow]:
    """Newest first, at most `limit` rows (all of them when `limit` is None)."""
    rows: list[HistoryRow] = []
    with Session(engine) as session:
        if wanted.status in (None, Status.REDEEMED, Status.CANCELLED):
            rows += _redemptions(session, wanted, limit)
        if wanted.status in (None, Status.REFUSED):
            rows += _refusals(session, wanted, limit)
    rows.sort(key=lambda row: row.at, reverse=True)
    return rows[:limit]


def _time_window(column: datetime, wanted: HistoryFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    at = col(column)
    if wanted.since:
        conditions.append(at >= local_midnight(wanted.since))
    if wanted.until:
        conditions.append(at < local_midnight(wanted.until + timedelta(days=1)))
    return conditions


def _redemptions(session: Session, wanted: HistoryFilter, limit: int | None) -> list[HistoryRow]:
    query = (
        select(Redemption, DeskSession.title, Operator.name, Cancellation.reason)
        .join(DeskSession, col(DeskSession.id) == col(Redemption.session_id))
        .join(Operator, col(Operator.id) == col(Redemption.operator_id))
        .outerjoin(Cancellation, col(Cancellation.redemption_id) == col(Redemption.id))
        .where(*_time_window(Redemption.redeemed_at, wanted))
    )
    if wanted.text:
        query = query.where(col(Redemption.code).contains(normalise(wanted.text)))
    if wanted.session_id is not None:
        query = query.where(Redemption.session_id == wanted.session_id)
    if wanted.status is Status.REDEEMED:
        query = query.where(col(Redemption.cancelled_at).is_(None))
    elif wanted.status is Status.CANCELLED:
        query = query.where(col(Redemption.cancelled_at).is_not(None))
    query = query.order_by(col(Redemption.redeemed_at).desc()).limit(limit)
    return [
        HistoryRow(
            at=redemption.redeemed_at,
            status=Status.CANCELLED if redemption.cancelled_at else Status.REDEEMED,
            code=format_code(redemption.code),
            value_cents=redemption.value_cents,
            session_title=title,
            operator_name=operator_name,
            detail=f"Annulé : {reason}" if reason else "",
        )
        for redemption, title, operator_name, reason in session.exec(query)
    ]


def _refusals(session: Session, wanted: HistoryFilter, limit: int | None) -> list[HistoryRow]:
    query = (
        select(RefusedScan, DeskSession.title, Operator.name)
        .outerjoin(DeskSession, col(DeskSession.id) == col(RefusedScan.session_id))
        .outerjoin(Operator, col(Operator.id) == col(RefusedScan.operator_id))
        .where(*_time_window(RefusedScan.at, wanted))
    )
    if wanted.text:
        needle = normalise(wanted.text)
        query = query.where(
            col(RefusedScan.code).contains(needle)
            | col(RefusedScan.raw_input).contains(wanted.text)
        )
    if wanted.session_id is not None:
        query = query.where(RefusedScan.session_id == wanted.session_id)
    query = query.order_by(col(RefusedScan.at).desc()).limit(limit)
    return [
        HistoryRow(
            at=refusal.at,
            status=Status.REFUSED,
            code=format_code(refusal.code) if refusal.code else refusal.raw_input[:40],
            value_cents=0,
            session_title=title or "",
            operator_name=operator_name or "",
            detail=refusal.message,
        )
        for refusal, title, operator_name in session.exec(query)
    ]


def sessions(engine: Engine) -> list[tuple[int, str]]:
    """(id, 'title — date') of every session, newest first, for the session filter."""
    with Session(engine) as session:
        rows = session.exec(select(DeskSession).order_by(col(DeskSession.started_at).desc())).all()
        return [
            (stored_id(row.id), f"{row.title} — {format_datetime(row.started_at)}") for row in rows
        ]


CSV_COLUMNS = (
    "Date",
    "Heure",
    "Statut",
    "Code",
    "Montant (€)",
    "Séance",
    "Opérateur",
    "Détail",
)


def export_csv(rows: list[HistoryRow], path: Path) -> Path:
    """Writes rows for French spreadsheets: `;` separated, UTF-8 with BOM, dates JJ/MM/AAAA,
    amounts as numbers with a decimal comma (0 on a cancelled or refused line)."""
    try:
        _write_csv(rows, path)
    except OSError as error:
        raise UserError(f"Export impossible vers {path} : {error.strerror or error}.") from error
    return path


def _write_csv(rows: list[HistoryRow], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with private_text_file(path, encoding="utf-8-sig") as stream:
        writer = csv.writer(stream, delimiter=";")
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            writer.writerow(
                [
                    format_date(local_date(row.at)),
                    format_time(row.at),
                    row.status.label,
                    row.code,
                    spreadsheet_euros(row.due_cents),
                    spreadsheet_text(row.session_title),
                    spreadsheet_text(row.operator_name),
                    spreadsheet_text(row.detail),
                ]
            )


EXPORTS_FOLDER = "exports"


class History:
    """The history of one site's database; its exports go to the data directory."""

    def __init__(self, engine: Engine, data_dir: Path, clock: Clock = system_clock) -> None:
        self._engine = engine
        self.data_dir = data_dir
        self.clock = clock

    def export(self, rows: list[HistoryRow]) -> Path:
        """Writes `rows` to `exports/historique-<date>-<heure>.csv` of the data directory."""
        stamp = self.clock().astimezone(LOCAL_TZ)
        name = f"historique-{stamp:%Y%m%d-%H%M%S}.csv"
        return export_csv(rows, self.data_dir / EXPORTS_FOLDER / name)

    def export_period(self, path: Path, since: date | None, until: date | None) -> int:
        """Writes every line from `since` to `until` (inclusive; None: no bound) to `path`,
        the CSV of `export`; the number of lines written."""
        if since and until and since > until:
            raise UserError(
                f"Période vide : le {format_date(since)} est après le {format_date(until)}."
            )
        rows = search(self._engine, HistoryFilter(since=since, until=until), limit=None)
        export_csv(rows, path)
        return len(rows)

    def search(self, wanted: HistoryFilter, limit: int = HISTORY_LIMIT) -> list[HistoryRow]:
        return search(self._engine, wanted, limit)

    def sessions(self) -> list[tuple[int, str]]:
        return sessions(self._engine)
