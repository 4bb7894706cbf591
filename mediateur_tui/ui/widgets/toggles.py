"""Checkboxes and radio buttons whose state reads without colour.

Textual's draw the same mark whether on or off (an X, a dot), only in another colour: a
colour-blind user, or a monochrome terminal, cannot tell them apart. These draw a different
mark for each state.
"""

from __future__ import annotations

from textual.widgets import Checkbox, RadioButton

TICKED, UNTICKED = "✓", "✗"
CHOSEN, NOT_CHOSEN = "●", "○"


class TickBox(Checkbox):
    def on_mount(self) -> None:
        self._mark()

    def watch_value(self) -> None:
        self._mark()
        super().watch_value()

    def _mark(self) -> None:
        self.BUTTON_INNER = TICKED if self.value else UNTICKED


class ChoiceButton(RadioButton):
    def on_mount(self) -> None:
        self._mark()

    def watch_value(self) -> None:
        self._mark()
        super().watch_value()

    def _mark(self) -> None:
        self.BUTTON_INNER = CHOSEN if self.value else NOT_CHOSEN
