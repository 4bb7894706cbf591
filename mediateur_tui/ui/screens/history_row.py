"""One line of the history, every field in full: the table's Détail column is cut."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from mediateur_tui.domain.formatting import format_datetime, format_euros
from mediateur_tui.services.history import HistoryRow


def row_fields(row: HistoryRow) -> list[tuple[str, str]]:
    return [
        ("Date", format_datetime(row.at)),
        ("Statut", row.status.label),
        ("Code", row.code),
        ("Montant", format_euros(row.value_cents) if row.value_cents else "—"),
        ("Détail", row.detail or "—"),
        ("Séance", row.session_title or "—"),
        ("Par", row.operator_name or "—"),
    ]


class HistoryRowScreen(ModalScreen[None]):
    BINDINGS = [Binding("enter,escape", "close", "Fermer", id="history_row.close")]

    def __init__(self, row: HistoryRow) -> None:
        super().__init__()
        self.row = row

    def compose(self) -> ComposeResult:
        text = Text()
        for index, (label, value) in enumerate(row_fields(self.row)):
            text.append(("\n" if index else "") + f"{label} : ", style="bold")
            text.append(value)
        with Vertical(classes="dialog", id="history-row"):
            yield Static("Ligne de l'historique", classes="card-title")
            yield Static(text, id="history-row-fields")
            yield Static("Entrée ou Échap : fermer", classes="hint")

    def action_close(self) -> None:
        self.dismiss(None)
