"""The footer of every screen: the screen's keys, compact so that they fit in 80 columns."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

# Textual's own keys shown in a footer (show=True), by their English description: an open
# list of a Select (its SelectOverlay), the command palette, a Link.
TEXTUAL_DESCRIPTIONS = {
    "Dismiss menu": "Fermer la liste",
    "Exit the command palette": "Fermer la palette",
    "Open link": "Ouvrir le lien",
}


def french_description(description: str) -> str:
    return TEXTUAL_DESCRIPTIONS.get(description, description)


def key_width(key: FooterKey) -> int:
    """The cells of a key in a compact footer: `n Séance`."""
    return len(key.key_display) + (1 + len(key.description) if key.description else 0)


def action_name(action: str) -> str:
    return action.split("(", 1)[0]


class KeysFooter(Footer):
    """Compact, and without the palette hint: F1 (always shown) tells about Ctrl+P.

    When the screen's keys do not fit in the terminal's width, those of the actions its
    `FOOTER_DROPS_FIRST` names are left out, in that order, until the others fit: F1 and the
    palette list every key. (Textual's footer would cut the last keys, F1 among them.)"""

    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)

    def compose(self) -> ComposeResult:
        widgets = list(super().compose())
        for widget in widgets:
            if isinstance(widget, FooterKey):
                widget.description = french_description(widget.description)
        droppable: tuple[str, ...] = getattr(self.screen, "FOOTER_DROPS_FIRST", ())
        for action in droppable:
            keys = [widget for widget in widgets if isinstance(widget, FooterKey)]
            if sum(key_width(key) for key in keys) + len(keys) - 1 <= self.app.size.width:
                break
            widgets = [
                widget
                for widget in widgets
                if not (isinstance(widget, FooterKey) and action_name(widget.action) == action)
            ]
        yield from widgets

    def on_resize(self) -> None:
        self.refresh(recompose=True)  # another width may fit other keys


# The app's Ctrl+Q is hidden from footers (80 columns are short on most screens); a screen
# with room puts this one in its BINDINGS to show it. Priority, like the app's: it wins there.
SHOWN_QUIT = Binding("ctrl+q", "app.quit", "Quitter", priority=True, id="screen.quit")
