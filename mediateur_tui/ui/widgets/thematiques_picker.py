"""The Coop's thématiques to tick, with type-to-filter: letters typed in the list keep the
thématiques whose label holds them (accents ignored), Backspace takes one back, Escape clears
the filter, Space ticks."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from rich.segment import Segment
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.strip import Strip
from textual.widgets import SelectionList, Static
from textual.widgets._toggle_button import ToggleButton
from textual.widgets.option_list import OptionDoesNotExist
from textual.widgets.selection_list import Selection

from mediateur_tui.domain.activity import Thematique
from mediateur_tui.ui.widgets.toggles import TICKED, UNTICKED

FILTER_HINT = "Tapez pour filtrer, Espace : cocher"
FILTER_SHOWN = "Échap : tout revoir"


def folded(text: str) -> str:
    """Lower case without accents: what the filter compares."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def prompt(theme: Thematique) -> str:
    """An administrative thématique shows under « Aide aux démarches administratives »."""
    return f"└ {theme.label}" if theme.administrative else theme.label


class ThematiquesList(SelectionList[Thematique]):
    """The list; the letters typed go to its filter."""

    def __init__(self, chosen: Iterable[Thematique], id: str | None = None) -> None:
        super().__init__(id=id)
        self.chosen = list(chosen)
        self.filter = ""
        self._fill()

    @property
    def picker(self) -> ThematiquesPicker:
        parent = self.parent
        assert isinstance(parent, ThematiquesPicker)
        return parent

    class Submitted(Message):
        """Enter in the list: the form's Enter, not a tick (Space ticks)."""

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            self.post_message(self.Submitted())
        elif event.key == "space":  # here, in the order typed, not once the key bubbled up
            if self.highlighted is not None:
                self.toggle(self.get_option_at_index(self.highlighted))
        elif event.key == "backspace" and self.filter:
            self._refilter(self.filter[:-1])
        elif event.key == "escape" and self.filter:  # the filter goes first, then the form
            self._refilter("")
        elif event.is_printable and event.character and event.character != " ":
            self._refilter(self.filter + event.character)
        else:
            return
        event.stop()
        event.prevent_default()

    @on(SelectionList.SelectionToggled)
    def toggled(self, event: SelectionList.SelectionToggled[Thematique]) -> None:
        theme = event.selection.value
        if theme in self.chosen:
            self.chosen.remove(theme)
        else:
            self.chosen.append(theme)
        self.picker.show_state()

    def render_line(self, y: int) -> Strip:
        """The ticked thématiques get another mark than the others, not only another colour."""
        line = super().render_line(y)
        try:
            selection = self.get_option_at_index(self.scroll_offset.y + y)
        except OptionDoesNotExist:
            return line
        segments = list(line)
        if len(segments) > 1 and segments[1].text == ToggleButton.BUTTON_INNER:
            mark = TICKED if selection.value in self.chosen else UNTICKED
            segments[1] = Segment(mark, segments[1].style)
        return Strip(segments)

    def _refilter(self, text: str) -> None:
        self.filter = text
        self.clear_options()
        self._fill()
        self.highlighted = 0 if self.option_count else None
        self.picker.show_state()

    def _fill(self) -> None:
        wanted = folded(self.filter)
        self.add_options(
            Selection(prompt(theme), theme, theme in self.chosen)
            for theme in Thematique
            if wanted in folded(theme.label)
        )


class ThematiquesPicker(Vertical):
    """A line that says the filter and what is ticked, then the list."""

    DEFAULT_CSS = """
    ThematiquesPicker { height: auto; }
    ThematiquesPicker > SelectionList { height: 7; border: none; padding: 0; }
    ThematiquesPicker > SelectionList:focus { border: none; }
    ThematiquesPicker > Static { height: auto; max-height: 2; color: $text-muted; }
    """

    def __init__(self, chosen: Iterable[Thematique], id: str | None = None) -> None:
        super().__init__(id=id)
        self._list = ThematiquesList(chosen, id=f"{id}-list" if id else None)

    def compose(self) -> ComposeResult:
        yield Static(self._state_text(), classes="picker-state")
        yield self._list

    @property
    def values(self) -> tuple[Thematique, ...]:
        return tuple(self._list.chosen)

    def focus(self, scroll_visible: bool = True) -> ThematiquesPicker:
        self._list.focus(scroll_visible)
        return self

    def show_state(self) -> None:
        self.query_one(".picker-state", Static).update(self._state_text())

    def _state_text(self) -> str:
        ticked = ", ".join(theme.label for theme in self._list.chosen) or "aucune"
        shown = self._list.filter
        search = f"Filtre « {shown} » ({FILTER_SHOWN})" if shown else FILTER_HINT
        return f"{search} · cochées : {ticked}"
