"""What every screen of the site has: the typed context, and its workers' failures reported
to the app (which shows a UserError's message, or logs a defect and says nothing was recorded).

Thread workers run with `exit_on_error=False`: a failure must never close the app at the desk.
"""

from __future__ import annotations

from typing import TypeVar

from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from mediateur_tui.domain.errors import UserError
from mediateur_tui.ui.context import DeskContext
from mediateur_tui.ui.messages import WorkFailed

ResultType = TypeVar("ResultType")
UNEXPECTED_ERROR = (
    "Erreur inattendue : rien n'a été enregistré pour cette action. Réessayez ; si cela se "
    "répète, prévenez le ou la responsable (journal : mediateur.log)."
)


def failure_text(error: BaseException, unexpected: str = UNEXPECTED_ERROR) -> str:
    """What to tell the user of a failed worker: a UserError's own sentence, else `unexpected`."""
    return str(error) if isinstance(error, UserError) else unexpected


class _ReportsWorkFailures:
    """Worker state changes reach only the screen that started the worker: pass failures on."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        error = event.worker.error
        if event.state is WorkerState.ERROR and error is not None:
            shown = self.work_failed(event.worker, error)
            event.worker.node.post_message(WorkFailed(error, shown_here=shown))

    def work_failed(self, worker: Worker[object], error: BaseException) -> bool:
        """Puts the screen back in a usable state after `worker` failed. True when the screen
        also said so where the user looks (the app then only logs it); False by default: the
        app tells the user."""
        return False


class SiteScreen(_ReportsWorkFailures, Screen[ResultType]):
    def __init__(self, context: DeskContext) -> None:
        super().__init__()
        self.context = context


class SiteModal(_ReportsWorkFailures, ModalScreen[ResultType]):
    def __init__(self, context: DeskContext) -> None:
        super().__init__()
        self.context = context
