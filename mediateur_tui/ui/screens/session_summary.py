"""What a session took, shown when it ends."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from mediateur_tui.domain.formatting import (
    format_datetime,
    format_euros,
    redeemed_passes,
    refused_reads,
)
from mediateur_tui.services.desk import SessionSummary


class SessionSummaryScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("enter,escape", "close", "Fermer", id="summary.close"),
    ]

    def __init__(self, summary: SessionSummary) -> None:
        super().__init__()
        self.summary = summary

    def compose(self) -> ComposeResult:
        summary = self.summary
        with Vertical(classes="dialog", id="summary"):
            yield Static("Séance terminée", classes="card-title")
            yield Static(
                f"« {summary.title} »\n"
                f"Du {format_datetime(summary.started_at)} "
                f"au {format_datetime(summary.ended_at)}\n\n"
                f"[b]{redeemed_passes(summary.redeemed_count)} : "
                f"{format_euros(summary.total_cents)}[/b]\n"
                f"{refused_reads(summary.refused_count)}"
            )
            yield Static("Entrée : retour à l'accueil", classes="hint")

    def action_close(self) -> None:
        self.dismiss(None)
