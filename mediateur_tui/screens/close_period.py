"""Modal asking which month to close (the previous one by default), before the month end's
confirmation."""

from __future__ import annotations

import re

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from mediateur_tui.sync.batches import parse_period
from mediateur_tui.sync.errors import SyncError

_MONTH_SLASH_YEAR = re.compile(r"^(\d{1,2})\s*/\s*(\d{4})$")


def read_period(text: str) -> str:
    """`2026-09`, or `09/2026` (or `9/2026`) as written in France -> `2026-09`.

    Raises SyncError (French) for anything else, as `parse_period` does."""
    text = text.strip()
    match = _MONTH_SLASH_YEAR.match(text)
    period = f"{match.group(2)}-{int(match.group(1)):02d}" if match else text
    try:
        return parse_period(period)
    except SyncError:
        raise SyncError(
            f"Mois invalide : « {text} » (format attendu AAAA-MM ou MM/AAAA, par ex. 2026-03 "
            "ou 03/2026)."
        ) from None


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
            yield Input(value=self.default, placeholder="AAAA-MM", id="period")
            yield Static("", id="period-message", classes="message error")
            yield Static(
                "Entrée : voir ce que la clôture scellera · Échap : ne rien faire", classes="hint"
            )

    @on(Input.Submitted, "#period")
    def confirm(self, event: Input.Submitted) -> None:
        try:
            period = read_period(event.value)
        except SyncError as error:
            self.query_one("#period-message", Static).update(str(error))
            return
        self.dismiss(period)

    def action_back(self) -> None:
        self.dismiss(None)
