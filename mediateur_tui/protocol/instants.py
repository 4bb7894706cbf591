"""Instants and dates as the protocol writes them: ISO 8601 in UTC, `YYYY-MM-DD`."""

from __future__ import annotations

from datetime import UTC, datetime

from mediateur_tui.protocol.errors import ProtocolError

MAX_INSTANT_LENGTH = 64  # far more than any ISO 8601 instant needs


def iso_instant(moment: datetime) -> str:
    """An aware instant as ISO 8601 UTC with a `Z`: `2026-03-10T10:00:00Z`."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: instants are always aware")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def instant_or_none(text: object) -> datetime | None:
    """An aware UTC datetime from ISO 8601 text with an offset; None when it is not one."""
    if not isinstance(text, str) or len(text) > MAX_INSTANT_LENGTH:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None
    return moment.astimezone(UTC)


def parse_instant(text: object, what: str = "instant") -> datetime:
    """An aware UTC datetime, or ProtocolError with a French message."""
    moment = instant_or_none(text)
    if moment is None:
        raise ProtocolError(f"Date et heure illisibles ou sans fuseau ({what}) : « {text} ».")
    return moment
