"""Reconciliation of one batch, or of one declaration, line by line, as docs/protocol.md says:

1. a redemption id already seen in an earlier batch keeps its first verdict; the same id twice
   in one document → `duplicate_line` for the second; a redemption id already declared keeps
   the declared verdict (a declaration declaring it again stores nothing; a batch of the same
   site bringing it, for the same code and not cancelled, adopts it: that batch line is the
   one that pays, and the pass is already claimed);
2. unknown code → `unknown`; revoked on or before the day of redemption (French calendar) →
   `revoked`; carnet not attributed → `not_attributed`; redeemed after the programme's
   `grace_until` → `expired`;
3. the pass already accepted for another line (any site, batch or declaration, this document
   included) → `conflict` naming the first received; otherwise `accepted`.

Everything the batch needs is read with a few bulk queries, not one query per line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Column, bindparam
from sqlalchemy.orm import Mapped
from sqlmodel import Session, SQLModel, select
from sqlmodel.sql.expression import Select, SelectOfScalar

from mediateur_tui.domain.formatting import local_date
from mediateur_tui.hub.database import select_in, table_column
from mediateur_tui.hub.models import (
    HubCarnet,
    HubDeclaredLine,
    HubLine,
    HubPass,
    HubProgramme,
    HubRevocation,
    HubUsedPass,
)
from mediateur_tui.protocol.instants import iso_instant
from mediateur_tui.protocol.verdicts import LineVerdict

CHUNK = 5_000


@dataclass(frozen=True)
class LineIn:
    """One redemption line as the site sent it."""

    index: int
    redemption_id: str
    code: str
    redeemed_at: datetime
    value_cents: int
    session_id: int


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
    newly_used: bool = False  # accepted by this document: a `used` change goes out
    adopted: bool = False  # a batch line taking the accepted verdict of its declared line
    was_declared: bool = False  # a batch line whose redemption this site declared first

    def answer_line(self) -> dict[str, Any]:
        """The pn-ack/1 line object (also the lines of pn-declaration-answer/1)."""
        return answer_line(
            self.line.redemption_id,
            self.line.code,
            self.verdict,
            self.reason,
            self.winner_site_id,
            self.winner_redeemed_at,
        )


def answer_line(
    redemption_id: str,
    code: str,
    verdict: str,
    reason: str | None,
    winner_site_id: str | None,
    winner_redeemed_at: datetime | None,
) -> dict[str, Any]:
    """A pn-ack/1 line object: the region's verdict on one redemption."""
    return {
        "redemption_id": redemption_id,
        "code": code,
        "verdict": verdict,
        "reason": reason,
        "winner": None
        if winner_site_id is None or winner_redeemed_at is None
        else {"site_id": winner_site_id, "redeemed_at": iso_instant(winner_redeemed_at)},
    }


@dataclass(frozen=True)
class _Winner:
    site_id: str
    redeemed_at: datetime


class _Earlier(NamedTuple):
    """What the reconciliation reads of the first line of a redemption id seen before."""

    batch_id: str
    verdict: str
    reason: str | None
    value_cents: int
    winner_site_id: str | None
    winner_redeemed_at: datetime | None


class _Declared(NamedTuple):
    """What the reconciliation reads of a declared line."""

    site_id: str
    code: str
    verdict: str
    reason: str | None
    value_cents: int
    winner_site_id: str | None
    winner_redeemed_at: datetime | None
    cancelled_at: datetime | None


def _columns(model: type[SQLModel], *names: str) -> list[Column[Any]]:
    return [table_column(model, name) for name in names]


_WINNER_FIELDS = ("verdict", "reason", "value_cents", "winner_site_id", "winner_redeemed_at")
_FIRST_ID = table_column(HubLine, "first_redemption_id")
_EARLIER = _columns(HubLine, "redemption_id", "batch_id", *_WINNER_FIELDS)
_DECLARED = _columns(
    HubDeclaredLine, "redemption_id", "site_id", "code", *_WINNER_FIELDS, "cancelled_at"
)
_PASSES = [*_columns(HubPass, "code", "programme_id"), table_column(HubCarnet, "attributed_on")]
_PASS_CARNET = 'JOIN "hub_carnet" ON "hub_carnet"."id" = "hub_pass"."carnet_id"'
_REVOKED = _columns(HubRevocation, "code", "revoked_on")
_WINNERS = _columns(HubUsedPass, "code", "site_id", "redeemed_at")


def reconcile(
    session: Session, site_id: str, lines: list[LineIn], *, declaring: bool = False
) -> list[Decision]:
    """One decision per line, in order, for a batch, or a declaration when `declaring`.
    Reads the database; writes nothing.

    A decision with `first` is a line to store (a new batch line that counts, or a new
    declared line); `newly_used` claims its pass; `adopted` (batches only) moves the claim
    of the declared line to this batch.
    """
    codes = [line.code for line in lines]
    ids = [x.redemption_id for x in lines]
    earlier = {row[0]: _Earlier(*row[1:]) for row in select_in(session, _EARLIER, _FIRST_ID, ids)}
    declared = {
        row[0]: _Declared(*row[1:]) for row in select_in(session, _DECLARED, _DECLARED[0], ids)
    }
    passes = {
        code: (programme_id, attributed_on)
        for code, programme_id, attributed_on in select_in(
            session, _PASSES, _PASSES[0], codes, joins=_PASS_CARNET
        )
    }
    revoked = dict(select_in(session, _REVOKED, _REVOKED[0], codes))
    winners = {
        code: _Winner(site, at)
        for code, site, at in select_in(session, _WINNERS, _WINNERS[0], codes)
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
        known = declared.get(line.redemption_id)
        if known is not None and known.site_id == site_id and known.cancelled_at is not None:
            # Cancelled by its site: a backup restored from before the cancellation must not
            # bring it back to be paid.
            refused = _refused(line, "cancelled", known.value_cents, first=not declaring)
            decisions.append(replace(refused, was_declared=not declaring))
            continue
        if known is not None and declaring:
            decisions.append(_declared(line, known, first=False))
            continue
        ours = known is not None and known.site_id == site_id and known.code == line.code
        if known is not None and ours and known.verdict == LineVerdict.ACCEPTED:
            decisions.append(_declared(line, known, first=True))
            continue
        # A new line, or one whose declaration was refused: that claimed nothing (a winner
        # may have released the pass since), so the batch line is decided afresh.
        decision = _decide(line, site_id, passes.get(line.code), programmes, revoked, winners)
        decisions.append(replace(decision, was_declared=True) if ours else decision)
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


def _replay(line: LineIn, first: _Earlier) -> Decision:
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


def _declared(line: LineIn, known: _Declared, first: bool) -> Decision:
    """The verdict of a declared line: answered again to a declaration (`first` False), or
    adopted by the batch line bringing the same redemption (`first`: that line pays)."""
    return Decision(
        line,
        known.verdict,
        known.reason,
        known.value_cents,
        first=first,
        winner_site_id=known.winner_site_id,
        winner_redeemed_at=known.winner_redeemed_at,
        adopted=first,
        was_declared=first,
    )


def _refused(line: LineIn, reason: str, value: int, first: bool = True) -> Decision:
    return Decision(line, LineVerdict.REFUSED, reason, value, first=first)


def rows_in(
    session: Session,
    query: Select[*tuple[Any, ...]] | SelectOfScalar[Any],
    column: Mapped[Any],
    values: Sequence[str],
) -> Iterator[Any]:
    """Runs `query` restricted to `column IN values`, in chunks (bound-parameter limits).

    The list is one expanding parameter: the statement is compiled once and cached, rather
    than built again with one bound parameter per value."""
    unique = sorted(set(values))
    statement = query.where(column.in_(bindparam("values", expanding=True)))
    for start in range(0, len(unique), CHUNK):
        chunk = unique[start : start + CHUNK]
        yield from session.exec(statement, params={"values": chunk}).all()
