"""New session: title, type, themes, duration — Enter alone starts it with the defaults."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static

from mediateur_tui.domain.formatting import format_date
from mediateur_tui.services.desk import SESSION_KINDS
from mediateur_tui.ui.widgets.form_field import OrderedInput

DEFAULT_DURATION = 60


@dataclass(frozen=True)
class SessionForm:
    title: str
    kind: str
    themes: str
    duration_minutes: int


class NewSessionScreen(ModalScreen[SessionForm | None]):
    BINDINGS = [Binding("escape", "cancel", "Annuler", id="new_session.cancel")]
    AUTO_FOCUS = "#title"

    def __init__(self, today: date) -> None:
        super().__init__()
        self.today = today

    def compose(self) -> ComposeResult:
        today = format_date(self.today)
        with Vertical(id="new-session", classes="dialog"):
            yield Static("Nouvelle séance", classes="card-title")
            yield Label("Titre")
            yield OrderedInput(value=f"Séance du {today}", id="title")
            yield Label("Type")
            yield Select(
                [(label, kind) for kind, label in SESSION_KINDS.items()],
                value="individuel",
                allow_blank=False,
                id="kind",
            )
            yield Label("Thèmes (facultatif)")
            yield OrderedInput(placeholder="démarches en ligne, courriel…", id="themes")
            yield Label("Durée (minutes)")
            yield OrderedInput(value=str(DEFAULT_DURATION), type="integer", id="duration")
            yield Static("", id="form-message")
            yield Static("Entrée : commencer la séance · Échap : annuler", classes="hint")

    @on(Input.Submitted)
    def start(self) -> None:
        duration_text = self.query_one("#duration", Input).value.strip()
        if not duration_text.isdigit() or not 1 <= int(duration_text) <= 720:
            self.query_one("#form-message", Static).update(
                "La durée doit être un nombre de minutes entre 1 et 720."
            )
            return
        self.dismiss(
            SessionForm(
                title=self.query_one("#title", Input).value,
                kind=str(self.query_one("#kind", Select).value),
                themes=self.query_one("#themes", Input).value,
                duration_minutes=int(duration_text),
            )
        )

    def action_cancel(self) -> None:
        self.dismiss(None)
