"""Modal confirming that a hand-out of carnets is given up once some carnets were scanned."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class AttributionCancelScreen(ModalScreen[bool]):
    """Returns True when the distributor gives up the hand-out."""

    BINDINGS = [
        Binding("enter", "confirm", "Abandonner la remise", id="attribution_cancel.confirm"),
        Binding("escape", "back", "Continuer la remise", id="attribution_cancel.back"),
    ]

    def __init__(self, carnet_ids: list[str]) -> None:
        super().__init__()
        self.carnet_ids = carnet_ids

    def compose(self) -> ComposeResult:
        scanned = ", ".join(self.carnet_ids) or "aucun"
        with Vertical(classes="dialog", id="attribution-cancel"):
            yield Static("Abandonner la remise ?", classes="card-title")
            yield Static(
                f"Carnet(s) déjà scanné(s) : {scanned}.\n"
                "Rien ne sera enregistré : remettez ces carnets dans le stock. La demande "
                "reste affichée, telle que saisie."
            )
            yield Static("Entrée : abandonner · Échap : continuer la remise", classes="hint")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_back(self) -> None:
        self.dismiss(False)
