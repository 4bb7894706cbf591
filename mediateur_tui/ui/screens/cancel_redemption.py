"""Modal asking for the reason before a redemption is cancelled."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.formatting import format_datetime, format_euros
from mediateur_tui.services.desk import RedemptionLine
from mediateur_tui.ui.widgets.form_field import OrderedInput


class CancelRedemptionScreen(ModalScreen[str | None]):
    """Returns the reason, or None when the user backs out."""

    BINDINGS = [Binding("escape", "back", "Ne pas annuler", id="cancel.back")]
    AUTO_FOCUS = "#reason"

    def __init__(self, line: RedemptionLine) -> None:
        super().__init__()
        self.line = line

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Annuler le dernier encaissement", classes="card-title")
            yield Static(
                f"Pass {format_code(self.line.code)} — {format_euros(self.line.value_cents)}, "
                f"encaissé le {format_datetime(self.line.redeemed_at)}."
            )
            yield OrderedInput(
                placeholder="Motif (obligatoire), par ex. « erreur de saisie »", id="reason"
            )
            yield Static("Entrée : annuler l'encaissement · Échap : ne rien faire", classes="hint")
            yield Static("", id="reason-message")

    @on(Input.Submitted, "#reason")
    def confirm(self, event: Input.Submitted) -> None:
        reason = event.value.strip()
        if not reason:
            self.query_one("#reason-message", Static).update("Le motif est obligatoire.")
            self.app.bell()
            return
        self.dismiss(reason)

    def action_back(self) -> None:
        self.dismiss(None)
