"""A field of a form that offers a few options on a line: ←/→ choose, Space ticks, a click
chooses or ticks.

One focus stop per field, and Enter is left to the form (it starts what the form is for):
a keyboard-only person goes through a form with Tab, the arrows and Space. The marks read
without colour (ui/widgets/toggles.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from mediateur_tui.ui.widgets.toggles import CHOSEN, NOT_CHOSEN, TICKED, UNTICKED

V = TypeVar("V")
GAP = "  "


class ChoiceRow(Widget, Generic[V], can_focus=True):
    """One option of a few (`multiple=False`: ←/→ change it) or any of them (`multiple=True`:
    ←/→ move, Space ticks)."""

    DEFAULT_CSS = """
    ChoiceRow { height: auto; width: 1fr; }
    ChoiceRow:focus { background: $boost; }
    """
    cursor: reactive[int] = reactive(0)

    @dataclass
    class Changed(Message):
        row: ChoiceRow[object]

        @property
        def control(self) -> ChoiceRow[object]:
            return self.row

    def __init__(
        self,
        options: Sequence[tuple[str, V]],
        chosen: Iterable[V] = (),
        *,
        multiple: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.options = list(options)
        self.multiple = multiple
        values = [value for _, value in self.options]
        self._chosen = [value for value in chosen if value in values]
        if not multiple and not self._chosen:
            self._chosen = values[:1]
        if self._chosen:
            self.cursor = values.index(self._chosen[0])

    @property
    def value(self) -> V:
        """The option chosen (one-of rows)."""
        return self._chosen[0]

    @property
    def values(self) -> tuple[V, ...]:
        """The options ticked, in the options' order (any-of rows)."""
        return tuple(value for _, value in self.options if value in self._chosen)

    def choose(self, value: V) -> None:
        self._chosen = [value]
        self.cursor = [option for _, option in self.options].index(value)
        self._changed()

    async def _on_key(self, event: events.Key) -> None:
        """The arrows and Space act here, in the order typed: a binding would act once the key
        has bubbled up, after a quick Tab typed next has moved the focus."""
        if event.key in ("left", "right"):
            self.action_move(-1 if event.key == "left" else 1)
        elif event.key == "space":
            self.action_tick()
        else:
            return
        event.stop()
        event.prevent_default()

    def on_click(self, event: events.Click) -> None:
        """A click chooses (or ticks) the option under the pointer."""
        index = self._option_at(event.x, event.y)
        if index is None:
            return
        self.focus()
        self.cursor = index
        if self.multiple:
            self.action_tick()
        else:
            self.choose(self.options[index][1])

    def action_move(self, step: int) -> None:
        self.cursor = (self.cursor + step) % len(self.options)
        if not self.multiple:
            self._chosen = [self.options[self.cursor][1]]
            self._changed()

    def action_tick(self) -> None:
        value = self.options[self.cursor][1]
        if not self.multiple:
            return
        if value in self._chosen:
            self._chosen.remove(value)
        else:
            self._chosen.append(value)
        self._changed()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines(width))

    def render(self) -> Text:
        text = Text()
        on, off = (TICKED, UNTICKED) if self.multiple else (CHOSEN, NOT_CHOSEN)
        for number, line in enumerate(self._lines(self.size.width)):
            if number:
                text.append("\n")
            for place, index in enumerate(line):
                label, value = self.options[index]
                if place:
                    text.append(GAP)
                mark = on if value in self._chosen else off
                style = "reverse" if self.has_focus and index == self.cursor else ""
                text.append(f"{mark} {label}", style=style)
        return text

    def _option_at(self, x: int, y: int) -> int | None:
        lines = self._lines(self.size.width)
        if not 0 <= y < len(lines):
            return None
        start = 0
        for index in lines[y]:
            end = start + len(self.options[index][0]) + 2
            if start <= x < end:
                return index
            start = end + len(GAP)
        return None

    def _lines(self, width: int) -> list[list[int]]:
        """The options' indexes line by line: an option is never cut (unless alone)."""
        lines: list[list[int]] = [[]]
        used = 0
        for index, (label, _) in enumerate(self.options):
            size = len(label) + 2
            if lines[-1] and used + len(GAP) + size > width:
                lines.append([])
                used = 0
            used += size + (len(GAP) if lines[-1] else 0)
            lines[-1].append(index)
        return lines

    def _changed(self) -> None:
        self.refresh(layout=True)
        self.post_message(self.Changed(self))  # type: ignore[arg-type]
