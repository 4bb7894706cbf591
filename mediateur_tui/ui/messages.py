"""The messages a screen sends the app: who logged in or out, where to go next, and the
unexpected failure of a thread worker (the app logs it and tells the user in French)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from mediateur_tui.services.operators import OperatorInfo


@dataclass
class LoggedIn(Message):
    operator: OperatorInfo


@dataclass
class LogOutRequested(Message):
    pass


@dataclass
class FirstScreenWanted(Message):
    """The set-up went one step further (a replica, a first account): open what comes next."""


@dataclass
class SessionWanted(Message):
    """Resume the operator's open session, or ask for a new one."""


@dataclass
class WorkFailed(Message):
    """A thread worker of a screen raised: a UserError to show, or a defect to log."""

    error: BaseException
    shown_here: bool = False  # the screen already said it where the user looks
