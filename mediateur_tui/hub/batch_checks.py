"""Structural checks of a received pn-batch/1, with French messages (schema/batch.schema.json).

The checks of a session and of a redemption line are shared with pn-declaration/1
(hub.declaration_checks), whose objects are exactly the batch's.

The hub does not depend on a JSON Schema validator at run time: these checks cover what the
reconciliation and the acknowledgement rely on, so that every acknowledgement the hub signs
conforms to schema/ack.schema.json. Signatures are checked elsewhere (hub.intake).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeGuard

from mediateur_tui.hub.reconcile import LineIn
from mediateur_tui.protocol.activity import ActivitySummary, parse_summary
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import BATCH
from mediateur_tui.protocol.ids import IDENTIFIER, PASS_CODE, PERIOD, RANDOM_ID, SHA256_HEX, matches
from mediateur_tui.protocol.instants import instant_or_none

MAX_LINES = 200_000
OF_BATCH = "de la remise"


def check_structure(document: dict[str, Any], region_id: str) -> list[LineIn]:
    """The batch's redemption lines, or ProtocolError saying in French what is wrong."""
    if not isinstance(document, dict) or document.get("format") != BATCH:
        raise ProtocolError(f"Remise attendue (format {BATCH}).")
    if not matches(RANDOM_ID, document.get("batch_id")):
        raise ProtocolError("Identifiant de remise (batch_id) absent ou invalide.")
    if document.get("region_id") != region_id:
        raise ProtocolError(
            f"Cette remise est destinée à la région « {document.get('region_id')} », "
            f"pas à {region_id}."
        )
    if not matches(IDENTIFIER, document.get("site_id")):
        raise ProtocolError("Site de la remise (site_id) absent ou invalide.")
    if not matches(PERIOD, document.get("period")):
        raise ProtocolError("Période de la remise invalide : AAAA-MM attendu.")
    sequence = document.get("sequence")
    if not is_int(sequence) or sequence < 1:
        raise ProtocolError("Numéro d'ordre de la remise (sequence) invalide.")
    previous = document.get("previous_hash")
    if previous is not None and not matches(SHA256_HEX, previous):
        raise ProtocolError("Empreinte de la remise précédente (previous_hash) invalide.")
    if instant_or_none(document.get("sealed_at")) is None:
        raise ProtocolError("Date de scellement (sealed_at) invalide.")
    for name in ("sessions", "redemptions", "refused_scans"):
        if not isinstance(document.get(name), list):
            raise ProtocolError(f"Liste « {name} » absente de la remise.")
    redemptions = document["redemptions"]
    if len(redemptions) > MAX_LINES:
        raise ProtocolError(f"Remise trop longue : {MAX_LINES} lignes au plus.")
    sessions = session_ids(document["sessions"], OF_BATCH)
    lines = [
        redemption_line(index, item, sessions, OF_BATCH) for index, item in enumerate(redemptions)
    ]
    totals = document.get("totals")
    if (
        not isinstance(totals, dict)
        or totals.get("redemptions") != len(lines)
        or totals.get("value_cents") != sum(line.value_cents for line in lines)
        or totals.get("refused_scans") != len(document["refused_scans"])
    ):
        raise ProtocolError("Totaux de la remise absents ou incohérents avec ses lignes.")
    return lines


@dataclass(frozen=True)
class SessionIn:
    """A session of a checked document: what the statement counts of it."""

    id: int
    kind: str
    duration_minutes: int
    activity: ActivitySummary | None  # None from a site older than the activity summary


def session_ids(sessions: list[Any], of: str) -> set[int]:
    """The ids of a document's sessions (`of`: "de la remise", "de la déclaration"), each
    session checked (`checked_session`)."""
    ids: set[int] = set()
    for number, item in enumerate(sessions, start=1):
        identifier = checked_session(number, item, of).id
        if identifier in ids:
            raise ProtocolError(f"Séance n° {number} {of} : identifiant {identifier} en double.")
        ids.add(identifier)
    return ids


def checked_session(number: int, item: object, of: str) -> SessionIn:
    """The `number`th session of a document, its activity summary checked when it has one."""
    where = f"Séance n° {number} {of}"
    if not isinstance(item, dict):
        raise ProtocolError(f"{where} : ce n'est pas une séance.")
    identifier, kind, duration = item.get("id"), item.get("kind"), item.get("duration_minutes")
    if not is_int(identifier) or identifier < 1:
        raise ProtocolError(f"{where} : identifiant invalide.")
    if kind not in ("individuel", "collectif"):
        raise ProtocolError(f"{where} : type de séance (kind) invalide.")
    if not is_int(duration) or duration < 1:
        raise ProtocolError(f"{where} : durée (duration_minutes) invalide.")
    activity = parse_summary(item["activity"], where) if "activity" in item else None
    return SessionIn(identifier, str(kind), duration, activity)


def batch_sessions(document: dict[str, Any]) -> list[SessionIn]:
    """The sessions of a batch `check_structure` accepted."""
    return [
        checked_session(number, item, OF_BATCH)
        for number, item in enumerate(document["sessions"], start=1)
    ]


def redemption_line(index: int, item: object, sessions: set[int], of: str) -> LineIn:
    """One redemption line (schema/batch.schema.json $defs/redemption), checked; its session
    must be one of `sessions`."""
    where = f"Ligne n° {index + 1} {of}"
    if not isinstance(item, dict):
        raise ProtocolError(f"{where} : ce n'est pas un encaissement.")
    redemption_id, code = item.get("id"), item.get("code")
    if not matches(RANDOM_ID, redemption_id):
        raise ProtocolError(f"{where} : identifiant d'encaissement absent ou invalide.")
    if not matches(PASS_CODE, code):
        raise ProtocolError(f"{where} : code de pass absent ou mal formé.")
    assert isinstance(redemption_id, str) and isinstance(code, str)  # matches() checked it
    redeemed_at = instant_or_none(item.get("redeemed_at"))
    if redeemed_at is None:
        raise ProtocolError(f"{where} : date d'encaissement invalide (ISO 8601 avec fuseau).")
    value = item.get("value_cents")
    if not is_int(value) or value < 0:
        raise ProtocolError(f"{where} : montant (value_cents) invalide.")
    if item.get("session_id") not in sessions:
        raise ProtocolError(
            f"{where} : la séance {item.get('session_id')} n'est pas parmi les séances {of}."
        )
    return LineIn(index, redemption_id, code, redeemed_at, value, item["session_id"])


def is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
