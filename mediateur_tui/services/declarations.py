"""The declaration outbox: every redemption and every cancellation of this site reaches the
region as soon as the site is online (docs/protocol.md, "Declarations").

Pending are the redemptions neither declared nor in a batch (a batch carries its own lines to
the region) and the cancellations not declared. They leave in signed pn-declaration/1
documents of at most MAX_DECLARATION_LINES redemptions; cancellations ride only once every
pending redemption is in a document, so the region always knows the line a cancellation
names. Each answer is verified, its verdicts stored (store/answers: `sync` and `check` say the
region's refusals) and what it answered marked declared. A cut loses nothing: what has no
answer is sent again, and the region is idempotent on redemption ids.

A declaration never pays: the monthly batch stays the payment document.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Engine, literal_column, update
from sqlmodel import Session, col, func, select

from mediateur_tui.domain.formatting import plural
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import DECLARATION, DECLARATION_ANSWER, MAX_DECLARATION_LINES
from mediateur_tui.protocol.instants import iso_instant
from mediateur_tui.protocol.signing import (
    sign_document,
    site_signer,
)
from mediateur_tui.protocol.verdicts import LineVerdict
from mediateur_tui.services.acks import parse_answer_lines
from mediateur_tui.services.batches import redemption_line, session_line
from mediateur_tui.services.region_keys import verify_from_region
from mediateur_tui.store import queries
from mediateur_tui.store.answers import record_answers
from mediateur_tui.store.engine import writer
from mediateur_tui.store.keys import load_site_key
from mediateur_tui.store.models import Cancellation, DeskSession, Operator, Redemption

log = logging.getLogger(__name__)

Post = Callable[[dict[str, Any]], dict[str, Any]]  # a declaration out, the region's answer back


@dataclass
class DeclarationReport:
    """What one run of the outbox declared, and what the region answered."""

    redemptions: int = 0
    cancellations: int = 0
    accepted: int = 0
    refused: int = 0

    def describe(self) -> str:
        return (
            f"Déclaré à la région : {plural(self.redemptions, 'encaissement')} "
            f"({plural(self.accepted, 'accepté')}, {plural(self.refused, 'refusé')}), "
            f"{plural(self.cancellations, 'annulation')}."
        )

    def to_json(self) -> dict[str, int]:
        return {
            "redemptions": self.redemptions,
            "cancellations": self.cancellations,
            "accepted": self.accepted,
            "refused": self.refused,
        }


def pending_redemptions() -> tuple[ColumnElement[bool], ...]:
    """The redemptions the region has not been told of: neither declared nor in a batch."""
    return (col(Redemption.declared_at).is_(None), col(Redemption.batch_id).is_(None))


def pending_count(engine: Engine) -> int:
    """How many redemptions the region has not been told of yet (the home screen says it)."""
    with Session(engine) as session:
        return session.exec(
            select(func.count()).select_from(Redemption).where(*pending_redemptions())
        ).one()


def declare_pending(
    engine: Engine,
    data_dir: Path,
    post: Post,
    clock: Callable[[], datetime],
    report: DeclarationReport | None = None,
) -> DeclarationReport:
    """Sends every pending redemption and cancellation, document after document, and stores
    each answer, counting into `report`. Raises what `post` raises: what was answered before
    stays declared (and counted in `report`)."""
    report = report if report is not None else DeclarationReport()
    while True:
        document = next_declaration(engine, data_dir, clock())
        if document is None:
            return report
        answer = post(document)
        declared = apply_answer(engine, document, answer, clock())
        report.redemptions += declared.redemptions
        report.cancellations += declared.cancellations
        report.accepted += declared.accepted
        report.refused += declared.refused


def next_declaration(engine: Engine, data_dir: Path, now: datetime) -> dict[str, Any] | None:
    """The next signed pn-declaration/1, or None when nothing is pending."""
    with Session(engine) as session:
        meta = queries.replica_meta(session)
        if meta is None:
            return None  # no replica yet: the region's id is unknown, nothing was taken
        redemptions = session.exec(
            select(Redemption, Operator.name)
            .join(Operator, col(Operator.id) == col(Redemption.operator_id))
            .where(*pending_redemptions())
            .order_by(col(Redemption.redeemed_at), literal_column("redemption.rowid"))
            .limit(MAX_DECLARATION_LINES)
        ).all()
        cancellations: list[Cancellation] = []
        if len(redemptions) < MAX_DECLARATION_LINES:  # every pending redemption goes first
            # Only of redemptions the region knows, or that this document brings: one taken
            # and cancelled since the query above waits for the next document.
            here = [row.id for row, _ in redemptions]
            cancellations = list(
                session.exec(
                    select(Cancellation)
                    .join(Redemption, col(Redemption.id) == col(Cancellation.redemption_id))
                    .where(col(Cancellation.declared_at).is_(None))
                    .where(col(Redemption.declared_at).is_not(None) | col(Redemption.id).in_(here))
                    .order_by(col(Cancellation.cancelled_at), col(Cancellation.redemption_id))
                    .limit(MAX_DECLARATION_LINES)
                ).all()
            )
        if not redemptions and not cancellations:
            return None
        session_ids = sorted({row.session_id for row, _ in redemptions})
        desk_sessions = session.exec(
            select(DeskSession)
            .where(col(DeskSession.id).in_(session_ids))
            .order_by(col(DeskSession.id))
        ).all()
        document = {
            "format": DECLARATION,
            "declaration_id": uuid.uuid4().hex,
            "region_id": meta.region_id,
            "site_id": meta.site_id,
            "declared_at": iso_instant(now),
            "sessions": [session_line(row) for row in desk_sessions],
            "redemptions": [redemption_line(row, name) for row, name in redemptions],
            "cancellations": [
                {
                    "redemption_id": row.redemption_id,
                    "cancelled_at": iso_instant(row.cancelled_at),
                    "reason": row.reason[:200],
                }
                for row in cancellations
            ],
        }
    return sign_document(document, load_site_key(data_dir), site_signer(meta.site_id))


def apply_answer(
    engine: Engine, document: dict[str, Any], answer: dict[str, Any], now: datetime
) -> DeclarationReport:
    """Verifies the region's pn-declaration-answer/1 to `document`, stores its verdicts and
    marks what it answered declared, in one transaction."""
    if not isinstance(answer, dict) or answer.get("format") != DECLARATION_ANSWER:
        raise ProtocolError(f"Réponse inattendue de la région : {DECLARATION_ANSWER} attendu.")
    with Session(engine) as session:
        meta = queries.replica_meta(session)
    verify_from_region(answer, meta, "La clé de la région est inconnue sur ce poste.")
    if (answer.get("declaration_id"), answer.get("site_id"), answer.get("region_id")) != (
        document["declaration_id"],
        document["site_id"],
        document["region_id"],
    ):
        raise ProtocolError("La région a répondu à une autre déclaration que celle envoyée.")
    lines = parse_answer_lines(answer.get("lines"), "Réponse à la déclaration mal formée")
    cancelled = _cancellation_statuses(answer.get("cancellations"))
    sent = {line["id"] for line in document["redemptions"]}
    sent_cancellations = {line["redemption_id"] for line in document["cancellations"]}
    answered = [answer.redemption_id for _, answer in lines]
    if (
        len(answered) != len(sent)
        or set(answered) != sent
        or len(cancelled) != len(answer["cancellations"])
        or set(cancelled) != sent_cancellations
    ):
        raise ProtocolError(
            "La réponse de la région ne correspond pas aux lignes déclarées (lignes manquantes "
            "ou en trop) : rien n'est marqué déclaré, elles seront envoyées à nouveau."
        )
    for redemption_id, status in cancelled.items():
        if status != "cancelled":
            log.warning("cancellation of %s declared: the region says %s", redemption_id, status)
    with Session(writer(engine)) as session:
        record_answers(session, [answer for _, answer in lines], now)
        connection = session.connection()
        if sent:
            connection.execute(
                update(Redemption).where(col(Redemption.id).in_(sent)).values(declared_at=now)
            )
        if sent_cancellations:
            connection.execute(
                update(Cancellation)
                .where(col(Cancellation.redemption_id).in_(sent_cancellations))
                .values(declared_at=now)
            )
        session.commit()
    accepted = sum(1 for _, answer in lines if answer.verdict == LineVerdict.ACCEPTED)
    return DeclarationReport(len(sent), len(sent_cancellations), accepted, len(sent) - accepted)


_CANCELLATION_STATUSES = ("cancelled", "in_batch", "unknown")


def _cancellation_statuses(raw: object) -> dict[str, str]:
    if not isinstance(raw, list):
        raise ProtocolError("Réponse à la déclaration mal formée : annulations manquantes.")
    statuses: dict[str, str] = {}
    for item in raw:
        if not isinstance(item, dict) or item.get("status") not in _CANCELLATION_STATUSES:
            raise ProtocolError("Réponse à la déclaration mal formée (annulation) : refusée.")
        statuses[str(item.get("redemption_id"))] = str(item["status"])
    return statuses
