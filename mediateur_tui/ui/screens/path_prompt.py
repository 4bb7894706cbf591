"""Modal asking for the path of a file (an acknowledgement from the region, a replica…)."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from mediateur_tui.ui.widgets.form_field import OrderedInput


def clean_path(text: str) -> Path | None:
    """What was typed or pasted (quotes from a file manager removed), or None when empty."""
    text = text.strip().strip("'\"").strip()
    return Path(text).expanduser() if text else None


class PathPromptScreen(ModalScreen[Path | None]):
    """Returns the path typed (not checked: the caller reads it in a worker), or None.

    Asked again after a refusal, with the path typed and why it was refused (`error`): the
    focus is in the field, to correct it."""

    BINDINGS = [Binding("escape", "back", "Annuler", id="path_prompt.back")]
    AUTO_FOCUS = "#path"

    def __init__(
        self, title: str, prompt: str, placeholder: str = "", value: str = "", error: str = ""
    ) -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.placeholder = placeholder
        self.value = value
        self.error = error

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="path-dialog"):
            yield Static(self.title_text, classes="card-title")
            yield Static(self.prompt)
            yield OrderedInput(value=self.value, placeholder=self.placeholder, id="path")
            yield Static(Text(self.error), id="path-message", classes="message error")
            yield Static("Entrée : valider · Échap : annuler", classes="hint")

    @on(Input.Submitted, "#path")
    def confirm(self, event: Input.Submitted) -> None:
        path = clean_path(event.value)
        if path is None:
            self.query_one("#path-message", Static).update("Indiquez un chemin de fichier.")
            return
        self.dismiss(path)

    def action_back(self) -> None:
        self.dismiss(None)
