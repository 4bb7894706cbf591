"""F1: the keys of the current screen and a reminder of what the verdicts mean (left out on
the screens of the distributor's desk, which set DESK_HELP = False)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from mediateur_tui.domain.verdicts import VERDICT_LABELS
from mediateur_tui.ui.accessibility import ACCESSIBLE_CLASS

KEY_NAMES = {"escape": "Échap", "enter": "Entrée", "ctrl": "Ctrl", "f1": "F1", "f2": "F2"}

PALETTE = "Ctrl+P ouvre la palette de commandes : toutes les actions de l'écran y sont."
GENERAL = (
    "[b]Au guichet[/b]\n"
    "Scannez le pass (ou tapez son code, tirets et espaces facultatifs), puis Entrée. "
    "Cadre vert : pass encaissé. Orange : encaissé, avec un avertissement à lire. "
    "Rouge : refusé, avec la raison. Un bip : avertissement ; deux bips : refus. "
    "Une double lecture du même pass n'est comptée qu'une fois.\n" + PALETTE
)
ACCESSIBLE = (
    "[b]Mode accessible[/b] : {state}. Curseur du terminal visible, sans animation, contraste "
    "élevé, chaque verdict aussi en une ligne de texte. Touche A ici pour {change} ; "
    "ou Ctrl+P « Mode accessible », ou « mediateur-tui --accessible »."
)


def key_label(key: str) -> str:
    first = key.split(",")[0]
    return "+".join(KEY_NAMES.get(part, part.upper()) for part in first.split("+"))


def is_listed(binding: Binding) -> bool:
    """Whether F1 and the command palette list a binding: every one of ours that has a
    description, shown in the footer or not (a footer has only 80 columns). Textual's own
    hidden bindings (cursor keys of a table, an input's editing keys) have no id: left out."""
    return bool(binding.description) and (binding.show or binding.id is not None)


def binding_title(binding: Binding) -> str:
    """The words for F1 and the palette: the tooltip when the footer's description is short."""
    return binding.tooltip or binding.description


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,f1", "close", "Fermer l'aide", id="help.close"),
        Binding("a", "toggle_accessible", "Mode accessible", id="help.accessible"),
    ]

    def __init__(self, screen: Screen[object]) -> None:
        super().__init__()
        self.for_screen = screen

    def compose(self) -> ComposeResult:
        keys = [
            f"  [b]{key_label(active.binding.key)}[/b]  {binding_title(active.binding)}"
            for active in self.for_screen.active_bindings.values()
            if is_listed(active.binding)
        ]
        notes = getattr(self.for_screen, "KEY_NOTES", "")
        verdicts = " · ".join(VERDICT_LABELS.values())
        with VerticalScroll(classes="dialog", id="help"):
            yield Static("Aide", classes="card-title")
            yield Static("[b]Touches de cet écran[/b]\n" + "\n".join(dict.fromkeys(keys)))
            if notes:
                yield Static(notes, classes="help-section")
            if getattr(self.for_screen, "DESK_HELP", True):
                yield Static(GENERAL, classes="help-section")
                yield Static("[b]Les verdicts possibles[/b]\n" + verdicts, classes="help-section")
            else:
                yield Static(PALETTE, classes="help-section")
            yield Static(self._accessible_text(), classes="help-section", id="help-accessible")
            yield Static("Échap : fermer", classes="hint")

    def _accessible_text(self) -> str:
        on = self.app.has_class(ACCESSIBLE_CLASS)
        return ACCESSIBLE.format(
            state="activé" if on else "désactivé", change="le désactiver" if on else "l'activer"
        )

    async def action_toggle_accessible(self) -> None:
        await self.app.run_action("toggle_accessible")
        self.query_one("#help-accessible", Static).update(self._accessible_text())

    def action_close(self) -> None:
        self.dismiss(None)
