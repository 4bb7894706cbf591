"""What the hub received from the sites, line by line: the lines of their batches and the
declared lines no batch has brought yet (`mediateur-hub lines`).

A declared line that a batch brought later is that batch's line (hub.intake): it is listed
once, as the batch line. Rows are sorted by the time of the redemption.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from mediateur_tui.domain.periods import period_bounds, read_period
from mediateur_tui.hub.database import Hub, read_session
from mediateur_tui.hub.errors import NotFound
from mediateur_tui.hub.models import HubBatch, HubDeclaredLine, HubLine, HubSite
from mediateur_tui.protocol.instants import iso_instant
from mediateur_tui.protocol.verdicts import LineVerdict

BATCH = "batch"
DECLARATION = "declaration"
# A line's status: the region's verdict, or for a declared line not in a batch, whether it
# was cancelled or is still waiting for its batch (accepted, not paid yet).
ACCEPTED = "accepted"
REFUSED = "refused"
CANCELLED = "cancelled"
DECLARED = "declared"


@dataclass(frozen=True)
class ReceivedLine:
    site_id: str
    redemption_id: str
    code: str
    redeemed_at: datetime
    value_cents: int
    source: str  # BATCH or DECLARATION
    status: str  # ACCEPTED, REFUSED, CANCELLED or DECLARED
    reason: str | None
    winner_site_id: str | None
    winner_redeemed_at: datetime | None
    batch_id: str | None = None
    period: str | None = None
    sequence: int | None = None
    replay_of_batch_id: str | None = None
    declaration_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The row for `--json`: stable English keys."""
        return {
            "site_id": self.site_id,
            "redemption_id": self.redemption_id,
            "code": self.code,
            "redeemed_at": iso_instant(self.redeemed_at),
            "value_cents": self.value_cents,
            "source": self.source,
            "batch_id": self.batch_id,
            "period": self.period,
            "sequence": self.sequence,
            "replay_of_batch_id": self.replay_of_batch_id,
            "declaration_id": self.declaration_id,
            "status": self.status,
            "reason": self.reason,
            "winner": None
            if self.winner_site_id is None or self.winner_redeemed_at is None
            else {
                "site_id": self.winner_site_id,
                "redeemed_at": iso_instant(self.winner_redeemed_at),
            },
        }


def received_lines(
    hub: Hub, site_id: str | None = None, month: str | None = None
) -> list[ReceivedLine]:
    """Every batch line and every declared line not in a batch, of one site or all, of one
    month (the French calendar month of the redemption) or all; sorted by redemption time."""
    bounds = period_bounds(read_period(month)) if month is not None else None
    with read_session(hub.engine) as session:
        if site_id is not None and session.get(HubSite, site_id) is None:
            raise NotFound(f"Site inconnu : {site_id}.")
        rows = _batch_lines(session, site_id, bounds) + _declared_lines(session, site_id, bounds)
    return sorted(rows, key=lambda row: (row.redeemed_at, row.site_id, row.redemption_id))


Bounds = tuple[datetime, datetime] | None


def _batch_lines(session: Session, site_id: str | None, bounds: Bounds) -> list[ReceivedLine]:
    query = select(HubLine, HubBatch.period, HubBatch.sequence).join(
        HubBatch, col(HubBatch.batch_id) == HubLine.batch_id
    )
    if site_id is not None:
        query = query.where(HubLine.site_id == site_id)
    if bounds is not None:
        query = query.where(
            col(HubLine.redeemed_at) >= bounds[0], col(HubLine.redeemed_at) < bounds[1]
        )
    return [
        ReceivedLine(
            site_id=line.site_id,
            redemption_id=line.redemption_id,
            code=line.code,
            redeemed_at=line.redeemed_at,
            value_cents=line.value_cents,
            source=BATCH,
            status=ACCEPTED if line.verdict == LineVerdict.ACCEPTED else REFUSED,
            reason=line.reason,
            winner_site_id=line.winner_site_id,
            winner_redeemed_at=line.winner_redeemed_at,
            batch_id=line.batch_id,
            period=period,
            sequence=sequence,
            replay_of_batch_id=line.replay_of_batch_id,
        )
        for line, period, sequence in session.exec(query).all()
    ]


def _declared_lines(session: Session, site_id: str | None, bounds: Bounds) -> list[ReceivedLine]:
    query: SelectOfScalar[HubDeclaredLine] = select(HubDeclaredLine).where(
        col(HubDeclaredLine.batch_id).is_(None)
    )
    if site_id is not None:
        query = query.where(HubDeclaredLine.site_id == site_id)
    if bounds is not None:
        query = query.where(
            col(HubDeclaredLine.redeemed_at) >= bounds[0],
            col(HubDeclaredLine.redeemed_at) < bounds[1],
        )
    return [
        ReceivedLine(
            site_id=row.site_id,
            redemption_id=row.redemption_id,
            code=row.code,
            redeemed_at=row.redeemed_at,
            value_cents=row.value_cents,
            source=DECLARATION,
            status=_declared_status(row),
            reason=row.reason,
            winner_site_id=row.winner_site_id,
            winner_redeemed_at=row.winner_redeemed_at,
            declaration_id=row.declaration_id,
        )
        for row in session.exec(query).all()
    ]


def _declared_status(row: HubDeclaredLine) -> str:
    if row.cancelled_at is not None:
        return CANCELLED
    return DECLARED if row.verdict == LineVerdict.ACCEPTED else REFUSED
