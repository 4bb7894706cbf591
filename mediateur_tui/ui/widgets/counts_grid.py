"""Anonymous counts by the values of one of the Coop's enumerations (genre, age band, social
status): a small number field per value, blank for none."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic

from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Input, Label

from mediateur_tui.domain.activity import E
from mediateur_tui.domain.errors import UserError
from mediateur_tui.ui.widgets.form_field import OrderedInput


class CountsGrid(Grid, Generic[E]):
    DEFAULT_CSS = """
    CountsGrid { grid-size: 6; grid-columns: 1fr 6 1fr 6 1fr 6; grid-rows: auto; height: auto; }
    CountsGrid > Label { width: 1fr; height: auto; text-align: right; padding-right: 1; }
    CountsGrid > Input { width: 6; height: 1; border: none; padding: 0 1; }
    """

    def __init__(self, enum: type[E], counts: Mapping[E, int], *, id: str) -> None:
        super().__init__(id=id)
        self.enum = enum
        self._counts = dict(counts)

    def compose(self) -> ComposeResult:
        for member in self.enum:
            yield Label(member.label)
            count = self._counts.get(member)
            yield OrderedInput(
                value=str(count) if count else "",
                placeholder="0",
                restrict=r"[0-9]*",
                max_length=3,
                id=f"{self.id}-{member.value}",
            )

    @property
    def counts(self) -> dict[E, int]:
        """The counts typed, the blank ones left out."""
        found: dict[E, int] = {}
        for member in self.enum:
            text = self.query_one(f"#{self.id}-{member.value}", Input).value.strip()
            if not text:
                continue
            if not text.isdigit():
                raise UserError(f"« {member.label} » : tapez un nombre.", field=self.id)
            if int(text):
                found[member] = int(text)
        return found

    def focus(self, scroll_visible: bool = True) -> CountsGrid[E]:
        self.query(Input).first().focus(scroll_visible)
        return self
