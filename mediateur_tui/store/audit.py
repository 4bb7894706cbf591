"""The append-only, hash-chained audit log.

Each event's hash covers the previous event's hash and its own content, so deleting or
editing any past event breaks every hash after it. `verify_chain` finds the first break.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from mediateur_tui.store import journal
from mediateur_tui.store.models import AuditEvent

GENESIS_HASH = "0" * 64


def _event_hash(
    previous_hash: str, at: datetime, kind: str, operator_id: int | None, details: str
) -> str:
    content = json.dumps(
        [previous_hash, at.astimezone(UTC).isoformat(), kind, operator_id, details],
        ensure_ascii=False,
    )
    return hashlib.sha256(content.encode()).hexdigest()


def append_event(
    session: Session, at: datetime, kind: str, operator_id: int | None, details: dict[str, Any]
) -> AuditEvent:
    """Adds an event to the chain. Call inside a write (BEGIN IMMEDIATE) transaction."""
    last = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(1)).first()
    event = next_event(last.hash if last else GENESIS_HASH, at, kind, operator_id, details)
    session.add(event)
    journal.note_audited(session)
    return event


def next_event(
    previous_hash: str, at: datetime, kind: str, operator_id: int | None, details: dict[str, Any]
) -> AuditEvent:
    """The event that follows the one whose hash is `previous_hash` (not stored yet)."""
    details_json = json.dumps(details, ensure_ascii=False, sort_keys=True)
    return AuditEvent(
        at=at,
        kind=kind,
        operator_id=operator_id,
        details=details_json,
        previous_hash=previous_hash,
        hash=_event_hash(previous_hash, at, kind, operator_id, details_json),
    )


def verify_chain(session: Session) -> tuple[int, int | None]:
    """(number of events checked, id of the first broken event or None)."""
    events = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    count = intact_length(events)
    return count, (events[count].id if count < len(events) else None)


def intact_length(events: Sequence[AuditEvent]) -> int:
    """How many events, from the first, chain correctly (each hash covering the one before)."""
    previous_hash = GENESIS_HASH
    for count, event in enumerate(events):
        expected = _event_hash(
            previous_hash, event.at, event.kind, event.operator_id, event.details
        )
        if event.previous_hash != previous_hash or event.hash != expected:
            return count
        previous_hash = event.hash
    return len(events)
