"""Rulebook versions the region publishes without a software release.

`publish_rulebook` checks a pn-rulebook/1 as strictly as a shipped file (domain
.published_rulebooks), keeps it in `hub_rulebook` and appends a `rulebook` change carrying it
signed by the region, so that every site learns it with its replica. A version is never edited
once published: the same id with another content is refused, the same file again changes
nothing.

The hub judges attributions with the shipped versions and the published ones together
(`region_rulebooks`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from mediateur_tui.domain.clock import system_clock
from mediateur_tui.domain.published_rulebooks import check_rulebook_shape, with_published
from mediateur_tui.domain.rulebooks import (
    Rulebook,
    RulebookError,
    default_rulebooks,
    rulebook_from_json,
)
from mediateur_tui.hub.changes import append_changes
from mediateur_tui.hub.database import Hub, read_session, write_session
from mediateur_tui.hub.models import HubRulebook
from mediateur_tui.protocol.formats import CHANGE_RULEBOOK
from mediateur_tui.protocol.signing import region_signer, sign_document

MAX_RULEBOOK_BYTES = 1024 * 1024  # a rulebook is a few KiB


@dataclass(frozen=True)
class Publication:
    rulebook: Rulebook
    new: bool  # False: this very version was already published (nothing done)


def read_rulebook_file(path: Path) -> Any:
    """The parsed JSON of a rulebook file (not yet checked); RulebookError in French."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_RULEBOOK_BYTES + 1)
    except FileNotFoundError as error:
        raise RulebookError(f"Fichier introuvable : {path}.") from error
    except OSError as error:
        raise RulebookError(f"Fichier illisible : {path} ({error.strerror}).") from error
    if len(data) > MAX_RULEBOOK_BYTES:
        raise RulebookError(f"{path.name} : un règlement fait au plus 1 Mo.")
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as error:  # ValueError: not UTF-8 or JSON, 4,301 digits
        raise RulebookError(f"Règlement illisible : {path.name} (JSON invalide).") from error


def publish_rulebook(hub: Hub, document: Any) -> Publication:
    """Publishes a pn-rulebook/1 (RulebookError, nothing published, when it cannot be)."""
    if not isinstance(document, dict):
        raise RulebookError("un règlement est un objet JSON.")
    check_rulebook_shape(document)
    book = rulebook_from_json(document)
    content = _content(document)
    with write_session(hub.engine) as session:
        stored = session.get(HubRulebook, book.id)
        if stored is not None:
            if stored.document != content:
                raise RulebookError(
                    f"Le règlement {book.id} est déjà publié avec un autre contenu : une "
                    "version publiée n'est jamais modifiée. Donnez un nouvel identifiant à la "
                    "nouvelle version."
                )
            return Publication(book, new=False)
        with_published(default_rulebooks(), [*published_rulebooks(session), book])
        now = system_clock()
        session.add(
            HubRulebook(
                id=book.id,
                effective_from=book.effective_from,
                title=book.title,
                document=content,
                published_at=now,
            )
        )
        signed = sign_document(document, hub.region_key, region_signer(hub.region_id))
        append_changes(session, [rulebook_change(signed)], now)
    return Publication(book, new=True)


def rulebook_change(signed: dict[str, Any]) -> dict[str, Any]:
    """The replica change of a published version: the whole document, signed by the region."""
    return {"t": CHANGE_RULEBOOK, "id": signed["id"], "document": signed}


def published_rulebooks(session: Session) -> list[Rulebook]:
    rows = session.exec(select(HubRulebook.document)).all()
    return [rulebook_from_json(json.loads(document)) for document in rows]


def region_rulebooks(session: Session) -> list[Rulebook]:
    """The versions the hub judges by: the shipped ones and the published ones."""
    return with_published(default_rulebooks(), published_rulebooks(session))


def list_rulebooks(hub: Hub) -> list[HubRulebook]:
    """The published versions, by the day they take effect."""
    with read_session(hub.engine) as session:
        return list(
            session.exec(select(HubRulebook).order_by(col(HubRulebook.effective_from))).all()
        )


def _content(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
