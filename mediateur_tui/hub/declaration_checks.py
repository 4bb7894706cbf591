"""Structural checks of a received pn-declaration/1, with French messages
(schema/declaration.schema.json).

Its sessions and redemption lines are exactly those of pn-batch/1, checked by the same code
(hub.batch_checks). Signatures are checked elsewhere (hub.declarations).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mediateur_tui.hub.batch_checks import redemption_line, session_ids
from mediateur_tui.hub.reconcile import LineIn
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import DECLARATION, MAX_DECLARATION_LINES
from mediateur_tui.protocol.ids import IDENTIFIER, RANDOM_ID, matches
from mediateur_tui.protocol.instants import instant_or_none

OF_DECLARATION = "de la déclaration"
MAX_CANCEL_REASON = 200


@dataclass(frozen=True)
class CancellationIn:
    redemption_id: str
    cancelled_at: datetime
    reason: str


@dataclass(frozen=True)
class DeclarationIn:
    """What a checked declaration holds: its lines (with the objects as sent and their
    sessions, by session id) and its cancellations, in the document's order."""

    declared_at: datetime
    lines: list[LineIn]
    items: list[dict[str, Any]]
    sessions: dict[int, dict[str, Any]]
    cancellations: list[CancellationIn]


def check_declaration(document: dict[str, Any], region_id: str) -> DeclarationIn:
    """The declaration's content, or ProtocolError saying in French what is wrong."""
    if not isinstance(document, dict) or document.get("format") != DECLARATION:
        raise ProtocolError(f"Déclaration attendue (format {DECLARATION}).")
    if not matches(RANDOM_ID, document.get("declaration_id")):
        raise ProtocolError("Identifiant de déclaration (declaration_id) absent ou invalide.")
    if document.get("region_id") != region_id:
        raise ProtocolError(
            f"Cette déclaration est destinée à la région « {document.get('region_id')} », "
            f"pas à {region_id}."
        )
    if not matches(IDENTIFIER, document.get("site_id")):
        raise ProtocolError("Site de la déclaration (site_id) absent ou invalide.")
    declared_at = instant_or_none(document.get("declared_at"))
    if declared_at is None:
        raise ProtocolError("Date de la déclaration (declared_at) invalide.")
    for name in ("sessions", "redemptions", "cancellations"):
        if not isinstance(document.get(name), list):
            raise ProtocolError(f"Liste « {name} » absente de la déclaration.")
    redemptions, cancellations = document["redemptions"], document["cancellations"]
    if len(redemptions) > MAX_DECLARATION_LINES or len(cancellations) > MAX_DECLARATION_LINES:
        raise ProtocolError(
            f"Déclaration trop longue : {MAX_DECLARATION_LINES} encaissements et "
            f"{MAX_DECLARATION_LINES} annulations au plus."
        )
    if not redemptions and not cancellations:
        raise ProtocolError("Déclaration vide : ni encaissement ni annulation.")
    ids = session_ids(document["sessions"], OF_DECLARATION)
    lines = [
        redemption_line(index, item, ids, OF_DECLARATION) for index, item in enumerate(redemptions)
    ]
    sessions = {session["id"]: session for session in document["sessions"]}
    return DeclarationIn(
        declared_at=declared_at,
        lines=lines,
        items=list(redemptions),
        sessions=sessions,
        cancellations=[_cancellation(number, item) for number, item in enumerate(cancellations)],
    )


def _cancellation(index: int, item: object) -> CancellationIn:
    where = f"Annulation n° {index + 1} de la déclaration"
    if not isinstance(item, dict):
        raise ProtocolError(f"{where} : ce n'est pas une annulation.")
    redemption_id = item.get("redemption_id")
    if not matches(RANDOM_ID, redemption_id):
        raise ProtocolError(f"{where} : identifiant d'encaissement absent ou invalide.")
    assert isinstance(redemption_id, str)  # matches() checked it
    cancelled_at = instant_or_none(item.get("cancelled_at"))
    if cancelled_at is None:
        raise ProtocolError(f"{where} : date d'annulation invalide (ISO 8601 avec fuseau).")
    reason = item.get("reason")
    if not isinstance(reason, str) or not 1 <= len(reason) <= MAX_CANCEL_REASON:
        raise ProtocolError(
            f"{where} : motif absent ou trop long ({MAX_CANCEL_REASON} caractères au plus)."
        )
    return CancellationIn(redemption_id, cancelled_at, reason)
