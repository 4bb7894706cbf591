"""The footer of every screen: the screen's keys, compact so that they fit in 80 columns."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Footer


class KeysFooter(Footer):
    """Compact, and without the palette hint: F1 (always shown) tells about Ctrl+P."""

    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)


# The app's Ctrl+Q is hidden from footers (80 columns are short on most screens); a screen
# with room puts this one in its BINDINGS to show it. Priority, like the app's: it wins there.
SHOWN_QUIT = Binding("ctrl+q", "app.quit", "Quitter", priority=True, id="screen.quit")
