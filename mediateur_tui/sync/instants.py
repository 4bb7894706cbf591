"""Instants and dates as the protocol writes them: ISO 8601 in UTC, `YYYY-MM-DD`."""

from __future__ import annotations

from datetime import UTC, date, datetime

from mediateur_tui.sync.protocol import ProtocolError


def iso_instant(moment: datetime) -> str:
    """An aware instant as ISO 8601 UTC with a `Z`: `2026-03-10T10:00:00Z`."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: instants are always aware")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_instant(text: object, what: str = "instant") -> datetime:
    """An aware UTC datetime, or ProtocolError with a French message."""
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError as error:
        raise ProtocolError(f"Date et heure illisibles ({what}) : « {text} ».") from error
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ProtocolError(f"Date et heure sans fuseau ({what}) : « {text} ».")
    return moment.astimezone(UTC)


def parse_day(text: object, what: str = "date") -> date:
    if not isinstance(text, str) or len(text) != 10:
        raise ProtocolError(f"Date illisible ({what}) : « {text} ».")
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise ProtocolError(f"Date illisible ({what}) : « {text} ».") from error
