"""Merging another copy of a site into this one, without duplicates: a backup restored on top of
a new laptop's data, or what the region gives back to a new laptop after a lost one.

Rows are matched on what names them for good: a redemption, a cancellation and a batch by their
ids (random, made once), an operator by name, a session by when it started, its title and its
operator. What this site has already is left as it is; a redemption of a pass this site has
already taken under another id is a conflict, counted and not added (a pass is taken once).
The merge is one transaction, with one audit event saying what it added; the audit chain of the
other copy is not merged (it stays in the backup).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlmodel import Session, col, select

from mediateur_tui.services.activity import ACTIVITY_COLUMNS
from mediateur_tui.services.auth import NAME_ONLY_PIN
from mediateur_tui.services.backup import BackupError, checked_copy
from mediateur_tui.store.answers import Answer, record_answers
from mediateur_tui.store.audit import append_event
from mediateur_tui.store.engine import database_url, upgrade, writer
from mediateur_tui.store.models import (
    AckLine,
    Batch,
    Cancellation,
    DeskSession,
    Operator,
    Redemption,
    RegionAnswer,
    stored_id,
)
from mediateur_tui.store.queries import replica_meta


@dataclass(frozen=True)
class OperatorRow:
    name: str
    role: str = "mediateur"
    pin_hash: str | None = None  # None: an account that cannot log in (a name only)
    removed_at: datetime | None = None


@dataclass(frozen=True)
class SessionRow:
    key: int  # the session's id in the other copy
    title: str
    kind: str
    themes: str
    duration_minutes: int
    operator_name: str
    started_at: datetime
    ended_at: datetime | None
    # The activity's columns (services/activity.py) as the other copy holds them; from the
    # region's recovery document, what the session's activity summary carries (none from a
    # site older than the summary).
    activity: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RedemptionRow:
    id: str
    code: str
    session_key: int
    operator_name: str
    redeemed_at: datetime
    value_cents: int
    input_method: str
    raw_input: str
    provisional: bool
    batch_id: str | None = None
    declared_at: datetime | None = None
    cancelled_at: datetime | None = None


@dataclass(frozen=True)
class CancellationRow:
    redemption_id: str
    reason: str
    operator_name: str
    cancelled_at: datetime
    declared_at: datetime | None = None


@dataclass(frozen=True)
class BatchRow:
    batch: Batch  # as the other copy stored it (document, hashes, totals, acknowledgement)
    ack_lines: list[AckLine] = field(default_factory=list)


@dataclass
class SiteRows:
    """What another copy of the site holds, as rows to merge."""

    operators: list[OperatorRow] = field(default_factory=list)
    sessions: list[SessionRow] = field(default_factory=list)
    redemptions: list[RedemptionRow] = field(default_factory=list)
    cancellations: list[CancellationRow] = field(default_factory=list)
    batches: list[BatchRow] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)


@dataclass
class MergeReport:
    redemptions_added: int = 0
    redemptions_present: int = 0
    conflicts: list[str] = field(default_factory=list)  # codes taken here under another id
    sessions_added: int = 0
    operators_added: int = 0
    batches_added: int = 0
    batches_skipped: list[str] = field(default_factory=list)  # another batch for its month
    cancellations_added: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "redemptions_added": self.redemptions_added,
            "redemptions_present": self.redemptions_present,
            "conflicts": len(self.conflicts),
            "sessions_added": self.sessions_added,
            "operators_added": self.operators_added,
            "batches_added": self.batches_added,
            "batches_skipped": len(self.batches_skipped),
            "cancellations_added": self.cancellations_added,
        }


def merge_rows(engine: Engine, rows: SiteRows, origin: str, now: datetime) -> MergeReport:
    """Adds to this site what `rows` hold and it lacks, in one transaction (module docstring).
    `origin` says where they come from, for the audit event."""
    report = MergeReport()
    with Session(writer(engine)) as session:
        operators = _merge_operators(session, rows, report, now)
        sessions = _merge_sessions(session, rows.sessions, operators, report)
        added_batches = _merge_batches(session, rows.batches, report)
        _merge_redemptions(session, rows.redemptions, sessions, operators, added_batches, report)
        _merge_cancellations(session, rows.cancellations, operators, report)
        session.flush()
        present = set(session.exec(select(Redemption.id)).all())
        record_answers(session, [a for a in rows.answers if a.redemption_id in present], now)
        append_event(session, now, "merged", None, {"origin": origin, **report.counts()})
        session.commit()
    return report


def _merge_operators(
    session: Session, rows: SiteRows, report: MergeReport, now: datetime
) -> dict[str, int]:
    """Name → id here, for every name the rows use; missing accounts are added (a name with
    no PIN hash as a removed account: it keeps the history, it cannot log in)."""
    names = {row.name: row for row in rows.operators}
    for name in _names_used(rows):
        names.setdefault(name, OperatorRow(name))
    ids: dict[str, int] = {}
    for name, row in names.items():
        operator = session.exec(select(Operator).where(Operator.name == name)).first()
        if operator is None:
            operator = Operator(
                name=name,
                role=row.role,
                pin_hash=row.pin_hash or f"{NAME_ONLY_PIN}${secrets.token_hex(8)}",
                removed_at=row.removed_at if row.pin_hash else (row.removed_at or now),
            )
            session.add(operator)
            session.flush()
            report.operators_added += 1
        ids[name] = stored_id(operator.id)
    return ids


def _names_used(rows: SiteRows) -> set[str]:
    return (
        {row.operator_name for row in rows.sessions}
        | {row.operator_name for row in rows.redemptions}
        | {row.operator_name for row in rows.cancellations}
    )


def _merge_sessions(
    session: Session, given: list[SessionRow], operators: dict[str, int], report: MergeReport
) -> dict[int, int]:
    """The other copy's session id → the id of the same session here."""
    ids: dict[int, int] = {}
    for row in given:
        operator_id = operators[row.operator_name]
        found = session.exec(
            select(DeskSession).where(
                DeskSession.started_at == row.started_at,
                DeskSession.title == row.title,
                DeskSession.operator_id == operator_id,
            )
        ).first()
        if found is None:
            found = DeskSession(
                title=row.title,
                kind=row.kind,
                themes=row.themes,
                duration_minutes=row.duration_minutes,
                operator_id=operator_id,
                started_at=row.started_at,
                ended_at=row.ended_at,
                **row.activity,
            )
            session.add(found)
            session.flush()
            report.sessions_added += 1
        ids[row.key] = stored_id(found.id)
    return ids


def _merge_batches(session: Session, given: list[BatchRow], report: MergeReport) -> set[str]:
    added: set[str] = set()
    for row in sorted(given, key=lambda item: item.batch.sequence):
        batch = row.batch
        if session.get(Batch, batch.batch_id) is not None:
            continue
        taken = session.exec(
            select(Batch).where(
                (col(Batch.period) == batch.period) | (col(Batch.sequence) == batch.sequence)
            )
        ).first()
        if taken is not None:
            report.batches_skipped.append(batch.batch_id)
            continue
        session.add(Batch.model_validate(batch.model_dump()))
        session.flush()
        session.add_all(AckLine.model_validate(line.model_dump()) for line in row.ack_lines)
        added.add(batch.batch_id)
        report.batches_added += 1
    return added


def _merge_redemptions(
    session: Session,
    given: list[RedemptionRow],
    sessions: dict[int, int],
    operators: dict[str, int],
    added_batches: set[str],
    report: MergeReport,
) -> None:
    for row in given:
        existing = session.get(Redemption, row.id)
        if existing is not None:
            if existing.batch_id is None and row.batch_id in added_batches:
                existing.batch_id = row.batch_id  # sealed in a batch this site lacked
                session.add(existing)
            report.redemptions_present += 1
            continue
        if row.cancelled_at is None and _taken_here(session, row.code):
            report.conflicts.append(row.code)
            continue
        batch_id = row.batch_id if row.batch_id and session.get(Batch, row.batch_id) else None
        session.add(
            Redemption(
                id=row.id,
                code=row.code,
                session_id=sessions[row.session_key],
                operator_id=operators[row.operator_name],
                redeemed_at=row.redeemed_at,
                value_cents=row.value_cents,
                input_method=row.input_method,
                raw_input=row.raw_input,
                provisional=row.provisional,
                batch_id=batch_id,
                declared_at=row.declared_at,
                cancelled_at=row.cancelled_at,
            )
        )
        session.flush()
        report.redemptions_added += 1


def _taken_here(session: Session, code: str) -> bool:
    active = select(Redemption.id).where(
        Redemption.code == code, col(Redemption.cancelled_at).is_(None)
    )
    return session.exec(active).first() is not None


def _merge_cancellations(
    session: Session,
    given: list[CancellationRow],
    operators: dict[str, int],
    report: MergeReport,
) -> None:
    for row in given:
        redemption = session.get(Redemption, row.redemption_id)
        if redemption is None or session.get(Cancellation, row.redemption_id) is not None:
            continue
        if redemption.batch_id is not None:  # sealed here: a batch does not change any more
            continue
        redemption.cancelled_at = redemption.cancelled_at or row.cancelled_at
        session.add(redemption)
        session.add(
            Cancellation(
                redemption_id=row.redemption_id,
                reason=row.reason,
                operator_id=operators[row.operator_name],
                cancelled_at=row.cancelled_at,
                declared_at=row.declared_at,
            )
        )
        report.cancellations_added += 1


# --- a backup, merged on top --------------------------------------------------------------


def merge_backup(engine: Engine, data_dir: Path, path: Path, now: datetime) -> MergeReport:
    """Merges the backup `path` into the site of `engine` (the same site: its id is checked),
    after checking the backup whole. Nothing is written when it is refused."""
    with checked_copy(path, data_dir) as (manifest, copy):
        with Session(engine) as session:
            meta = replica_meta(session)
        site_id = meta.site_id if meta else None
        if manifest.facts.site_id != site_id:
            raise BackupError(
                f"Cette sauvegarde est celle du lieu {manifest.facts.site_id}, pas de ce poste "
                f"({site_id}) : rien n'a été fusionné."
            )
        rows = rows_of_database(copy)
    return merge_rows(engine, rows, f"sauvegarde {path.name}", now)


def rows_of_database(path: Path) -> SiteRows:
    """Everything a copy of a site's database holds to merge (the copy is brought to the
    current schema first: a backup may be older than this version)."""
    engine = create_engine(database_url(path))
    try:
        upgrade(engine)
        with Session(engine) as session:
            return _rows_of(session)
    finally:
        engine.dispose()


def _rows_of(session: Session) -> SiteRows:
    operators = session.exec(select(Operator)).all()
    name = {stored_id(op.id): op.name for op in operators}
    return SiteRows(
        operators=[OperatorRow(op.name, op.role, op.pin_hash, op.removed_at) for op in operators],
        sessions=[
            SessionRow(
                key=stored_id(row.id),
                title=row.title,
                kind=row.kind,
                themes=row.themes,
                duration_minutes=row.duration_minutes,
                operator_name=name[row.operator_id],
                started_at=row.started_at,
                ended_at=row.ended_at,
                activity={name: getattr(row, name) for name in ACTIVITY_COLUMNS},
            )
            for row in session.exec(select(DeskSession)).all()
        ],
        redemptions=[
            RedemptionRow(
                id=row.id,
                code=row.code,
                session_key=row.session_id,
                operator_name=name[row.operator_id],
                redeemed_at=row.redeemed_at,
                value_cents=row.value_cents,
                input_method=row.input_method,
                raw_input=row.raw_input,
                provisional=row.provisional,
                batch_id=row.batch_id,
                declared_at=row.declared_at,
                cancelled_at=row.cancelled_at,
            )
            for row in session.exec(select(Redemption)).all()
        ],
        cancellations=[
            CancellationRow(
                redemption_id=row.redemption_id,
                reason=row.reason,
                operator_name=name[row.operator_id],
                cancelled_at=row.cancelled_at,
                declared_at=row.declared_at,
            )
            for row in session.exec(select(Cancellation)).all()
        ],
        batches=[
            BatchRow(
                batch, list(session.exec(select(AckLine).where(AckLine.batch_id == batch.batch_id)))
            )
            for batch in session.exec(select(Batch)).all()
        ],
        answers=[
            Answer(
                row.redemption_id,
                row.verdict,
                row.reason,
                row.winner_site_id,
                row.winner_redeemed_at,
            )
            for row in session.exec(select(RegionAnswer)).all()
        ],
    )
