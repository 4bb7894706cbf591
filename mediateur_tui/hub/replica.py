"""Replica publication: signed pages of the change log after a cursor, and whole snapshots.

A page's `until` is the sequence number of its last change (the cursor to send next); a
snapshot holds every change from the start (but passes released after their `used` change:
`_dropped`) and the region's first public key, for a USB key, as JSON Lines sealed by a
signed digest (pn-replica-snapshot/2, protocol/snapshot_lines.py), or on demand as the one
signed document a site of 3 December 2026 or earlier reads (pn-replica-snapshot/1). Both carry
every key set the region published (hub.region_keys) and are signed by the key in service
(a snapshot /2: its seal).
Carnets carry their codes as a list, so a pass costs about 12 bytes on the wire, gzip'd; a
page /2, for a site that asks for it, carries them in one string without their check symbols
(about 10.3 bytes a pass).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any, cast

from sqlmodel import Session, col, func, select

from mediateur_tui.domain.clock import system_clock
from mediateur_tui.hub.database import Hub, read_session
from mediateur_tui.hub.errors import HubError
from mediateur_tui.hub.models import HubChange
from mediateur_tui.hub.region_keys import key_set_documents
from mediateur_tui.protocol.documents import GZIP_LEVEL, dump_json, readable_size
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import (
    CHANGE_RELEASED,
    CHANGE_USED,
    MAX_DOCUMENT_BYTES,
    REPLICA_PAGE,
    REPLICA_PAGE_COMPACT,
    REPLICA_SNAPSHOT,
    REPLICA_SNAPSHOT_LINES,
)
from mediateur_tui.protocol.instants import iso_instant
from mediateur_tui.protocol.replica_pages import compact_changes
from mediateur_tui.protocol.signing import (
    canonical_bytes,
    encode_key,
    region_signer,
    sign_document,
)
from mediateur_tui.protocol.snapshot_lines import SnapshotWriter

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


def write_snapshot(
    hub: Hub, out: IO[bytes], snapshot_format: str = REPLICA_SNAPSHOT_LINES
) -> Exported:
    """Writes to `out` the snapshot, gzip'd: every change, but a pass's `released` change and
    the `used` change it undoes (see `_dropped`), with the region's first public key. As a
    pn-replica-snapshot/2 (protocol/snapshot_lines.py), sealed by the region; or, for a site
    of 3 December 2026 or earlier, which reads only that (it calls a /2 « Fichier illisible : ce
    n'est pas un document JSON valide. »), as the signed pn-replica-snapshot/1.

    The change log is read in pages, up to the last sequence number read first, in one read
    transaction, and each page written as it comes: no more than a page is held as Python
    objects. For a /2 the region signs the seal, which holds the digest of the lines written
    before it; for a /1, the canonical bytes of the whole document (`_write_v1`).
    """
    generated_at = system_clock()  # before the read: every change up to it is in it
    with read_session(hub.engine) as session, session.begin():
        until = session.exec(select(func.max(HubChange.seq))).one() or 0
        head = {
            "format": snapshot_format,
            "region_id": hub.region_id,
            "region_public_key": encode_key(hub.region_public_key),
            "until": until,
            "generated_at": iso_instant(generated_at),
        }
        key_sets = key_set_documents(session)
        pages = _pages(session, until, _dropped(session, until))
        if snapshot_format == REPLICA_SNAPSHOT:
            return Exported(changes=_write_v1(hub, out, head, key_sets, pages), until=until)
        writer = SnapshotWriter(out, {**head, "key_sets": key_sets})
        for page in pages:
            writer.write_changes(page)
    writer.finish(sign_document(writer.seal(), hub.region_key, region_signer(hub.region_id)))
    return Exported(changes=writer.count, until=until)


def _write_v1(
    hub: Hub,
    out: IO[bytes],
    head: dict[str, Any],
    key_sets: list[dict[str, Any]],
    pages: Iterator[list[str]],
) -> int:
    """Writes the signed pn-replica-snapshot/1 (`head`, then its changes, key sets and
    signature): the bytes `dump_gzip_json` gives of the document; how many changes. A
    HubError when the document grows past the format's cap, which every site refuses.

    What Ed25519 signs is kept as compact bytes (about 25 bytes a pass: the canonical JSON
    of the changes), since the library signs a message it holds whole; the signature comes
    last in the document, once all of it is written.
    """
    canonical_rest = canonical_bytes({**head, "key_sets": key_sets})
    assert canonical_rest[:2] == b'{"' and all(key > "changes" for key in head)
    canonical_tail = b"]," + canonical_rest[1:]  # "changes" sorts first
    zipped = _Gzipped(out)
    zipped.write(dump_json(head)[:-1] + b',"changes":[')
    written = _Written(zipped)
    signed = bytearray()
    for chunk in _canonical_changes(pages, canonical_tail, written):
        signed += chunk
    value = hub.region_key.sign(signed)  # the library reads the buffer: no copy
    del signed
    signature = {
        "signer": region_signer(hub.region_id),
        "value": encode_key(value),
        "kid": hub.region_kid,
    }
    zipped.write(b"]," + dump_json({"key_sets": key_sets, "signature": signature})[1:])
    zipped.finish()
    return written.count


class _Gzipped:
    """Gzip as it comes: the bytes `dump_gzip_json`'s `gzip.compress` gives for all of it
    (zlib's own gzip header, as that call writes; zlib's output does not depend on how its
    input is cut). It counts the bytes before compression: a snapshot /1 past its format's
    cap is refused by every site once decompressed, so it is not written."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # 31: a gzip header
        self.size = 0

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > MAX_DOCUMENT_BYTES[REPLICA_SNAPSHOT]:
            raise _too_large_for_v1()
        self.out.write(self.compressor.compress(data))

    def finish(self) -> None:
        self.out.write(self.compressor.flush())


class _Written:
    """The changes of the snapshot /1 as they are written: each one's stored body, the very
    text `dump_json` gives of it (hub.changes.encode_change)."""

    def __init__(self, out: _Gzipped) -> None:
        self.out = out
        self.count = 0

    def write(self, bodies: list[str]) -> None:
        separator = "," if self.count else ""
        self.out.write((separator + ",".join(bodies)).encode("utf-8"))
        self.count += len(bodies)


def _canonical_changes(
    pages: Iterator[list[str]], tail: bytes, written: _Written
) -> Iterator[bytes]:
    """The snapshot /1's canonical bytes (what is signed), page by page, each page written
    too."""
    yield b'{"changes":['
    first = True
    for page in pages:
        if not page:
            continue
        canonical = (canonical_bytes(json.loads(body)) for body in page)
        yield (b"" if first else b",") + b",".join(canonical)
        first = False
        written.write(page)
    yield tail


def _too_large_for_v1() -> HubError:
    cap = readable_size(MAX_DOCUMENT_BYTES[REPLICA_SNAPSHOT])
    return HubError(
        f"Réplique trop grande pour le format 1 : un {REPLICA_SNAPSHOT} fait au plus {cap} "
        "une fois décompressé, et aucun poste ne lirait celle-ci. Rien n'a été écrit. "
        "Exportez-la au format 2 (--format 2, par défaut) et mettez à jour les postes d'une "
        "version du 3 décembre 2026 ou d'avant."
    )


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
