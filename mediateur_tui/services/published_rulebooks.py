"""The rulebooks the region published after this release, as the site receives and uses them.

A replica page or snapshot may hold `rulebook` changes, each carrying a pn-rulebook/1 signed
by the region. Before anything of the document is written (`check_rulebook_changes`), every
one must verify under a region key this site trusts and pass the checks of a shipped rule
file (domain.published_rulebooks), and the versions shipped, already received and new must
fit together (no id with two contents, no two versions on the same day); otherwise the whole
page or snapshot is refused with a French message.

The site decides carnet requests by the shipped versions and the published ones
(`site_rulebooks`, `rulebooks_in_force`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from mediateur_tui.domain.published_rulebooks import published_rulebook, with_published
from mediateur_tui.domain.region_keys import RegionKeys
from mediateur_tui.domain.rulebooks import Rulebook, RulebookError, default_rulebooks
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import CHANGE_RULEBOOK
from mediateur_tui.protocol.key_sets import verify_region_document
from mediateur_tui.store import replica as replica_tables
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.sqlite_file import database_path

REFUSED = "la réplique est refusée, rien n'a été modifié"


def check_rulebook_changes(
    engine: Engine, changes: list[Any], keys: RegionKeys, region_id: str
) -> None:
    """Raises ProtocolError (French) unless every `rulebook` change of `changes` is a usable
    rulebook signed by the region and fits with the versions this site already has."""
    check_received_rulebooks(stored_rulebooks(engine), changes, keys, region_id)


def check_received_rulebooks(
    stored: list[Rulebook], changes: list[Any], keys: RegionKeys, region_id: str
) -> None:
    """`check_rulebook_changes` against the versions `stored` (read before a write began)."""
    received = [
        _received_rulebook(change, keys, region_id)
        for change in changes
        if isinstance(change, dict) and change.get("t") == CHANGE_RULEBOOK
    ]
    if not received:
        return
    try:
        with_published(default_rulebooks(), [*stored, *received])
    except RulebookError as error:
        raise ProtocolError(f"Règlement publié par la région : {error} ({REFUSED}).") from error


def site_rulebooks(engine: Engine) -> list[Rulebook]:
    """The versions this site decides by: the shipped ones and those the region published."""
    return with_published(default_rulebooks(), stored_rulebooks(engine))


def rulebooks_in_force(data_dir: Path) -> list[Rulebook]:
    """`site_rulebooks` of the site in `data_dir`; the shipped versions when it has no
    database yet (nothing received from the region)."""
    path = database_path(data_dir)
    if not path.exists():
        return list(default_rulebooks())
    engine = open_database(path)
    try:
        return site_rulebooks(engine)
    finally:
        engine.dispose()


def stored_rulebooks(engine: Engine) -> list[Rulebook]:
    with engine.connect() as connection:
        documents = replica_tables.published_rulebook_documents(connection)
    return [published_rulebook(json.loads(document)) for document in documents]


def _received_rulebook(change: dict[str, Any], keys: RegionKeys, region_id: str) -> Rulebook:
    named = change.get("id")
    document = change.get("document")
    if not isinstance(document, dict) or document.get("id") != named:
        raise ProtocolError(f"Règlement publié {named!r} mal formé ({REFUSED}).")
    try:
        verify_region_document(document, keys, region_id)
    except ProtocolError as error:
        raise ProtocolError(
            f"Le règlement {named} n'est pas signé par la région : {error} ({REFUSED})."
        ) from error
    try:
        return published_rulebook(document)
    except RulebookError as error:
        raise ProtocolError(
            f"Le règlement {named} publié par la région est inutilisable : {error} ({REFUSED})."
        ) from error
