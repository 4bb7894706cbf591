"""Check a pass without redeeming it (a beneficiary asks "is my pass still good?")."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Header, Static

from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.keyboard import Typing
from mediateur_tui.domain.verdicts import CheckResult
from mediateur_tui.ui.screens.base import SiteScreen
from mediateur_tui.ui.widgets.keys_footer import KeysFooter
from mediateur_tui.ui.widgets.scan_field import ScanField
from mediateur_tui.ui.widgets.verdict_panel import VerdictLine, VerdictPanel, ring

PROMPT = "Vérification seule : rien n'est encaissé. Scannez ou tapez un pass."


class VerifyScreen(SiteScreen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Retour", id="verify.back")]
    AUTO_FOCUS = "#verify-input"

    @dataclass
    class Checked(Message, bubble=False):
        result: CheckResult | str  # the verdict, or why there is none

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("[b]Vérifier un pass[/b] (sans l'encaisser)", id="verify-title")
        yield ScanField(placeholder="Code ou QR code, puis Entrée", id="verify-input")
        yield VerdictPanel(id="verdict")
        yield VerdictLine(id="verdict-line")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "vérification"
        self.query_one(VerdictPanel).show_waiting(PROMPT)

    @on(ScanField.Submitted, "#verify-input")
    def submit(self, event: ScanField.Submitted) -> None:
        text = event.value  # ScanField has already emptied itself
        if text.strip():
            self.check(text, event.typing)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def check(self, text: str, typing: Typing) -> None:
        try:
            result: CheckResult | str = self.context.site.desk.check(text, typing)
        except UserError as error:
            result = str(error)
        self.post_message(self.Checked(result))

    @on(Checked)
    def show(self, message: Checked) -> None:
        result = message.result
        if isinstance(result, str):
            self.query_one(VerdictPanel).show_waiting(result)
            return
        ring(self.app, self.query_one(VerdictPanel).show_result(result))
