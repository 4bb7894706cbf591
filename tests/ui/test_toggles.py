"""Checkboxes and radio buttons: their state reads without colour (a mark for each state)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import RadioSet

from mediateur_tui.ui.widgets.toggles import ChoiceButton, TickBox

from .helpers import SIZE, text_of


class Toggles(App[None]):
    def compose(self) -> ComposeResult:
        yield TickBox("Accompagnée", id="box")
        with RadioSet():
            yield ChoiceButton("Toutes", value=True, id="all")
            yield ChoiceButton("Une seule", id="one")


async def test_ticked_and_chosen_show_another_mark_than_their_opposite():
    app = Toggles()
    async with app.run_test(size=SIZE) as pilot:
        box = app.query_one(TickBox)
        assert text_of(box).startswith("▐✗▌")
        box.focus()
        await pilot.press("space")
        await pilot.pause()
        assert box.value
        assert text_of(box).startswith("▐✓▌")
        one = app.query_one("#one", ChoiceButton)
        assert [text_of(b)[:3] for b in app.query(ChoiceButton)] == ["▐●▌", "▐○▌"]
        one.value = True
        await pilot.pause()
        assert [text_of(b)[:3] for b in app.query(ChoiceButton)] == ["▐○▌", "▐●▌"]
