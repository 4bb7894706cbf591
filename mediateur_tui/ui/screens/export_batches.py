"""Modal for the USB-key route: which batches to export, and to which directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, RadioSet, Static

from mediateur_tui.services.batches import BatchInfo
from mediateur_tui.ui.screens.path_prompt import clean_path
from mediateur_tui.ui.widgets.form_field import OrderedInput
from mediateur_tui.ui.widgets.toggles import ChoiceButton


@dataclass(frozen=True)
class ExportRequest:
    directory: Path
    batch_id: str | None  # None: every batch without an acknowledgement


class ExportBatchesScreen(ModalScreen[ExportRequest | None]):
    BINDINGS = [Binding("escape", "back", "Annuler", id="export.back")]
    AUTO_FOCUS = "#directory"

    def __init__(self, directory: Path, selected: BatchInfo | None, pending: int) -> None:
        super().__init__()
        self.directory = directory
        self.selected = selected
        self.pending = pending

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="export"):
            yield Static("Exporter des remises (clé USB)", classes="card-title")
            yield Label("Dossier (la clé USB, par exemple) :")
            yield OrderedInput(value=str(self.directory), id="directory")
            with RadioSet(id="which"):
                yield ChoiceButton(
                    f"Les remises sans accusé de réception ({self.pending})",
                    value=self.pending > 0 or self.selected is None,
                    disabled=self.pending == 0,
                    id="which-pending",
                )
                if self.selected is not None:
                    yield ChoiceButton(
                        f"La remise sélectionnée : {self.selected.label}",
                        value=self.pending == 0,
                        id="which-selected",
                    )
            yield Static(
                "Chaque remise donne trois fichiers : le document signé (.json.gz) à remettre "
                "à la région, un tableau CSV et le bordereau PDF à signer."
            )
            yield Static("", id="export-message", classes="message")
            yield Static("Entrée : exporter · Tab : choisir · Échap : annuler", classes="hint")

    @on(Input.Submitted, "#directory")
    def confirm(self, event: Input.Submitted) -> None:
        directory = clean_path(event.value)
        if directory is None:
            self.query_one("#export-message", Static).update("Indiquez un dossier.")
            return
        pressed = self.query_one(RadioSet).pressed_button
        if pressed is not None and pressed.id == "which-selected" and self.selected is not None:
            self.dismiss(ExportRequest(directory, self.selected.batch_id))
        elif self.pending:
            self.dismiss(ExportRequest(directory, None))
        else:
            self.query_one("#export-message", Static).update(
                "Aucune remise n'attend d'accusé de réception : rien à exporter."
            )

    @on(RadioSet.Changed)
    def chosen(self) -> None:
        """Back to the directory: Enter there exports."""
        self.query_one("#directory", Input).focus()

    def action_back(self) -> None:
        self.dismiss(None)
