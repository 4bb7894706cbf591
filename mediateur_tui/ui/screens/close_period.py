"""Modal asking which month to close (the previous one by default), before the month end's
confirmation."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.periods import read_period
from mediateur_tui.ui.widgets.form_field import OrderedInput


class ClosePeriodScreen(ModalScreen[str | None]):
    """Asks which month to close; returns it as `AAAA-MM` (checked), or None."""

    BINDINGS = [Binding("escape", "back", "Ne rien faire", id="close_period.back")]
    AUTO_FOCUS = "#period"

    def __init__(self, default: str) -> None:
        super().__init__()
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="close-period"):
            yield Static("Clore un mois", classes="card-title")
            yield Static(
                "Mois à clore (AAAA-MM ou MM/AAAA) ; par défaut le mois précédent. "
                "Tous les encaissements non remis jusqu'à la fin de ce mois seront scellés."
            )
            yield OrderedInput(value=self.default, placeholder="AAAA-MM", id="period")
            yield Static("", id="period-message", classes="message error")
            yield Static(
                "Entrée : voir ce que la clôture scellera · Échap : ne rien faire", classes="hint"
            )

    @on(Input.Submitted, "#period")
    def confirm(self, event: Input.Submitted) -> None:
        try:
            period = read_period(event.value)
        except UserError as error:
            self.query_one("#period-message", Static).update(str(error))
            return
        self.dismiss(period)

    def action_back(self) -> None:
        self.dismiss(None)
