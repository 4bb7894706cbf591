"""Reconciliation of one batch, line by line, exactly as docs/protocol.md says:

1. a redemption id already seen in an earlier batch keeps its first verdict; the same id twice
   in one batch → `duplicate_line` for the second;
2. unknown code → `unknown`; revoked on or before the day of redemption (French calendar) →
   `revoked`; carnet not attributed → `not_attributed`; redeemed after the programme's
   `grace_until` → `expired`;
3. the pass already accepted for another line (any site, this batch included) → `conflict`
   naming the first received; otherwise `accepted`.

Everything the batch needs is read with a few bulk queries, not one query per line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select, SelectOfScalar

from mediateur_tui.domain.formatting import local_date
from mediateur_tui.hub.models import (
    HubCarnet,
    HubLine,
    HubPass,
    HubProgramme,
    HubRevocation,
    HubUsedPass,
)
from mediateur_tui.protocol.verdicts import LineVerdict

_CHUNK = 5_000


@dataclass(frozen=True)
class LineIn:
    """One redemption line as the site sent it."""

    index: int
    redemption_id: str
    code: str
    redeemed_at: datetime
    value_cents: int


@dataclass(frozen=True)
class Decision:
    line: LineIn
    verdict: str
    reason: str | None
    value_cents: int
    first: bool = True  # the first line bringing this redemption id to the hub
    replay_of: str | None = None  # batch of the first line, for an id seen in an earlier batch
    winner_site_id: str | None = None
    winner_redeemed_at: datetime | None = None
    newly_used: bool = False  # accepted by this batch: a `used` change goes out


@dataclass(frozen=True)
class _Winner:
    site_id: str
    redeemed_at: datetime


def reconcile(session: Session, site_id: str, lines: list[LineIn]) -> list[Decision]:
    """One decision per line, in order. Reads the database; writes nothing."""
    codes = sorted({line.code for line in lines})
    earlier = {
        row.redemption_id: row
        for row in _rows_in(
            session,
            select(HubLine),
            col(HubLine.first_redemption_id),
            [x.redemption_id for x in lines],
        )
    }
    passes = {
        code: (programme_id, attributed_on)
        for code, programme_id, attributed_on in _rows_in(
            session,
            select(HubPass.code, HubPass.programme_id, col(HubCarnet.attributed_on)).join(
                HubCarnet, col(HubCarnet.id) == HubPass.carnet_id
            ),
            col(HubPass.code),
            codes,
        )
    }
    revoked = dict(
        _rows_in(
            session,
            select(HubRevocation.code, col(HubRevocation.revoked_on)),
            col(HubRevocation.code),
            codes,
        )
    )
    winners = {
        code: _Winner(site, at)
        for code, site, at in _rows_in(
            session,
            select(HubUsedPass.code, HubUsedPass.site_id, HubUsedPass.redeemed_at),
            col(HubUsedPass.code),
            codes,
        )
    }
    programmes = {p.id: p for p in session.exec(select(HubProgramme)).all()}

    decisions: list[Decision] = []
    seen: set[str] = set()
    for line in lines:
        if line.redemption_id in seen:
            decisions.append(_refused(line, "duplicate_line", line.value_cents, first=False))
            continue
        seen.add(line.redemption_id)
        first = earlier.get(line.redemption_id)
        if first is not None:
            decisions.append(_replay(line, first))
            continue
        decisions.append(
            _decide(line, site_id, passes.get(line.code), programmes, revoked, winners)
        )
    return decisions


def _decide(
    line: LineIn,
    site_id: str,
    known: tuple[str, date | None] | None,
    programmes: dict[str, HubProgramme],
    revoked: dict[str, date],
    winners: dict[str, _Winner],
) -> Decision:
    if known is None:
        return _refused(line, "unknown", line.value_cents)
    programme_id, attributed_on = known
    programme = programmes[programme_id]
    value = programme.value_cents
    day = local_date(line.redeemed_at)
    revoked_on = revoked.get(line.code)
    if revoked_on is not None and revoked_on <= day:
        return _refused(line, "revoked", value)
    if attributed_on is None:
        return _refused(line, "not_attributed", value)
    if day > programme.grace_until:
        return _refused(line, "expired", value)
    winner = winners.get(line.code)
    if winner is not None:
        return Decision(
            line,
            LineVerdict.REFUSED,
            "conflict",
            value,
            winner_site_id=winner.site_id,
            winner_redeemed_at=winner.redeemed_at,
        )
    winners[line.code] = _Winner(site_id, line.redeemed_at)  # a later line of this batch loses
    return Decision(line, LineVerdict.ACCEPTED, None, value, newly_used=True)


def _replay(line: LineIn, first: HubLine) -> Decision:
    return Decision(
        line,
        first.verdict,
        first.reason,
        first.value_cents,
        first=False,
        replay_of=first.batch_id,
        winner_site_id=first.winner_site_id,
        winner_redeemed_at=first.winner_redeemed_at,
    )


def _refused(line: LineIn, reason: str, value: int, first: bool = True) -> Decision:
    return Decision(line, LineVerdict.REFUSED, reason, value, first=first)


def _rows_in(
    session: Session,
    query: Select[*tuple[Any, ...]] | SelectOfScalar[Any],
    column: Mapped[Any],
    values: Sequence[str],
) -> Iterator[Any]:
    """Runs `query` restricted to `column IN values`, in chunks (bound-parameter limits)."""
    unique = sorted(set(values))
    for start in range(0, len(unique), _CHUNK):
        yield from session.exec(query.where(column.in_(unique[start : start + _CHUNK]))).all()
