"""Batch intake: check a pn-batch/1, reconcile it line by line, answer a signed pn-ack/1.

Order of the checks (docs/protocol.md): the document's structure; the authenticated site is
the batch's site; a batch already received with the same content gets its stored
acknowledgement back, unchanged; the site's signature; a batch sealed since the site was
struck off is refused (hub.struck_off); a known batch id with other content is a conflict.
Then every line is reconciled (`reconcile`) and the batch, its lines, the passes now used and
their replica changes are written in one transaction. A line the site declared first
(hub.declarations) takes its declared verdict and becomes the line that pays: the declared
line and its claimed pass are moved to this batch, and no second `used` change goes out. A
refused document leaves the database untouched.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from mediateur_tui.domain.clock import system_clock
from mediateur_tui.hub.batch_checks import batch_sessions, check_structure
from mediateur_tui.hub.changes import claim_passes
from mediateur_tui.hub.database import (
    Hub,
    bulk_insert,
    read_session,
    select_in,
    table_column,
    write_session,
)
from mediateur_tui.hub.errors import Conflict, Forbidden
from mediateur_tui.hub.models import (
    HubBatch,
    HubBatchSession,
    HubDeclaredLine,
    HubLine,
    HubSite,
    HubUsedPass,
)
from mediateur_tui.hub.reconcile import CHUNK, Decision, LineIn, reconcile
from mediateur_tui.hub.struck_off import refuse_if_signed_struck_off
from mediateur_tui.protocol.documents import dump_json
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import ACK
from mediateur_tui.protocol.instants import iso_instant, parse_instant
from mediateur_tui.protocol.signing import (
    region_signer,
    sign_document,
    signed_encodings,
    site_signer,
    verify_document,
)
from mediateur_tui.protocol.verdicts import LineVerdict


@dataclass(frozen=True)
class IntakeResult:
    ack: dict[str, Any]
    replayed: bool  # True when this batch had already been received: nothing changed


def receive_batch(
    hub: Hub, document: dict[str, Any], authenticated_site: str | None = None
) -> IntakeResult:
    """Receives one batch. `authenticated_site` is the site of the API key (None for a file).

    Raises ProtocolError (bad document or signature), Forbidden (another site's batch, or one
    sealed since its site was struck off) or Conflict (same batch id, other content), with
    French messages.
    """
    lines = check_structure(document, hub.region_id)
    site_id = document["site_id"]
    batch_id = document["batch_id"]
    if authenticated_site is not None and authenticated_site != site_id:
        raise Forbidden(
            f"Cette remise est celle du site {site_id} : le site {authenticated_site} ne peut "
            "remettre que ses propres pass."
        )
    whole, canonical = signed_encodings(document)
    digest = hashlib.sha256(whole).hexdigest()  # document_hash(document)
    with read_session(hub.engine) as session:
        stored = _stored(session, batch_id)
        if stored is not None and stored.document_hash == digest:
            return IntakeResult(ack=json.loads(stored.ack), replayed=True)
        site = session.get(HubSite, site_id)
    if site is None or site.public_key is None:
        raise ProtocolError(f"Site inconnu du hub ou pas encore inscrit : {site_id}.")
    verify_document(document, bytes(site.public_key), site_signer(site_id), canonical)
    refuse_if_signed_struck_off(site, parse_instant(document["sealed_at"]), "remise scellée")
    if stored is not None:
        raise _other_content(batch_id)
    try:
        return _store(hub, document, lines, digest, whole.decode("utf-8"))
    except IntegrityError as error:  # only if a writer bypassed the write lock
        raise Conflict(
            "Réception concurrente d'une remise touchant les mêmes pass : renvoyez-la."
        ) from error


def stored_ack(hub: Hub, batch_id: str) -> tuple[str, dict[str, Any]] | None:
    """(site id, acknowledgement) of a received batch, or None."""
    with read_session(hub.engine) as session:
        stored = _stored(session, batch_id)
    return None if stored is None else (stored.site_id, json.loads(stored.ack))


class _StoredBatch(NamedTuple):
    site_id: str
    document_hash: str
    ack: str


_STORED = [table_column(HubBatch, name) for name in _StoredBatch._fields]


def _stored(session: Session, batch_id: str) -> _StoredBatch | None:
    rows = list(select_in(session, _STORED, table_column(HubBatch, "batch_id"), [batch_id]))
    return _StoredBatch(*rows[0]) if rows else None


def _store(
    hub: Hub, document: dict[str, Any], lines: list[LineIn], digest: str, text: str
) -> IntakeResult:
    """Stores the batch (`text`: the document as its hash is taken, keys sorted), its lines,
    the passes now used and their changes; answers the signed acknowledgement."""
    batch_id, site_id = document["batch_id"], document["site_id"]
    received_at = system_clock()
    with write_session(hub.engine) as session:
        stored = _stored(session, batch_id)  # again, now that we hold the write lock
        if stored is not None:
            if stored.document_hash == digest:
                return IntakeResult(ack=json.loads(stored.ack), replayed=True)
            raise _other_content(batch_id)
        decisions = reconcile(session, site_id, lines)
        ack = _acknowledgement(hub, document, decisions, received_at)
        batch_row = {
            "batch_id": batch_id,
            "site_id": site_id,
            "period": document["period"],
            "sequence": document["sequence"],
            "received_at": received_at,
            "document_hash": digest,
            "document": text,
            "ack": dump_json(ack).decode("utf-8"),
        }
        bulk_insert(session, HubBatch, [batch_row])
        _insert_sessions(session, document)
        _insert_lines(session, batch_id, site_id, decisions)
    return IntakeResult(ack=ack, replayed=False)


def _insert_sessions(session: Session, document: dict[str, Any]) -> None:
    """The batch's sessions, with the activity summary each carries (the statement's)."""
    rows = [
        {
            "batch_id": document["batch_id"],
            "session_id": item.id,
            "site_id": document["site_id"],
            "kind": item.kind,
            "duration_minutes": item.duration_minutes,
            "activity": None
            if item.activity is None
            else dump_json(item.activity.document()).decode(),
        }
        for item in batch_sessions(document)
    ]
    bulk_insert(session, HubBatchSession, rows)


def _insert_lines(session: Session, batch_id: str, site_id: str, decisions: list[Decision]) -> None:
    line_rows = [
        {
            "batch_id": batch_id,
            "line_index": d.line.index,
            "redemption_id": d.line.redemption_id,
            "first_redemption_id": d.line.redemption_id if d.first else None,
            "replay_of_batch_id": d.replay_of,
            "site_id": site_id,
            "code": d.line.code,
            "redeemed_at": d.line.redeemed_at,
            "value_cents": d.value_cents,
            "verdict": d.verdict,
            "reason": d.reason,
            "winner_site_id": d.winner_site_id,
            "winner_redeemed_at": d.winner_redeemed_at,
            "session_id": d.line.session_id,
        }
        for d in decisions
    ]
    bulk_insert(session, HubLine, line_rows)
    accepted = [d for d in decisions if d.newly_used]
    claim_passes(session, site_id, accepted, system_clock(), batch_id=batch_id)
    _adopt_declared(session, batch_id, [d for d in decisions if d.was_declared])


def _adopt_declared(session: Session, batch_id: str, declared: list[Decision]) -> None:
    """Lines of this batch that were declared first: their declared line now belongs to this
    batch, and so does the pass an accepted one claimed (no second `used` change: the
    replicas know already)."""
    ids = [d.line.redemption_id for d in declared]
    claimed = [d.line for d in declared if d.adopted]
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        session.execute(
            update(HubDeclaredLine)
            .where(col(HubDeclaredLine.redemption_id).in_(chunk))
            .values(batch_id=batch_id)
        )
    for start in range(0, len(claimed), CHUNK):
        lines = claimed[start : start + CHUNK]
        # Found by code (the key: hub_used_pass has no index on redemption_id), each
        # redemption id keeping exactly the claim of its declared line.
        session.execute(
            update(HubUsedPass)
            .where(
                col(HubUsedPass.code).in_([item.code for item in lines]),
                col(HubUsedPass.redemption_id).in_([item.redemption_id for item in lines]),
            )
            .values(batch_id=batch_id)
        )


def _acknowledgement(
    hub: Hub, document: dict[str, Any], decisions: list[Decision], received_at: datetime
) -> dict[str, Any]:
    lines = [d.answer_line() for d in decisions]
    accepted = [d for d in decisions if d.verdict == LineVerdict.ACCEPTED]
    ack = {
        "format": ACK,
        "batch_id": document["batch_id"],
        "site_id": document["site_id"],
        "region_id": hub.region_id,
        "received_at": iso_instant(received_at),
        "lines": lines,
        "totals": {
            "accepted": len(accepted),
            "accepted_cents": sum(d.value_cents for d in accepted),
            "refused": len(decisions) - len(accepted),
        },
    }
    return sign_document(ack, hub.region_key, region_signer(hub.region_id))


def _other_content(batch_id: str) -> Conflict:
    return Conflict(
        f"Une remise {batch_id} au contenu différent a déjà été reçue : une remise scellée ne "
        "change plus. Refusée."
    )
