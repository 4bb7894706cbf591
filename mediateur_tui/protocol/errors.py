"""The error of a document that cannot be used."""

from __future__ import annotations

from mediateur_tui.domain.errors import UserError


class ProtocolError(UserError, ValueError):
    """A document that cannot be used (malformed, unsigned, tampered), with a French message."""
