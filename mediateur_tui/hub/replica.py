"""Replica publication: signed pages of the change log after a cursor, and whole snapshots.

A page's `until` is the sequence number of its last change (the cursor to send next); a
snapshot holds every change from the start (but passes released after their `used` change:
`without_released`) and the region's first public key, for a USB key. Both carry every key set
the region published (hub.region_keys) and are signed by the key in service.
Carnets carry their codes as a list, so a pass costs about 10 bytes on the wire, gzip'd.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import col, func, select

from mediateur_tui.domain.clock import system_clock
from mediateur_tui.hub.database import Hub, read_session
from mediateur_tui.hub.models import HubChange
from mediateur_tui.hub.region_keys import key_set_documents
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import (
    CHANGE_RELEASED,
    CHANGE_USED,
    REPLICA_PAGE,
    REPLICA_SNAPSHOT,
)
from mediateur_tui.protocol.instants import iso_instant
from mediateur_tui.protocol.signing import encode_key, region_signer, sign_document

DEFAULT_PAGE_LIMIT = 10_000
MAX_PAGE_LIMIT = 100_000
MAX_CURSOR = 2**63 - 1  # the largest sequence number a BIGINT (hub_change.seq) holds


def changes_page(hub: Hub, since: int, limit: int = DEFAULT_PAGE_LIMIT) -> dict[str, Any]:
    """The signed pn-replica-page/1 with the changes after `since` (at most `limit`)."""
    if not 0 <= since <= MAX_CURSOR:
        raise ProtocolError(f"Curseur de réplique invalide : entre 0 et {MAX_CURSOR} attendu.")
    if not 1 <= limit <= MAX_PAGE_LIMIT:
        raise ProtocolError(f"Taille de page invalide : entre 1 et {MAX_PAGE_LIMIT} changements.")
    generated_at = system_clock()  # before the read: every change up to it is in the page
    with read_session(hub.engine) as session, session.begin():
        rows = session.exec(
            select(HubChange.seq, HubChange.body)
            .where(col(HubChange.seq) > since)
            .order_by(col(HubChange.seq))
            .limit(limit + 1)
        ).all()
        key_sets = key_set_documents(session)
    more = len(rows) > limit
    rows = rows[:limit]
    page = {
        "format": REPLICA_PAGE,
        "region_id": hub.region_id,
        "since": since,
        "until": rows[-1][0] if rows else since,
        "more": more,
        "generated_at": iso_instant(generated_at),
        "changes": [json.loads(body) for _seq, body in rows],
        "key_sets": key_sets,
    }
    return sign_document(page, hub.region_key, region_signer(hub.region_id))


def snapshot(hub: Hub) -> dict[str, Any]:
    """The signed pn-replica-snapshot/1: every change, with the region's first public key."""
    generated_at = system_clock()  # before the read: every change up to it is in it
    with read_session(hub.engine) as session, session.begin():
        rows = session.exec(
            select(HubChange.seq, HubChange.body).order_by(col(HubChange.seq))
        ).all()
        key_sets = key_set_documents(session)
    document = {
        "format": REPLICA_SNAPSHOT,
        "region_id": hub.region_id,
        "region_public_key": encode_key(hub.region_public_key),
        "until": rows[-1][0] if rows else 0,
        "generated_at": iso_instant(generated_at),
        "changes": without_released([json.loads(body) for _seq, body in rows]),
        "key_sets": key_sets,
    }
    return sign_document(document, hub.region_key, region_signer(hub.region_id))


def without_released(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The changes with each `released` change and the `used` change it undoes left out.

    A snapshot gives the registry's state from nothing: a pass claimed by a declared
    redemption then released (the site cancelled it) is not used, and a site importing the
    snapshot must not see it used. A pass taken again after its release keeps that later
    `used` change. Pages keep every change: a site may have applied the `used` already.
    """
    dropped: set[int] = set()
    last_used: dict[str, int] = {}
    for index, change in enumerate(changes):
        kind = change["t"]
        if kind == CHANGE_USED:
            last_used[change["code"]] = index
        elif kind == CHANGE_RELEASED:
            dropped.add(index)
            undone = last_used.pop(change["code"], None)
            if undone is not None:
                dropped.add(undone)
    return [change for index, change in enumerate(changes) if index not in dropped]


def last_sequence(hub: Hub) -> int:
    with read_session(hub.engine) as session:
        return session.exec(select(func.max(HubChange.seq))).one() or 0
