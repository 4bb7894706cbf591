"""Modal confirming a month end: the period, and what will be sealed into the batch."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from mediateur_tui.domain.formatting import format_euros, plural, redeemed_passes, refused_reads
from mediateur_tui.domain.periods import month_of
from mediateur_tui.services.reconciliation import ClosePreview


class CloseMonthScreen(ModalScreen[bool]):
    """Returns True when the responsable confirms."""

    BINDINGS = [
        Binding("enter", "confirm", "Clore et sceller", id="close_month.confirm"),
        Binding("escape", "back", "Ne rien faire", id="close_month.back"),
    ]

    def __init__(self, preview: ClosePreview) -> None:
        super().__init__()
        self.preview = preview

    def compose(self) -> ComposeResult:
        preview = self.preview
        with Vertical(classes="dialog", id="close-month"):
            yield Static(f"Clore le mois {month_of(preview.label)} ?", classes="card-title")
            yield Static(
                "Seront scellés dans une remise signée :\n"
                f"  [b]{redeemed_passes(preview.redemptions)}, "
                f"{format_euros(preview.value_cents)}[/b]\n"
                f"  de {plural(preview.sessions, 'séance')}, "
                f"avec {refused_reads(preview.refused_scans)}.\n\n"
                "Une remise scellée ne change plus : ses encaissements ne pourront plus être "
                "annulés. Ceux d'après la fin du mois iront dans la remise suivante."
            )
            yield Static("Entrée : clore et sceller · Échap : ne rien faire", classes="hint")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_back(self) -> None:
        self.dismiss(False)
