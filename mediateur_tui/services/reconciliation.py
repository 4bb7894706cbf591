"""What the month-end and reconciliation screens show: the batches with the region's counts,
what closing a month would seal, and a batch line by line with the region's verdicts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from mediateur_tui.domain.formatting import capitalised, format_datetime
from mediateur_tui.domain.periods import closing_refusal, parse_period, period_bounds, period_label
from mediateur_tui.protocol.instants import parse_instant
from mediateur_tui.protocol.verdicts import LineVerdict, RefusalReason, refusal_label
from mediateur_tui.services import acks, batches
from mediateur_tui.services.batches import BatchInfo
from mediateur_tui.store.models import Batch, Redemption, RefusedScan
from mediateur_tui.sync.errors import SyncError


@dataclass(frozen=True)
class BatchOverview:
    """A sealed batch and, once the region answered, its counts."""

    batch: BatchInfo
    accepted: int | None = None
    accepted_cents: int | None = None
    refused: int | None = None

    @property
    def state(self) -> str:
        """`scellée` (not sent yet), `envoyée` (no answer yet) or `accusée`."""
        if self.batch.acknowledged_at is not None:
            return "accusée"
        return "envoyée" if self.batch.sent_at is not None else "scellée"


@dataclass(frozen=True)
class ClosePreview:
    """What closing `period` would seal, or why it cannot be closed (`problem`, in French)."""

    period: str
    label: str
    redemptions: int
    value_cents: int
    refused_scans: int
    sessions: int
    problem: str | None = None


@dataclass(frozen=True)
class ReconciliationLine:
    redemption_id: str
    code: str
    redeemed_at: datetime
    value_cents: int
    verdict: str | None  # "accepted", "refused", or None before the region's answer
    reason: str | None = None
    winner_site_id: str | None = None
    winner_redeemed_at: datetime | None = None

    @property
    def accepted(self) -> bool:
        return self.verdict == LineVerdict.ACCEPTED

    @property
    def refused(self) -> bool:
        return self.verdict == LineVerdict.REFUSED

    @property
    def verdict_label(self) -> str:
        if self.verdict is None:
            return "En attente"
        return "Accepté" if self.accepted else "Refusé"

    @property
    def reason_short(self) -> str:
        """E.g. `Encaissé à FOURMIES-MEDIA`, `En opposition` (for a narrow column)."""
        if not self.refused:
            return ""
        if self.reason == RefusalReason.CONFLICT and self.winner_site_id:
            return f"Encaissé à {self.winner_site_id}"
        return refusal_label(self.reason, short=True)

    @property
    def reason_text(self) -> str:
        """The region's reason in French; a conflict names the site that took the pass first."""
        if not self.refused:
            return ""
        text = capitalised(refusal_label(self.reason))
        if self.winner_site_id:
            text += f" : {self.winner_site_id}"
            if self.winner_redeemed_at is not None:
                text += f", le {format_datetime(self.winner_redeemed_at)}"
        return text


@dataclass(frozen=True)
class Reconciliation:
    batch: BatchInfo
    lines: list[ReconciliationLine]

    @property
    def acknowledged(self) -> bool:
        return self.batch.acknowledged_at is not None

    @property
    def accepted_count(self) -> int:
        return sum(1 for line in self.lines if line.accepted)

    @property
    def accepted_cents(self) -> int:
        return sum(line.value_cents for line in self.lines if line.accepted)

    @property
    def refused_count(self) -> int:
        return sum(1 for line in self.lines if line.refused)

    @property
    def refused_cents(self) -> int:
        return sum(line.value_cents for line in self.lines if line.refused)


def batch_overview(engine: Engine) -> list[BatchOverview]:
    """Every sealed batch, newest first, with the region's totals when it has answered."""
    with Session(engine) as session:
        rows = session.exec(select(Batch).order_by(col(Batch.sequence).desc())).all()
        result = []
        for row in rows:
            info = BatchInfo.of(row)
            if row.ack_document is None:
                result.append(BatchOverview(info))
                continue
            totals = json.loads(row.ack_document)["totals"]
            result.append(
                BatchOverview(info, totals["accepted"], totals["accepted_cents"], totals["refused"])
            )
    return result


def close_preview(engine: Engine, data_dir: Path, period: str, now: datetime) -> ClosePreview:
    """What `MonthEnd.close_month(period)` would seal now (same selection), without sealing."""
    period = parse_period(period)
    _, end = period_bounds(period)
    with Session(engine) as session:
        count, cents, sessions = session.exec(
            select(
                func.count(),
                func.coalesce(func.sum(Redemption.value_cents), 0),
                func.count(func.distinct(Redemption.session_id)),
            ).where(*batches.unremitted_redemptions(end))
        ).one()
        refused = session.exec(
            select(func.count()).select_from(RefusedScan).where(*batches.unremitted_refusals(end))
        ).one()
        refusal = closing_refusal(period, now, batches.month_facts(session, data_dir, period))
    problem = str(refusal) if refusal is not None else None
    return ClosePreview(period, period_label(period), count, cents, refused, sessions, problem)


def reconciliation(engine: Engine, batch_id: str) -> Reconciliation:
    """A batch line by line, in its order, with the region's verdict on each (if any yet)."""
    info = next((row for row in batches.list_batches(engine) if row.batch_id == batch_id), None)
    if info is None:
        raise SyncError(f"Remise inconnue sur ce poste : {batch_id}.")
    document = batches.batch_document(engine, batch_id)
    verdicts = {line.redemption_id: line for line in acks.ack_lines(engine, batch_id)}
    lines = []
    for line in document["redemptions"]:
        ack = verdicts.get(line["id"])
        lines.append(
            ReconciliationLine(
                redemption_id=line["id"],
                code=line["code"],
                redeemed_at=parse_instant(line["redeemed_at"]),
                value_cents=line["value_cents"],
                verdict=ack.verdict if ack else None,
                reason=ack.reason if ack else None,
                winner_site_id=ack.winner_site_id if ack else None,
                winner_redeemed_at=ack.winner_redeemed_at if ack else None,
            )
        )
    return Reconciliation(info, lines)


def latest_acknowledged(engine: Engine) -> BatchInfo | None:
    """The most recent batch the region has answered, or None."""
    answered = [row for row in batches.list_batches(engine) if row.acknowledged_at is not None]
    return answered[-1] if answered else None
