"""The site's first account, when the replica is there but nobody can log in yet."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, Input, Label, Select, Static

from mediateur_tui.services.auth import ROLES, OperatorInfo, add_operator
from mediateur_tui.widgets.keys_footer import SHOWN_QUIT, KeysFooter


class FirstOperatorScreen(Screen):
    """Name, role (responsable by default), PIN twice; then the log-in."""

    BINDINGS = [SHOWN_QUIT]
    AUTO_FOCUS = "#name"

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
                yield Input(placeholder="Prénom Nom", id="name")
            with Horizontal(classes="form-row"):
                yield Label("Rôle")
                yield Select(
                    [(label, role) for role, label in reversed(ROLES.items())],
                    value="responsable",
                    allow_blank=False,
                    id="role",
                )
            with Horizontal(classes="form-row"):
                yield Label("Code PIN (4 à 12 chiffres)")
                yield Input(password=True, max_length=12, id="pin")
            with Horizontal(classes="form-row"):
                yield Label("Le même, à nouveau")
                yield Input(password=True, max_length=12, id="pin-again")
            yield Static("", id="operator-message", classes="message error")
            yield Static(
                "Entrée : champ suivant, puis créer le compte · Tab : le rôle", classes="hint"
            )
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "premier compte"

    @on(Input.Submitted, "#name")
    def name_entered(self) -> None:
        self.query_one("#pin", Input).focus()

    @on(Input.Submitted, "#pin")
    def pin_entered(self) -> None:
        self.query_one("#pin-again", Input).focus()

    @on(Input.Submitted, "#pin-again")
    def create(self) -> None:
        name = self.query_one("#name", Input).value
        pin = self.query_one("#pin", Input).value
        again = self.query_one("#pin-again", Input).value
        if pin != again:
            self.query_one("#pin", Input).value = ""
            self.query_one("#pin-again", Input).value = ""
            self.query_one("#pin", Input).focus()
            self._say("Les deux codes PIN diffèrent : tapez-les à nouveau.")
            return
        self._say("Création du compte…")
        self.add(name, str(self.query_one("#role", Select).value), pin)

    @work(thread=True, exclusive=True)
    def add(self, name: str, role: str, pin: str) -> None:
        # The PIN hash (scrypt) is deliberately slow: off the event loop.
        try:
            operator = add_operator(self.app.engine, name, role, pin)
        except ValueError as error:
            self.app.call_from_thread(self._refused, str(error))
            return
        self.app.call_from_thread(self._created, operator)

    def _refused(self, message: str) -> None:
        self._say(message)
        self.app.bell()

    def _created(self, operator: OperatorInfo) -> None:
        self.notify(f"Compte créé : {operator.name} ({ROLES[operator.role]}). Connectez-vous.")
        self.app.open_first_screen()

    def _say(self, message: str) -> None:
        self.query_one("#operator-message", Static).update(message)
