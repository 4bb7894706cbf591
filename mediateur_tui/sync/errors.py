"""Errors of the site's exchanges with its region, each with a French message for the user."""

from __future__ import annotations

from mediateur_tui.domain.errors import UserError


class SyncError(UserError):
    """Something the site cannot do with its region now (not enrolled, unknown batch…)."""


class HubUnreachable(SyncError):
    """The hub could not be reached, or kept failing, after every retry: try again later."""


class RequestAbandoned(SyncError):
    """The caller gave up on a request (HubClient.request's `abandoned`): its answer would
    be dropped, so no attempt is made after it."""


class HubRefused(SyncError):
    """The hub answered with a refusal (4xx); `status` is the HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
