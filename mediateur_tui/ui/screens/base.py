"""What every screen of the site has: the typed context, and its workers' failures reported
to the app (which shows a UserError's message, or logs a defect and says nothing was recorded).

Thread workers run with `exit_on_error=False`: a failure must never close the app at the desk.
"""

from __future__ import annotations

from typing import TypeVar

from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from mediateur_tui.ui.context import DeskContext
from mediateur_tui.ui.messages import WorkFailed

ResultType = TypeVar("ResultType")


class _ReportsWorkFailures:
    """Worker state changes reach only the screen that started the worker: pass failures on."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.work_failed(event.worker)
            event.worker.node.post_message(WorkFailed(event.worker.error))

    def work_failed(self, worker: Worker[object]) -> None:
        """Puts the screen back in a usable state after `worker` failed (the app tells the
        user); nothing to do for most screens."""


class SiteScreen(_ReportsWorkFailures, Screen[ResultType]):
    def __init__(self, context: DeskContext) -> None:
        super().__init__()
        self.context = context


class SiteModal(_ReportsWorkFailures, ModalScreen[ResultType]):
    def __init__(self, context: DeskContext) -> None:
        super().__init__()
        self.context = context
