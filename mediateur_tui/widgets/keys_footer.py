"""The footer of every screen: the screen's keys, compact so that they fit in 80 columns."""

from __future__ import annotations

from textual.widgets import Footer


class KeysFooter(Footer):
    """Compact, and without the palette hint: F1 (always shown) tells about Ctrl+P."""

    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)
