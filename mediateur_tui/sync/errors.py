"""Errors of the sync side, each with a French message for the user."""

from __future__ import annotations


class SyncError(Exception):
    """Something the site cannot do now (not enrolled, nothing to close, hub refusal…)."""


class NothingToDo(SyncError):
    """Nothing to do (an empty month, no batch to export): not a failure, but nothing done."""


class HubUnreachable(SyncError):
    """The hub could not be reached, or kept failing, after every retry: try again later."""


class HubRefused(SyncError):
    """The hub answered with a refusal (4xx); `status` is the HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
