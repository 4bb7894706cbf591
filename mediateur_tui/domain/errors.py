"""The one family of errors a person reads: the message is the French sentence to show.

Every layer raises a `UserError` (or a subclass that names where it comes from) for something
the user can understand and act on; the command line prints it and exits 2, the screens show
it. Anything else that escapes is a defect: it is logged, and the user is told that nothing was
recorded.
"""

from __future__ import annotations


class UserError(Exception):
    """Something that cannot be done, with a French message for the person who asked.

    `field` names what was typed wrong when it is one thing (a PIN, a site id): a form puts
    the focus there, to correct it."""

    def __init__(self, message: str = "", field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NothingToDo(UserError):
    """Nothing to do (an empty month, no batch to export): not a failure, but nothing done."""
