"""The region's keys as this site trusts them: the first key of its enrolment (or of its first
replica file), followed through the key sets that enrolment answers, replica pages and
snapshots carry (protocol/key_sets.py). The latest set followed is kept in
`replica_meta.region_key_set`; every region document is verified with the key it names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mediateur_tui.domain.region_keys import RegionKeys
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.key_sets import follow_key_sets, trusted_keys, verify_region_document
from mediateur_tui.store.models import ReplicaMeta


@dataclass(frozen=True)
class FollowedKeys:
    """The keys trusted once a document's key sets are followed, and the newest set to keep
    (JSON; None when the document brought no new one)."""

    keys: RegionKeys
    newest_set: str | None


def trusted_region_keys(meta: ReplicaMeta | None) -> RegionKeys | None:
    """The region keys this site trusts; None when it knows no region key yet."""
    if meta is None:
        return None
    return trusted_keys(meta.region_public_key, meta.region_key_set, meta.region_id)


def verify_from_region(document: dict[str, Any], meta: ReplicaMeta | None, unknown: str) -> None:
    """Raises ProtocolError unless the region signed `document` with a key this site trusts;
    `unknown` says what cannot be done when the site knows no region key yet."""
    keys = trusted_region_keys(meta)
    if meta is None or keys is None:
        raise ProtocolError(unknown)
    verify_region_document(document, keys, meta.region_id)


def follow_document_key_sets(
    trusted: RegionKeys, document: dict[str, Any], region_id: str
) -> FollowedKeys:
    """The keys after the key sets of `document` (field `key_sets`; a hub from before key sets
    sends none), each checked against the set before it."""
    documents = document.get("key_sets", [])
    if not isinstance(documents, list):
        raise ProtocolError("Document de la région mal formé : « key_sets » invalide.")
    keys, accepted = follow_key_sets(trusted, region_id, documents)
    newest = json.dumps(accepted[-1], ensure_ascii=False) if accepted else None
    return FollowedKeys(keys, newest)


def keep_followed(meta: ReplicaMeta, followed: FollowedKeys) -> None:
    """Keeps the newest set followed in `meta`, under the caller's write lock (another sync may
    have kept a newer one meanwhile: the newer stays)."""
    if followed.newest_set is None:
        return
    current = trusted_region_keys(meta)
    if current is None or followed.keys.sequence > current.sequence:
        meta.region_key_set = followed.newest_set
