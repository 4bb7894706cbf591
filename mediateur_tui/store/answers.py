"""The region's answers on this site's redemptions, from the answers to its declarations and the
acknowledgements of its batches: stored once per redemption, and said once by a sync report."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from mediateur_tui.protocol.verdicts import LineVerdict
from mediateur_tui.store.models import Redemption, RegionAnswer, Site


@dataclass(frozen=True)
class Answer:
    """One line of a region's answer, as the protocol gives it."""

    redemption_id: str
    verdict: str
    reason: str | None
    winner_site_id: str | None
    winner_redeemed_at: datetime | None


def record_answers(session: Session, answers: Iterable[Answer], now: datetime) -> None:
    """Stores each answer; a changed one is to be reported again (the region has the last
    word). In the caller's transaction."""
    for answer in answers:
        stored = session.get(RegionAnswer, answer.redemption_id)
        if stored is not None and _same(stored, answer):
            continue
        row = stored or RegionAnswer(
            redemption_id=answer.redemption_id, verdict="", answered_at=now
        )
        row.verdict = answer.verdict
        row.reason = answer.reason
        row.winner_site_id = answer.winner_site_id
        row.winner_redeemed_at = answer.winner_redeemed_at
        row.answered_at = now
        row.reported_at = None
        session.add(row)


def _same(stored: RegionAnswer, answer: Answer) -> bool:
    return (stored.verdict, stored.reason, stored.winner_site_id) == (
        answer.verdict,
        answer.reason,
        answer.winner_site_id,
    )


def refusal_of(session: Session, redemption_id: str) -> RegionAnswer | None:
    """The region's refusal of this redemption, if it refused it."""
    answer = session.get(RegionAnswer, redemption_id)
    return answer if answer is not None and answer.verdict == LineVerdict.REFUSED else None


def unreported_refusals(session: Session) -> list[RegionAnswer]:
    """The refusals no sync report has said yet, oldest first (not of redemptions this site
    has cancelled since: they are no one's money any more)."""
    return list(
        session.exec(
            select(RegionAnswer)
            .join(Redemption, col(Redemption.id) == col(RegionAnswer.redemption_id))
            .where(col(Redemption.cancelled_at).is_(None))
            .where(RegionAnswer.verdict == LineVerdict.REFUSED)
            .where(col(RegionAnswer.reported_at).is_(None))
            .order_by(col(RegionAnswer.answered_at), col(RegionAnswer.redemption_id))
        ).all()
    )


def mark_reported(session: Session, answers: Iterable[RegionAnswer], now: datetime) -> None:
    for answer in answers:
        answer.reported_at = now
        session.add(answer)


def site_name(session: Session, site_id: str | None) -> str | None:
    """A site's name from the replica (its id when the replica does not know it)."""
    if site_id is None:
        return None
    site = session.get(Site, site_id)
    return site.name if site else site_id
