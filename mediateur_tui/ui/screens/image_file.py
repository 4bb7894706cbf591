"""Modal asking for the path of an image (phone photo, scan) to read passes from."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class ImageFileScreen(ModalScreen[Path | None]):
    BINDINGS = [Binding("escape", "back", "Fermer", id="image.back")]
    AUTO_FOCUS = "#image-path"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Lire les pass d'une image", classes="card-title")
            yield Static("Chemin du fichier (photo ou scan, PNG ou JPEG) :")
            yield Input(placeholder="/home/…/photo.jpg", id="image-path")
            yield Static("", id="image-message")

    @on(Input.Submitted, "#image-path")
    def confirm(self, event: Input.Submitted) -> None:
        path = Path(event.value.strip().strip("'\"")).expanduser()
        if not path.is_file():
            self.query_one("#image-message", Static).update(f"Fichier introuvable : {path}")
            return
        self.dismiss(path)

    def action_back(self) -> None:
        self.dismiss(None)
