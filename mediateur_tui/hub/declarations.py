"""Declarations: a site's redemptions and cancellations reach the region the day they happen.

pn-declaration/1 is checked like a batch: its structure (hub.declaration_checks), that the
authenticated site is its site, the site's signature. Then, in one transaction that holds the
write lock, its redemption lines are decided by the batch's rules (hub.reconcile): an accepted
line claims its pass at once (`hub_used_pass`, no batch yet) and a `used` change goes into the
replica log, so that the other sites refuse the pass the same day. Idempotence is on the
redemption ids: a line declared again, or already in a batch, gets its stored verdict back and
nothing changes. Cancellations come after the document's lines: a declared line not in a batch
is cancelled (an accepted one releases its pass: `released` change); one already in a batch
stays (`in_batch`); an id the hub never received from this site is `unknown`.

A declaration never pays: the batch that brings the same redemption later adopts the declared
verdict (hub.intake) and pays it. pn-site-recovery/1 gives a site back what the region holds
from it: its batches with their acknowledgements, and its declared lines still outstanding.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from mediateur_tui.domain.clock import system_clock
from mediateur_tui.hub.changes import append_changes, claim_passes, released_change
from mediateur_tui.hub.database import Hub, bulk_insert, read_session, table_column, write_session
from mediateur_tui.hub.declaration_checks import CancellationIn, DeclarationIn, check_declaration
from mediateur_tui.hub.errors import Forbidden
from mediateur_tui.hub.models import HubBatch, HubDeclaredLine, HubLine, HubSite, HubUsedPass
from mediateur_tui.hub.reconcile import Decision, answer_line, reconcile, rows_in
from mediateur_tui.hub.struck_off import refuse_if_signed_struck_off
from mediateur_tui.protocol.documents import dump_json
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import DECLARATION_ANSWER, SITE_RECOVERY
from mediateur_tui.protocol.instants import iso_instant
from mediateur_tui.protocol.signing import (
    region_signer,
    sign_document,
    site_signer,
    verify_document,
)
from mediateur_tui.protocol.verdicts import LineVerdict

CANCELLED = "cancelled"
IN_BATCH = "in_batch"
UNKNOWN = "unknown"


def receive_declaration(
    hub: Hub, document: dict[str, Any], authenticated_site: str | None = None
) -> dict[str, Any]:
    """Receives one declaration; returns the signed pn-declaration-answer/1.

    Raises ProtocolError (bad document or signature) or Forbidden (another site's document, or
    one declared since its site was struck off), with French messages; a refused document
    changes nothing.
    """
    declaration = check_declaration(document, hub.region_id)
    site_id = document["site_id"]
    if authenticated_site is not None and authenticated_site != site_id:
        raise Forbidden(
            f"Cette déclaration est celle du site {site_id} : le site {authenticated_site} ne "
            "peut déclarer que ses propres encaissements."
        )
    with read_session(hub.engine) as session:
        site = session.get(HubSite, site_id)
    if site is None or site.public_key is None:
        raise ProtocolError(f"Site inconnu du hub ou pas encore inscrit : {site_id}.")
    verify_document(document, bytes(site.public_key), site_signer(site_id))
    refuse_if_signed_struck_off(site, declaration.declared_at, "déclaration faite")
    received_at = system_clock()
    with write_session(hub.engine) as session:
        decisions = reconcile(session, site_id, declaration.lines, declaring=True)
        _store_lines(session, document, declaration, decisions, received_at)
        statuses = _cancel(session, site_id, declaration.cancellations, received_at)
    answer = {
        "format": DECLARATION_ANSWER,
        "declaration_id": document["declaration_id"],
        "site_id": site_id,
        "region_id": hub.region_id,
        "received_at": iso_instant(received_at),
        "lines": [d.answer_line() for d in decisions],
        "cancellations": [
            {"redemption_id": item.redemption_id, "status": status}
            for item, status in zip(declaration.cancellations, statuses, strict=True)
        ],
    }
    return sign_document(answer, hub.region_key, region_signer(hub.region_id))


def _store_lines(
    session: Session,
    document: dict[str, Any],
    declaration: DeclarationIn,
    decisions: list[Decision],
    received_at: datetime,
) -> None:
    site_id, declaration_id = document["site_id"], document["declaration_id"]
    new = [d for d in decisions if d.first]
    rows = []
    for d in new:
        item = declaration.items[d.line.index]
        rows.append(
            {
                "redemption_id": d.line.redemption_id,
                "site_id": site_id,
                "declaration_id": declaration_id,
                "code": d.line.code,
                "line": dump_json(item).decode("utf-8"),
                "session": dump_json(declaration.sessions[item["session_id"]]).decode("utf-8"),
                "redeemed_at": d.line.redeemed_at,
                "value_cents": d.value_cents,
                "verdict": d.verdict,
                "reason": d.reason,
                "winner_site_id": d.winner_site_id,
                "winner_redeemed_at": d.winner_redeemed_at,
                "declared_at": declaration.declared_at,
                "received_at": received_at,
                "cancelled_at": None,
                "cancel_reason": None,
                "batch_id": None,
            }
        )
    bulk_insert(session, HubDeclaredLine, rows)
    accepted = [d for d in new if d.newly_used]
    claim_passes(session, site_id, accepted, received_at, declaration_id=declaration_id)


def _batched(session: Session, site_id: str, ids: list[str]) -> set[str]:
    """The ids among `ids` that a batch of this site brought. The first line of each id a
    batch brought carries it in first_redemption_id (a unique index); a line of this site
    replaying an id another site brought first is one of this site's lines (site_id's index),
    looked for only then."""
    first_lines: dict[str, str] = dict(
        rows_in(
            session,
            select(HubLine.first_redemption_id, HubLine.site_id),
            col(HubLine.first_redemption_id),
            ids,
        )
    )
    batched = {rid for rid, owner in first_lines.items() if owner == site_id}
    others = [rid for rid, owner in first_lines.items() if owner != site_id]
    if others:
        replays = select(HubLine.redemption_id).where(HubLine.site_id == site_id)
        batched |= set(rows_in(session, replays, col(HubLine.redemption_id), others))
    return batched


def _cancel(
    session: Session, site_id: str, cancellations: list[CancellationIn], at: datetime
) -> list[str]:
    """The status of each cancellation, in order; cancels and releases what it must."""
    ids = [item.redemption_id for item in cancellations]
    declared = {
        row.redemption_id: row
        for row in rows_in(
            session, select(HubDeclaredLine), col(HubDeclaredLine.redemption_id), ids
        )
        if row.site_id == site_id
    }
    batched = _batched(session, site_id, ids)
    statuses, released = [], []
    for item in cancellations:
        row = declared.get(item.redemption_id)
        if row is None:
            statuses.append(IN_BATCH if item.redemption_id in batched else UNKNOWN)
        elif row.batch_id is not None:
            statuses.append(IN_BATCH)
        elif row.cancelled_at is not None:
            statuses.append(CANCELLED)
        else:
            row.cancelled_at, row.cancel_reason = item.cancelled_at, item.reason
            session.add(row)
            if row.verdict == LineVerdict.ACCEPTED:
                session.execute(
                    delete(HubUsedPass).where(
                        col(HubUsedPass.code) == row.code,
                        col(HubUsedPass.redemption_id) == row.redemption_id,
                    )
                )
                released.append(released_change(row.code))
            statuses.append(CANCELLED)
    session.flush()
    append_changes(session, released, at)
    return statuses


_RECOVERED_COLUMNS = [
    table_column(HubDeclaredLine, name)
    for name in (
        "redemption_id",
        "code",
        "line",
        "session",
        "verdict",
        "reason",
        "winner_site_id",
        "winner_redeemed_at",
        "declared_at",
        "cancelled_at",
        "cancel_reason",
    )
]


def site_recovery(hub: Hub, site_id: str) -> dict[str, Any]:
    """The signed pn-site-recovery/1 of a site: its batches (with their acknowledgements) in
    sequence order, and its declared lines not in a batch, with their sessions (each once),
    their verdicts and, for those the site cancelled, the cancellation (so that a backup
    merged afterwards cannot bring a cancelled line back)."""
    with read_session(hub.engine) as session, session.begin():
        batches = session.exec(
            select(HubBatch.document, HubBatch.ack)
            .where(HubBatch.site_id == site_id)
            .order_by(col(HubBatch.sequence), col(HubBatch.received_at))
        ).all()
        declared = session.exec(
            select(*_RECOVERED_COLUMNS)  # rows, not ORM objects: a month of lines is thousands
            .where(
                HubDeclaredLine.site_id == site_id,
                col(HubDeclaredLine.batch_id).is_(None),
            )
            .order_by(col(HubDeclaredLine.redeemed_at), col(HubDeclaredLine.redemption_id))
        ).all()
    sessions: dict[int, dict[str, Any]] = {}
    for row in sorted(declared, key=lambda row: row.declared_at):  # the latest state wins
        session_object = json.loads(row.session)
        sessions[session_object["id"]] = session_object
    document = {
        "format": SITE_RECOVERY,
        "site_id": site_id,
        "region_id": hub.region_id,
        "generated_at": iso_instant(system_clock()),
        "batches": [
            {"batch": json.loads(document), "ack": json.loads(ack)} for document, ack in batches
        ],
        "declared": {
            "sessions": [sessions[number] for number in sorted(sessions)],
            "redemptions": [json.loads(row.line) for row in declared],
            "answers": [
                answer_line(
                    row.redemption_id,
                    row.code,
                    row.verdict,
                    row.reason,
                    row.winner_site_id,
                    row.winner_redeemed_at,
                )
                for row in declared
            ],
            "cancellations": [
                {
                    "redemption_id": row.redemption_id,
                    "cancelled_at": iso_instant(row.cancelled_at),
                    "reason": row.cancel_reason,
                }
                for row in declared
                if row.cancelled_at is not None
            ],
        },
    }
    return sign_document(document, hub.region_key, region_signer(hub.region_id))
