"""Check a pass without redeeming it (a beneficiary asks "is my pass still good?")."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Header, Input, Static

from mediateur_tui.domain.verdicts import CheckResult
from mediateur_tui.services.desk import DeskError
from mediateur_tui.widgets.keys_footer import KeysFooter
from mediateur_tui.widgets.scan_field import ScanField
from mediateur_tui.widgets.verdict_panel import VerdictPanel

PROMPT = "Vérification seule : rien n'est encaissé. Scannez ou tapez un pass."


class VerifyScreen(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Retour", id="verify.back")]
    AUTO_FOCUS = "#verify-input"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("[b]Vérifier un pass[/b] (sans l'encaisser)", id="verify-title")
        yield ScanField(placeholder="Code ou QR code, puis Entrée", id="verify-input")
        yield VerdictPanel(id="verdict")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "vérification"
        self.query_one(VerdictPanel).show_waiting(PROMPT)

    @on(Input.Submitted, "#verify-input")
    def submit(self, event: Input.Submitted) -> None:
        text = event.value  # ScanField has already emptied itself
        if text.strip():
            self.check(text)

    @work(thread=True, exclusive=True)
    def check(self, text: str) -> None:
        try:
            result = self.app.desk.check(text)
        except DeskError as error:
            self.app.call_from_thread(self.query_one(VerdictPanel).show_waiting, str(error))
            return
        self.app.call_from_thread(self._show, result)

    def _show(self, result: CheckResult) -> None:
        self.query_one(VerdictPanel).show_result(result)
        if not result.redeemable:
            self.app.bell()
