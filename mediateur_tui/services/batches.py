"""Monthly batches (remises): sealing a batch and reading the sealed batches.

`seal_batch` puts every active redemption not yet remitted whose time is before the first
instant of the next month (French time) into one pn-batch/1, with the sessions those
redemptions belong to and the refused scans not yet remitted, signs it with the site key and
stores it, with each redemption's `batch_id`, in ONE transaction. A sealed batch never changes;
batches form a hash chain through `sequence` and `previous_hash`.

The files for the USB-key route are in batch_files.py, the region's answer in acks.py.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Engine, literal_column, update
from sqlmodel import Session, col, func, select

from mediateur_tui.domain.periods import (
    MonthFacts,
    SealedBatch,
    closing_refusal,
    parse_period,
    period_bounds,
    period_label,
)
from mediateur_tui.protocol.activity import ActivitySummary
from mediateur_tui.protocol.documents import dump_json
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import BATCH
from mediateur_tui.protocol.instants import iso_instant
from mediateur_tui.protocol.signing import (
    document_hash,
    sign_document,
    site_signer,
    verify_document,
)
from mediateur_tui.services.activity import activity_of
from mediateur_tui.store import journal, queries
from mediateur_tui.store.audit import append_event
from mediateur_tui.store.engine import writer
from mediateur_tui.store.keys import load_site_key, raw_public_key, site_key_path
from mediateur_tui.store.models import (
    AuditEvent,
    Batch,
    DeskSession,
    Operator,
    Redemption,
    RefusedScan,
)
from mediateur_tui.sync.errors import SyncError

log = logging.getLogger(__name__)


# --- what the screens and the command line see ----------------------------------------------


@dataclass(frozen=True)
class BatchInfo:
    batch_id: str
    period: str
    sequence: int
    sealed_at: datetime
    redemption_count: int
    value_cents: int
    refused_count: int
    document_hash: str
    sent_at: datetime | None
    acknowledged_at: datetime | None

    @classmethod
    def of(cls, row: Batch) -> BatchInfo:
        return cls(
            batch_id=row.batch_id,
            period=row.period,
            sequence=row.sequence,
            sealed_at=row.sealed_at,
            redemption_count=row.redemption_count,
            value_cents=row.value_cents,
            refused_count=row.refused_count,
            document_hash=row.document_hash,
            sent_at=row.sent_at,
            acknowledged_at=row.acknowledged_at,
        )

    @property
    def label(self) -> str:
        return f"remise n° {self.sequence} ({period_label(self.period)})"


# --- sealing --------------------------------------------------------------------------------


def unremitted_redemptions(end: datetime) -> tuple[ColumnElement[bool], ...]:
    """The redemptions a batch closing at `end` takes: active, not yet in a batch, before `end`."""
    return (
        col(Redemption.cancelled_at).is_(None),
        col(Redemption.batch_id).is_(None),
        col(Redemption.redeemed_at) < end,
    )


def unremitted_refusals(end: datetime) -> tuple[ColumnElement[bool], ...]:
    return (col(RefusedScan.batch_id).is_(None), col(RefusedScan.at) < end)


def month_facts(session: Session, data_dir: Path, period: str) -> MonthFacts:
    """What the closing rule (domain.periods.closing_refusal) needs to know about `period`."""
    _, end = period_bounds(period)
    closed = session.exec(select(Batch).where(Batch.period == period)).first()
    unremitted = session.exec(
        select(func.count()).select_from(Redemption).where(*unremitted_redemptions(end))
    ).one()
    return MonthFacts(
        closed_by=SealedBatch(closed.sequence, closed.sealed_at) if closed else None,
        has_replica=queries.replica_meta(session) is not None,
        unremitted=unremitted,
        has_site_key=site_key_path(data_dir).exists(),
    )


def seal_batch(
    engine: Engine,
    data_dir: Path,
    period: str,
    now: datetime,
    operator_id: int | None = None,
) -> BatchInfo:
    """Seals the month `period` into one signed batch (see the module's docstring)."""
    period = parse_period(period)
    _, end = period_bounds(period)
    with Session(writer(engine)) as session:
        refusal = closing_refusal(period, now, month_facts(session, data_dir, period))
        if refusal is not None:
            raise refusal
        key = load_site_key(data_dir)
        meta = queries.replica_meta(session)
        assert meta is not None  # closing_refusal checked it
        redemptions = session.exec(
            select(Redemption, Operator.name)
            .join(Operator, col(Operator.id) == col(Redemption.operator_id))
            .where(*unremitted_redemptions(end))
            .order_by(col(Redemption.redeemed_at), literal_column("redemption.rowid"))
        ).all()
        refused = session.exec(
            select(RefusedScan)
            .where(*unremitted_refusals(end))
            .order_by(col(RefusedScan.at), col(RefusedScan.id))
        ).all()
        session_ids = sorted({redemption.session_id for redemption, _ in redemptions})
        desk_sessions = session.exec(
            select(DeskSession)
            .where(col(DeskSession.id).in_(session_ids))
            .order_by(col(DeskSession.id))
        ).all()
        previous = session.exec(select(Batch).order_by(col(Batch.sequence).desc()).limit(1)).first()

        document = {
            "format": BATCH,
            "batch_id": uuid.uuid4().hex,
            "region_id": meta.region_id,
            "site_id": meta.site_id,
            "period": period,
            "sequence": previous.sequence + 1 if previous else 1,
            "previous_hash": document_hash(json.loads(previous.document)) if previous else None,
            "sealed_at": iso_instant(now),
            "sessions": [session_line(row) for row in desk_sessions],
            "redemptions": [redemption_line(row, name) for row, name in redemptions],
            "refused_scans": [_refused_line(row) for row in refused],
            "totals": {
                "redemptions": len(redemptions),
                "value_cents": sum(row.value_cents for row, _ in redemptions),
                "refused_scans": len(refused),
            },
        }
        signed = sign_document(document, key, site_signer(meta.site_id))
        batch = Batch(
            batch_id=signed["batch_id"],
            period=period,
            sequence=signed["sequence"],
            sealed_at=now,
            previous_hash=signed["previous_hash"],
            document_hash=document_hash(signed),
            document=dump_json(signed).decode("utf-8"),
            redemption_count=len(redemptions),
            value_cents=signed["totals"]["value_cents"],
            refused_count=len(refused),
        )
        session.add(batch)
        session.flush()
        marked = (
            session.connection()
            .execute(
                update(Redemption)
                .where(*unremitted_redemptions(end))
                .values(batch_id=batch.batch_id)
            )
            .rowcount
        )
        marked_refused = (
            session.connection()
            .execute(
                update(RefusedScan).where(*unremitted_refusals(end)).values(batch_id=batch.batch_id)
            )
            .rowcount
        )
        if marked != len(redemptions) or marked_refused != len(refused):  # pragma: no cover
            raise SyncError("La base a changé pendant la clôture : recommencez.")
        marks = {"batch_id": batch.batch_id}
        journal.note_update(session, "redemption", [row.id for row, _ in redemptions], marks)
        journal.note_update(session, "refused_scan", [row.id for row in refused], marks)
        append_event(
            session,
            now,
            "batch_sealed",
            operator_id,
            {
                "batch_id": batch.batch_id,
                "period": period,
                "sequence": batch.sequence,
                "redemptions": batch.redemption_count,
                "value_cents": batch.value_cents,
                "refused_scans": batch.refused_count,
                "document_hash": batch.document_hash,
            },
        )
        info = BatchInfo.of(batch)
        session.commit()
    log.info("batch %s sealed: %s (%s lines)", info.batch_id, period, info.redemption_count)
    return info


def session_line(row: DeskSession) -> dict[str, Any]:
    """A session as the protocol's documents carry it (pn-batch/1, pn-declaration/1), with
    its activity summary (protocol/activity.py)."""
    return {
        "id": row.id,
        "title": row.title,
        "kind": row.kind,
        "themes": row.themes,
        "duration_minutes": row.duration_minutes,
        "started_at": iso_instant(row.started_at),
        "ended_at": iso_instant(row.ended_at) if row.ended_at else None,
        "activity": ActivitySummary.of(activity_of(row)).document(),
    }


def redemption_line(row: Redemption, operator_name: str) -> dict[str, Any]:
    """A redemption as the protocol's documents carry it (pn-batch/1, pn-declaration/1)."""
    return {
        "id": row.id,
        "code": row.code,
        "session_id": row.session_id,
        "operator": operator_name,
        "redeemed_at": iso_instant(row.redeemed_at),
        "input_method": row.input_method,
        "value_cents": row.value_cents,
        "provisional": bool(row.provisional),
    }


def _refused_line(row: RefusedScan) -> dict[str, Any]:
    return {
        "at": iso_instant(row.at),
        "input": row.raw_input,
        "code": row.code,
        "verdict": row.verdict,
    }


def signed_with_an_earlier_key(engine: Engine, data_dir: Path, batch_id: str) -> bool:
    """Whether a sealed batch, exactly as the audit log says it was sealed (or signed again),
    is signed with a key the site no longer has (it was enrolled again, with a new key, by a
    laptop restored from a backup). A batch altered since is never one: it goes as it is, and
    the region refuses its signature."""
    with Session(engine) as session:
        row = session.get(Batch, batch_id)
        events = session.exec(
            select(AuditEvent.details)
            .where(col(AuditEvent.kind).in_(("batch_sealed", "batch_signed_again")))
            .order_by(col(AuditEvent.id).desc())
        ).all()
    if row is None:
        return False
    recorded = next(
        (d["document_hash"] for d in map(json.loads, events) if d.get("batch_id") == batch_id),
        None,
    )
    document = json.loads(row.document)
    if not document_hash(document) == row.document_hash == recorded:
        return False
    key = raw_public_key(load_site_key(data_dir))
    try:
        verify_document(document, key, site_signer(document["site_id"]))
    except ProtocolError:
        return True
    return False


def sign_again(engine: Engine, data_dir: Path, batch_id: str, now: datetime) -> dict[str, Any]:
    """Signs a sealed batch the region never received with the site's current key (the region
    checks a batch it has not received against the key the site last enrolled with), chained
    to the previous batch as stored here. Its lines do not change; the audit log records the
    old and the new hash. Returns the new document."""
    with Session(writer(engine)) as session:
        row = session.get(Batch, batch_id)
        if row is None:
            raise SyncError(f"Remise inconnue sur ce poste : {batch_id}.")
        previous = session.exec(select(Batch).where(Batch.sequence == row.sequence - 1)).first()
        document = json.loads(row.document)
        del document["signature"]
        document["previous_hash"] = previous.document_hash if previous else None
        signed = sign_document(document, load_site_key(data_dir), site_signer(document["site_id"]))
        old_hash = row.document_hash
        row.document = dump_json(signed).decode("utf-8")
        row.document_hash = document_hash(signed)
        row.previous_hash = signed["previous_hash"]
        session.add(row)
        append_event(
            session,
            now,
            "batch_signed_again",
            None,
            {"batch_id": batch_id, "old_hash": old_hash, "document_hash": row.document_hash},
        )
        session.commit()
    return signed


# --- reading batches ------------------------------------------------------------------------


def list_batches(engine: Engine, pending_only: bool = False) -> list[BatchInfo]:
    """Sealed batches, oldest first; `pending_only`: those without the region's answer yet."""
    with Session(engine) as session:
        query = select(Batch).order_by(col(Batch.sequence))
        if pending_only:
            query = query.where(col(Batch.acknowledged_at).is_(None))
        return [BatchInfo.of(row) for row in session.exec(query)]


def batch_document(engine: Engine, batch_id: str) -> dict[str, Any]:
    """The signed pn-batch/1 exactly as sealed."""
    with Session(engine) as session:
        row = session.get(Batch, batch_id)
        if row is None:
            raise SyncError(f"Remise inconnue sur ce poste : {batch_id}.")
        document: dict[str, Any] = json.loads(row.document)
        return document


def mark_sent(engine: Engine, batch_id: str, now: datetime) -> None:
    """Records the first attempt to send a batch (a later run then asks the hub for its ack)."""
    with Session(writer(engine)) as session:
        row = session.get(Batch, batch_id)
        if row is not None and row.sent_at is None:
            row.sent_at = now
            session.add(row)
            session.commit()
