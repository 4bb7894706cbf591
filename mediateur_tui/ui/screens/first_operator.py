"""The site's first account, when the replica is there but nobody can log in yet."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Header, Input, Label, Select, Static
from textual.worker import Worker

from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.roles import ROLE_LABELS
from mediateur_tui.services.operators import OperatorInfo
from mediateur_tui.ui.messages import FirstScreenWanted
from mediateur_tui.ui.screens.base import SiteScreen, failure_text
from mediateur_tui.ui.widgets.form_field import FormField, OrderedInput
from mediateur_tui.ui.widgets.keys_footer import SHOWN_QUIT, KeysFooter


class FirstOperatorScreen(SiteScreen[None]):
    """Name, role (responsable by default), PIN twice; then the log-in."""

    BINDINGS = [SHOWN_QUIT]
    AUTO_FOCUS = "#name"

    @dataclass
    class Created(Message, bubble=False):
        operator: OperatorInfo

    @dataclass
    class Refused(Message, bubble=False):
        reason: str
        field: str | None  # what to correct: name, role or pin

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="first-operator", classes="card"):
            yield Static("Premier compte du lieu", classes="card-title")
            yield Static(
                "Aucun compte n'existe encore sur ce poste : créez celui du ou de la "
                "responsable du lieu (les autres : mediateur-tui operator add)."
            )
            with Horizontal(classes="form-row"):
                yield Label("Nom")
                yield FormField(placeholder="Prénom Nom", id="name", enter_to="#pin")
            with Horizontal(classes="form-row"):
                yield Label("Rôle")
                yield Select(
                    [(label, role) for role, label in reversed(ROLE_LABELS.items())],
                    value="responsable",
                    allow_blank=False,
                    id="role",
                )
            with Horizontal(classes="form-row"):
                yield Label("Code PIN (4 à 12 chiffres)")
                yield FormField(password=True, max_length=12, id="pin")
            with Horizontal(classes="form-row"):
                yield Label("Le même, à nouveau")
                yield OrderedInput(password=True, max_length=12, id="pin-again")
            yield Static("", id="operator-message", classes="message error")
            yield Static(
                "Entrée : champ suivant, puis créer le compte · Tab : le rôle", classes="hint"
            )
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "premier compte"

    def work_failed(self, worker: Worker[object], error: BaseException) -> bool:
        self._say(failure_text(error))
        self.app.bell()
        return True

    @on(Input.Submitted, "#pin-again")
    def create(self) -> None:
        name = self.query_one("#name", Input).value
        pin = self.query_one("#pin", Input).value
        again = self.query_one("#pin-again", Input).value
        if pin != again:
            self._clear_pins()
            self.query_one("#pin", Input).focus()
            self._say("Les deux codes PIN diffèrent : tapez-les à nouveau.")
            return
        self._say("Création du compte…")
        self.add(name, str(self.query_one("#role", Select).value), pin)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def add(self, name: str, role: str, pin: str) -> None:
        # The PIN hash (scrypt) is deliberately slow: off the event loop.
        try:
            operator = self.context.site.accounts.add(name, role, pin)
        except UserError as error:
            self.post_message(self.Refused(str(error), error.field))
            return
        self.post_message(self.Created(operator))

    @on(Refused)
    def refused(self, message: Refused) -> None:
        self._say(message.reason)
        if message.field == "pin":
            self._clear_pins()
        field = {"name": "#name", "role": "#role", "pin": "#pin"}.get(message.field or "")
        if field is not None:
            self.query_one(field).focus()
        self.app.bell()

    @on(Created)
    def created(self, message: Created) -> None:
        operator = message.operator
        self.notify(
            f"Compte créé : {operator.name} ({ROLE_LABELS[operator.role]}). Connectez-vous."
        )
        self.post_message(FirstScreenWanted())

    def _clear_pins(self) -> None:
        self.query_one("#pin", Input).value = ""
        self.query_one("#pin-again", Input).value = ""

    def _say(self, message: str) -> None:
        self.query_one("#operator-message", Static).update(message)
