"""Instants on the wire: ISO 8601 in UTC, always aware."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_instant(moment: datetime) -> str:
    """An aware instant as ISO 8601 UTC with a `Z`."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_instant(text: object) -> datetime | None:
    """An aware UTC datetime from ISO 8601 text with an offset; None when not one."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None
    return moment.astimezone(UTC)
