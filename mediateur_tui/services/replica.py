"""Applying the region's replica pages and snapshots to the site's replica tables.

Both carry the region's key sets (`key_sets`): the site follows them from the keys it trusts
(services/region_keys.py) before it verifies the document with the key it names, and keeps the
newest set in the same transaction as the changes.

A page (pn-replica-page/1, or /2 whose carnets carry their codes compactly: its changes are
read back as a page /1's, protocol/replica_pages.py) is verified with the region's keys, as it
was signed, then its changes, its `until`
cursor and, for the last page of a pull (`more` false), its `generated_at` (the replica's
`updated_at`) are written in ONE transaction: a cut between two pages loses nothing, and the
next run resumes from the stored cursor. Every change is an upsert, and a page whose `until`
is not beyond the stored cursor is not applied again, so re-applying a page changes nothing.

A snapshot (a file on a USB key) carries every change from the start and the region's first
public key. A site that has no region key yet trusts that key on first use (the caller shows its
fingerprint, to compare with the region's); a snapshot of a region whose first key is not the
stored one is refused. A pn-replica-snapshot/2 (protocol/snapshot_lines.py, what the hub writes
by default) is read a line at a time: its changes are written as they come, in ONE transaction
that commits only once its seal verifies (count, digest, the region's signature); a
pn-replica-snapshot/1 (a single signed document, from an older hub or `export-replica --format
1`) is read whole and verified before anything is written.

Rulebooks the region published (`rulebook` changes) are verified first, signature and content
(services/published_rulebooks.py): one that does not verify refuses the whole document.

The rows themselves are written by store/replica.py.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from mediateur_tui.domain.region_keys import RegionKeys
from mediateur_tui.domain.signatures import key_fingerprint
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.files import opened_document_file, read_document_file
from mediateur_tui.protocol.formats import (
    CHANGE_RULEBOOK,
    REPLICA_PAGE,
    REPLICA_PAGE_COMPACT,
    REPLICA_SNAPSHOT,
    REPLICA_SNAPSHOT_LINES,
)
from mediateur_tui.protocol.instants import parse_instant
from mediateur_tui.protocol.key_sets import verify_region_document
from mediateur_tui.protocol.replica_pages import expand_changes
from mediateur_tui.protocol.signing import decode_key
from mediateur_tui.protocol.snapshot_lines import (
    NotSnapshotLines,
    SnapshotReader,
    is_rewritten_head,
    rewritten_head,
)
from mediateur_tui.services.published_rulebooks import (
    check_received_rulebooks,
    check_rulebook_changes,
    stored_rulebooks,
)
from mediateur_tui.services.region_keys import (
    FollowedKeys,
    follow_document_key_sets,
    keep_followed,
    trusted_region_keys,
)
from mediateur_tui.store import queries
from mediateur_tui.store import replica as replica_tables
from mediateur_tui.store.engine import writer
from mediateur_tui.store.models import ReplicaMeta, SyncState
from mediateur_tui.store.sync_state import sync_state
from mediateur_tui.sync.errors import SyncError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplicaApplied:
    """What applying one page or snapshot did."""

    format: str
    region_id: str
    changes: int  # changes in the document
    applied: bool  # False: already applied (the stored cursor was at or past its `until`)
    cursor: int  # the stored cursor afterwards
    more: bool  # a page says another one follows
    pass_count: int
    updated_at: datetime | None
    trusted_key_fingerprint: str | None = None  # a region key trusted on first use


def import_replica_file(engine: Engine, path: Path, site_id: str | None = None) -> ReplicaApplied:
    """Verifies and applies a snapshot file: a pn-replica-snapshot/2 a line at a time, a
    pn-replica-snapshot/1 whole (`.json.gz` or plain JSON). A file is a /1 only when it does
    not begin as a /2 (snapshot_lines.HEAD_START): a /2 damaged in its first line is
    refused as such, not read again as a /1; nor is one whose head was re-encoded, when the
    file then fails to be read as a /1."""
    with opened_document_file(path) as stream:
        try:
            reader = SnapshotReader(stream)
        except NotSnapshotLines:
            reader = None
        if reader is not None:
            return apply_snapshot_lines(engine, reader, site_id)
    try:
        document = read_replica_file(path)
    except ProtocolError as error:
        if _has_rewritten_head(path):
            raise rewritten_head() from error
        raise
    return apply_snapshot(engine, document, site_id)


def _has_rewritten_head(path: Path) -> bool:
    try:
        with opened_document_file(path) as stream:
            return is_rewritten_head(stream)
    except ProtocolError:  # the file gone or unreadable since: the first error is the one said
        return False


def read_replica_file(path: Path) -> dict[str, Any]:
    """A pn-replica-snapshot/1 file (`.json.gz` or plain JSON), parsed but not yet verified."""
    return read_document_file(path, REPLICA_SNAPSHOT)


def apply_page(engine: Engine, page: dict[str, Any]) -> ReplicaApplied:
    """Verifies a pn-replica-page/1 or /2 with the stored region key and applies it (one
    transaction); a page /2's compact carnets are read back into the same rows."""
    page_format = _check_format(page, REPLICA_PAGE, REPLICA_PAGE_COMPACT)
    with Session(engine) as session:
        meta = queries.replica_meta(session)
    trusted = trusted_region_keys(meta)
    if meta is None or meta.region_public_key is None or trusted is None:
        raise ProtocolError(
            "La clé de la région est inconnue sur ce poste : inscrivez-le (enrol) ou importez "
            "d'abord une réplique complète (import-replica)."
        )
    region_id, region_key = meta.region_id, meta.region_public_key
    if page.get("region_id") != region_id:
        raise ProtocolError(
            f"Cette page de réplique vient de la région « {page.get('region_id')} », "
            f"or ce poste dépend de la région « {region_id} » : refusée."
        )
    followed = follow_document_key_sets(trusted, page, region_id)
    verify_region_document(page, followed.keys, region_id)
    since, until = _count(page, "since"), _count(page, "until")
    more = page.get("more")
    if not isinstance(more, bool):
        raise ProtocolError("Page de réplique mal formée : champ « more » manquant.")
    if until < since:
        raise ProtocolError("Page de réplique mal formée : « until » précède « since ».")
    generated_at = parse_instant(page.get("generated_at"), "generated_at")
    changes = _changes(page)
    if page_format == REPLICA_PAGE_COMPACT:
        changes = expand_changes(changes)
    check_rulebook_changes(engine, changes, followed.keys, region_id)

    with Session(writer(engine)) as session:
        meta = _same_region_meta(session, region_id, region_key)
        state = sync_state(session)
        cursor = state.replica_cursor
        if since > cursor:
            raise ProtocolError(
                f"Page de réplique hors séquence : elle commence après le changement n° {since}, "
                f"la réplique locale s'arrête au n° {cursor}. Relancez la synchronisation."
            )
        applied = until > cursor
        if applied:
            replica_tables.apply_changes(session.connection(), changes, meta.site_id)
        keep_followed(meta, followed)
        state.replica_cursor = max(cursor, until)
        _refresh_meta(session, meta, generated_at, complete=not more)
        session.add(state)
        result = ReplicaApplied(
            format=page_format,
            region_id=region_id,
            changes=len(changes),
            applied=applied,
            cursor=state.replica_cursor,
            more=more,
            pass_count=meta.pass_count,
            updated_at=meta.updated_at,
        )
        session.commit()
    log.info("replica page %s..%s applied=%s (%s changes)", since, until, applied, len(changes))
    return result


def apply_snapshot(
    engine: Engine, snapshot: dict[str, Any], site_id: str | None = None
) -> ReplicaApplied:
    """Verifies a pn-replica-snapshot/1 and applies it (one transaction).

    On a site that has no region key yet, the snapshot's key is trusted on first use and its
    fingerprint returned; `site_id` says which site this is when the database has no replica.
    """
    _check_format(snapshot, REPLICA_SNAPSHOT)
    start = _snapshot_start(engine, snapshot, site_id)
    verify_region_document(snapshot, start.followed.keys, start.region_id)
    changes = _changes(snapshot)
    check_rulebook_changes(engine, changes, start.followed.keys, start.region_id)
    with Session(writer(engine)) as session:
        target = _snapshot_target(session, start)
        if target.applied:
            replica_tables.apply_changes(session.connection(), changes, target.site_id)
        result = _finish_snapshot(session, start, target, REPLICA_SNAPSHOT, len(changes))
    return result


def apply_snapshot_lines(
    engine: Engine, reader: SnapshotReader, site_id: str | None = None
) -> ReplicaApplied:
    """Verifies a pn-replica-snapshot/2 and applies it in ONE transaction, its changes
    written as they are read: it commits only once the seal verifies, nothing stays
    otherwise. The write lock is held while the file is read (a known limit: a desk's
    redemption waits meanwhile, docs/protocol.md). First use of a region key and `site_id`:
    as `apply_snapshot`."""
    start = _snapshot_start(engine, reader.head, site_id)
    stored = stored_rulebooks(engine)  # before the write lock, as `check_rulebook_changes`
    rulebooks: list[dict[str, Any]] = []
    with Session(writer(engine)) as session:
        target = _snapshot_target(session, start)
        changes = _noting_rulebooks(reader.changes(), rulebooks)
        try:
            if target.applied:
                replica_tables.apply_changes(session.connection(), changes, target.site_id)
        except ProtocolError:
            if not reader.done:  # a change refused: if the file was changed, say that
                _check_sealed(reader, changes, start)
            raise
        _check_sealed(reader, changes, start)
        check_received_rulebooks(stored, rulebooks, start.followed.keys, start.region_id)
        count = reader.seal["changes"]
        result = _finish_snapshot(session, start, target, REPLICA_SNAPSHOT_LINES, count)
    return result


@dataclass(frozen=True)
class _SnapshotStart:
    """What a snapshot's head says, checked against the site before the write lock."""

    region_id: str
    region_key: bytes
    site_id: str | None  # the site named for a first import
    until: int
    generated_at: datetime
    followed: FollowedKeys
    trusted_on_first_use: bool


@dataclass(frozen=True)
class _SnapshotTarget:
    """The site a snapshot is applied to, read under the write lock."""

    meta: ReplicaMeta | None
    site_id: str
    state: SyncState
    applied: bool


def _snapshot_start(engine: Engine, head: dict[str, Any], site_id: str | None) -> _SnapshotStart:
    region_id = head.get("region_id")
    if not isinstance(region_id, str) or not region_id:
        raise ProtocolError("Réplique mal formée : identifiant de région manquant.")
    region_key = decode_key(str(head.get("region_public_key", "")))
    with Session(engine) as session:
        meta = queries.replica_meta(session)
        known = (meta.region_id, meta.region_public_key, meta.site_id) if meta else None
    if known is not None:
        _check_snapshot_identity(known, region_id, region_key, site_id)
    elif not site_id:
        raise SyncError(
            "Premier import d'une réplique sur ce poste : indiquez l'identifiant de ce lieu "
            "(--site IDENTIFIANT, tel que la région l'a enregistré)."
        )
    known_keys = trusted_region_keys(meta) or RegionKeys.first_key_only(region_key)
    return _SnapshotStart(
        region_id=region_id,
        region_key=region_key,
        site_id=site_id,
        until=_count(head, "until"),
        generated_at=parse_instant(head.get("generated_at"), "generated_at"),
        followed=follow_document_key_sets(known_keys, head, region_id),
        trusted_on_first_use=known is None or known[1] is None,
    )


def _snapshot_target(session: Session, start: _SnapshotStart) -> _SnapshotTarget:
    meta = queries.replica_meta(session)
    if meta is not None:
        known = (meta.region_id, meta.region_public_key, meta.site_id)
        _check_snapshot_identity(known, start.region_id, start.region_key, None)
    here = meta.site_id if meta is not None else start.site_id
    assert here is not None  # a first import names its site (checked before)
    state = sync_state(session)
    return _SnapshotTarget(meta, here, state, start.until > state.replica_cursor or meta is None)


def _finish_snapshot(
    session: Session, start: _SnapshotStart, target: _SnapshotTarget, kind: str, changes: int
) -> ReplicaApplied:
    """Records the snapshot's region, keys, cursor and date, and commits."""
    meta, state = target.meta, target.state
    if meta is None:
        meta = ReplicaMeta(
            region_id=start.region_id, region_public_key=start.region_key, site_id=target.site_id
        )
        _require_site(session, target.site_id)
    elif meta.region_public_key is None:
        meta.region_public_key = start.region_key
    keep_followed(meta, start.followed)
    state.replica_cursor = max(state.replica_cursor, start.until)
    _refresh_meta(session, meta, start.generated_at)
    session.add(state)
    result = ReplicaApplied(
        format=kind,
        region_id=start.region_id,
        changes=changes,
        applied=target.applied,
        cursor=state.replica_cursor,
        more=False,
        pass_count=meta.pass_count,
        updated_at=meta.updated_at,
        trusted_key_fingerprint=(
            key_fingerprint(start.region_key) if start.trusted_on_first_use else None
        ),
    )
    session.commit()
    log.info(
        "replica snapshot %s until %s applied=%s (%s changes)",
        kind,
        start.until,
        target.applied,
        changes,
    )
    return result


def _check_sealed(
    reader: SnapshotReader, changes: Iterator[dict[str, Any]], start: _SnapshotStart
) -> None:
    """Reads the rest of the changes (none, once they are applied), then verifies the seal:
    ProtocolError unless the region sealed these very lines."""
    deque(changes, maxlen=0)
    verify_region_document(reader.seal, start.followed.keys, start.region_id)


def _noting_rulebooks(
    changes: Iterator[dict[str, Any]], rulebooks: list[dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    """`changes`, the `rulebook` ones also added to `rulebooks` (checked once all are read)."""
    for change in changes:
        if change.get("t") == CHANGE_RULEBOOK:
            rulebooks.append(change)
        yield change


# --- checks ---------------------------------------------------------------------------------


def _check_format(document: Any, *expected: str) -> str:
    """The document's format, one of `expected`."""
    found = document.get("format") if isinstance(document, dict) else None
    if found not in expected:
        wanted = " ou ".join(expected)
        raise ProtocolError(f"Document inattendu : {wanted} attendu, « {found} » reçu.")
    return str(found)


def _check_snapshot_identity(
    known: tuple[str, bytes | None, str], region_id: str, region_key: bytes, site_id: str | None
) -> None:
    known_region, known_key, known_site = known
    if region_id != known_region:
        raise ProtocolError(
            f"Cette réplique est celle de la région « {region_id} », or ce poste dépend de la "
            f"région « {known_region} » : refusée."
        )
    if known_key is not None and known_key != region_key:
        raise ProtocolError(
            "Cette réplique est signée par une autre clé que celle de la région enregistrée sur "
            f"ce poste (empreinte attendue {key_fingerprint(known_key)}, reçue "
            f"{key_fingerprint(region_key)}) : refusée."
        )
    if site_id and site_id != known_site:
        raise SyncError(
            f"Ce poste est déjà le lieu « {known_site} » : il ne peut pas devenir « {site_id} »."
        )


def _same_region_meta(session: Session, region_id: str, region_key: bytes) -> ReplicaMeta:
    """The replica_meta row, re-read under the write lock: still the region we verified with."""
    meta = queries.replica_meta(session)
    if meta is None or meta.region_id != region_id or meta.region_public_key != region_key:
        raise ProtocolError("La région de ce poste a changé pendant la mise à jour : réessayez.")
    return meta


def _require_site(session: Session, site_id: str) -> None:
    if not replica_tables.site_exists(session.connection(), site_id):
        raise SyncError(
            f"Le lieu « {site_id} » n'est pas dans le registre de cette région : vérifiez "
            "l'identifiant (réplique non importée).",
            field="site_id",
        )


def _count(document: dict[str, Any], name: str) -> int:
    value = document.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProtocolError(f"Document de réplique mal formé : « {name} » invalide.")
    return value


def _changes(document: dict[str, Any]) -> list[dict[str, Any]]:
    changes = document.get("changes")
    if not isinstance(changes, list):
        raise ProtocolError("Document de réplique mal formé : liste de changements manquante.")
    return changes


def _refresh_meta(
    session: Session, meta: ReplicaMeta, generated_at: datetime, complete: bool = True
) -> None:
    """The replica's date moves only with a document after which nothing more was waiting
    (the last page of a pull, or a snapshot): a pass of a page not yet pulled must not look
    issued after the replica was made (domain/region_keys.py)."""
    if complete and (meta.updated_at is None or generated_at > meta.updated_at):
        meta.updated_at = generated_at
    meta.pass_count = replica_tables.pass_count(session.connection())
    session.add(meta)
