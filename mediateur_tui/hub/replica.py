"""Replica publication: signed pages of the change log after a cursor, and whole snapshots.

A page's `until` is the sequence number of its last change (the cursor to send next); a
snapshot holds every change from the start (but passes released after their `used` change:
`_dropped`) and the region's first public key, for a USB key, as JSON Lines sealed by a
signed digest (protocol/snapshot_lines.py). Both carry every key set the region published
(hub.region_keys) and are signed by the key in service (a snapshot: its seal).
Carnets carry their codes as a list, so a pass costs about 12 bytes on the wire, gzip'd; a
page /2, for a site that asks for it, carries them in one string without their check symbols
(about 10.3 bytes a pass).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any, cast

from sqlmodel import Session, col, func, select

from mediateur_tui.domain.clock import system_clock
from mediateur_tui.hub.database import Hub, read_session
from mediateur_tui.hub.models import HubChange
from mediateur_tui.hub.region_keys import key_set_documents
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import (
    CHANGE_RELEASED,
    CHANGE_USED,
    REPLICA_PAGE,
    REPLICA_PAGE_COMPACT,
    REPLICA_SNAPSHOT_LINES,
)
from mediateur_tui.protocol.instants import iso_instant
from mediateur_tui.protocol.replica_pages import compact_changes
from mediateur_tui.protocol.signing import encode_key, region_signer, sign_document
from mediateur_tui.protocol.snapshot_lines import SnapshotReader, SnapshotWriter

DEFAULT_PAGE_LIMIT = 10_000
MAX_PAGE_LIMIT = 100_000
EXPORT_PAGE = 10_000  # changes a snapshot export holds at a time
MAX_CURSOR = 2**63 - 1  # the largest sequence number a BIGINT (hub_change.seq) holds


def changes_page(
    hub: Hub, since: int, limit: int = DEFAULT_PAGE_LIMIT, *, compact: bool = False
) -> dict[str, Any]:
    """The signed pn-replica-page/1 with the changes after `since` (at most `limit`); with
    `compact`, the pn-replica-page/2 of the same changes, its carnets' codes in one string
    (protocol/replica_pages.py), unless a carnet's codes cannot be written so (then /1)."""
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
    changes: list[dict[str, Any]] = [json.loads(body) for _seq, body in rows]
    compacted = compact_changes(changes) if compact else None
    page = {
        "format": REPLICA_PAGE if compacted is None else REPLICA_PAGE_COMPACT,
        "region_id": hub.region_id,
        "since": since,
        "until": rows[-1][0] if rows else since,
        "more": more,
        "generated_at": iso_instant(generated_at),
        "changes": changes if compacted is None else compacted,
        "key_sets": key_sets,
    }
    return sign_document(page, hub.region_key, region_signer(hub.region_id))


@dataclass(frozen=True)
class Exported:
    """What `write_snapshot` wrote: how many changes, up to which sequence number."""

    changes: int
    until: int


@dataclass(frozen=True)
class Snapshot:
    """A pn-replica-snapshot/2 read back whole (`snapshot`): its head, changes and seal."""

    head: dict[str, Any]
    changes: list[dict[str, Any]]
    seal: dict[str, Any]


def snapshot(hub: Hub) -> Snapshot:
    """The pn-replica-snapshot/2, read back in memory, its seal's count and digest checked
    (for a small region: `write_snapshot` streams it to a file)."""
    buffer = io.BytesIO()
    write_snapshot(hub, buffer)
    buffer.seek(0)
    reader = SnapshotReader(buffer)
    changes = list(reader.changes())
    return Snapshot(reader.head, changes, reader.seal)


def write_snapshot(hub: Hub, out: IO[bytes]) -> Exported:
    """Writes to `out` the pn-replica-snapshot/2, gzip'd (protocol/snapshot_lines.py): every
    change, but a pass's `released` change and the `used` change it undoes (see `_dropped`),
    with the region's first public key, then the seal the region signs.

    The change log is read in pages, up to the last sequence number read first, in one read
    transaction, and each page written as it comes: no more than a page is held, and what
    Ed25519 signs is the seal, which holds the digest of the lines written before it.
    """
    generated_at = system_clock()  # before the read: every change up to it is in it
    with read_session(hub.engine) as session, session.begin():
        until = session.exec(select(func.max(HubChange.seq))).one() or 0
        head = {
            "format": REPLICA_SNAPSHOT_LINES,
            "region_id": hub.region_id,
            "region_public_key": encode_key(hub.region_public_key),
            "until": until,
            "generated_at": iso_instant(generated_at),
            "key_sets": key_set_documents(session),
        }
        dropped = _dropped(session, until)
        writer = SnapshotWriter(out, head)
        for page in _pages(session, until, dropped):
            writer.write_changes(page)
    writer.finish(sign_document(writer.seal(), hub.region_key, region_signer(hub.region_id)))
    return Exported(changes=writer.count, until=until)


def _pages(session: Session, until: int, dropped: set[int]) -> Iterator[list[str]]:
    """The bodies of the changes up to `until`, in order, but those `dropped`, a page at a
    time."""
    for rows in _row_pages(session, until):
        yield [body for seq, _kind, body in rows if seq not in dropped]


def _row_pages(
    session: Session, until: int, kinds: tuple[str, ...] = ()
) -> Iterator[Sequence[tuple[int, str, str]]]:
    """(seq, kind, body) of the changes up to `until` (of `kinds` only, if given), in pages
    of EXPORT_PAGE rows, each page one query after the last seq of the previous one."""
    last = 0
    while True:
        query = (
            select(HubChange.seq, HubChange.kind, HubChange.body)
            .where(col(HubChange.seq) > last, col(HubChange.seq) <= until)
            .order_by(col(HubChange.seq))
            .limit(EXPORT_PAGE)
        )
        if kinds:
            query = query.where(col(HubChange.kind).in_(kinds))
        rows = cast(Sequence[tuple[int, str, str]], session.exec(query).all())  # seq is set
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _dropped(session: Session, until: int) -> set[int]:
    """The seqs a snapshot leaves out: each `released` change and the `used` change it undoes.

    A snapshot gives the registry's state from nothing: a pass claimed by a declared
    redemption then released (the site cancelled it) is not used, and a site importing the
    snapshot must not see it used. A pass taken again after its release keeps that later
    `used` change. Pages keep every change: a site may have applied the `used` already.
    Only the passes released at least once are followed, so memory stays small.
    """
    released = {
        json.loads(body)["code"]
        for rows in _row_pages(session, until, (CHANGE_RELEASED,))
        for _seq, _kind, body in rows
    }
    dropped: set[int] = set()
    if not released:
        return dropped
    last_used: dict[str, int] = {}
    for rows in _row_pages(session, until, (CHANGE_USED, CHANGE_RELEASED)):
        for seq, kind, body in rows:
            code = json.loads(body)["code"]
            if code not in released:
                continue
            if kind == CHANGE_USED:
                last_used[code] = seq
            else:
                dropped.add(seq)
                undone = last_used.pop(code, None)
                if undone is not None:
                    dropped.add(undone)
    return dropped


def last_sequence(hub: Hub) -> int:
    with read_session(hub.engine) as session:
        return session.exec(select(func.max(HubChange.seq))).one() or 0
