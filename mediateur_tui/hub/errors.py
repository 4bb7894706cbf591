"""Errors of the hub, each with a French message for the person who reads it.

`ProtocolError` (from the shared protocol module) means a document that cannot be used (HTTP
400); the classes below map to the other HTTP statuses in `hub.api.errors`.
"""

from __future__ import annotations

from mediateur_tui.domain.errors import UserError


class HubError(UserError):
    """Something the hub refuses to do, with a French message."""


class NotInitialised(HubError):
    """The hub directory or database holds no region yet."""


class NotFound(HubError):
    """HTTP 404."""


class Conflict(HubError):
    """HTTP 409: the request contradicts what the hub already holds."""


class Forbidden(HubError):
    """HTTP 403: an authenticated site asks for something that is not its own, or a site the
    region has struck off (hub.struck_off) sends anything."""


class Unauthorised(HubError):
    """HTTP 401: no API key, or an unknown one."""
