"""Log-in: pick the operator, type the PIN."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Header, Input, Label, Select, Static
from textual.worker import Worker

from mediateur_tui.domain.roles import ROLE_LABELS
from mediateur_tui.services.operators import LoginResult, OperatorInfo
from mediateur_tui.ui.messages import LoggedIn
from mediateur_tui.ui.screens.base import SiteScreen, failure_text
from mediateur_tui.ui.widgets.form_field import OrderedInput
from mediateur_tui.ui.widgets.keys_footer import SHOWN_QUIT, KeysFooter


class LoginScreen(SiteScreen[None]):
    """The first screen. Enter in the PIN field logs in."""

    BINDINGS = [SHOWN_QUIT]
    AUTO_FOCUS = "#pin"

    @dataclass
    class OperatorsLoaded(Message, bubble=False):
        operators: list[OperatorInfo]

    @dataclass
    class PinChecked(Message, bubble=False):
        result: LoginResult

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="login-box", classes="card"):
            yield Static("Connexion", classes="card-title")
            yield Label("Opérateur·rice", id="operator-label")
            yield Static("Chargement des comptes…", id="operator-loading")
            yield Label("Code PIN")
            yield OrderedInput(password=True, placeholder="••••", id="pin", max_length=12)
            yield Static("", id="login-message")
            if self.context.demo_pins:
                shown = " · ".join(f"{name} {pin}" for name, pin in self.context.demo_pins)
                yield Static(f"Démo — PIN : {shown}", id="demo-pins")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.load_operators()

    def work_failed(self, worker: Worker[object], error: BaseException) -> bool:
        self._say(failure_text(error))
        self.app.bell()
        return True

    @work(thread=True, exit_on_error=False)
    def load_operators(self) -> None:
        self.post_message(self.OperatorsLoaded(self.context.site.operators()))

    @on(OperatorsLoaded)
    def show_operators(self, message: OperatorsLoaded) -> None:
        operators = message.operators
        if not operators:
            self.query_one("#operator-loading", Static).update("Aucun compte enregistré.")
            return
        # Mounted once the accounts are known, so that the list never offers a blank choice.
        self.query_one("#operator-loading").remove()
        choice = Select(
            [(f"{op.name} ({ROLE_LABELS[op.role]})", op.name) for op in operators],
            value=operators[0].name,
            allow_blank=False,
            id="operator",
        )
        self.query_one("#login-box").mount(choice, after="#operator-label")

    @on(Input.Submitted, "#pin")
    def submit(self) -> None:
        pin_field = self.query_one("#pin", Input)
        pin, pin_field.value = pin_field.value, ""
        choices = self.query("#operator").results(Select)
        choice = next(choices, None)
        if choice is None:
            self._say("Aucun compte : demandez à la région ou créez-en un (operator add).")
            return
        name = choice.value
        self._say("Vérification…")
        self.check_pin(str(name), pin)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def check_pin(self, name: str, pin: str) -> None:
        # scrypt is deliberately slow: keep it off the event loop.
        self.post_message(self.PinChecked(self.context.site.accounts.log_in(name, pin)))

    @on(PinChecked)
    def pin_checked(self, message: PinChecked) -> None:
        result = message.result
        if result.operator is not None:
            self._say("")
            self.post_message(LoggedIn(result.operator))
        else:
            self._say(result.message)
            self.app.bell()

    def _say(self, message: str) -> None:
        self.query_one("#login-message", Static).update(message)
