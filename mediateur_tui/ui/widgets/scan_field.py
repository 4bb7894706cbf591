"""The scan input: takes a scanner's burst of keys, one scan per Enter, without mixing scans."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import Input
from textual.widgets.input import Selection

from mediateur_tui.domain.keyboard import Typing


class ScanField(Input):
    """An Input that submits, and empties itself, as soon as it receives Enter.

    A plain Input submits through its "enter" binding, which only runs once the key has
    bubbled up to the app; by then the Input may already have taken the first characters of
    the next scan of a burst, which get glued to this scan (or wiped when the screen clears
    the field). Here the value is taken and cleared in the Input's own, ordered, key handling.
    Handlers of Submitted must not clear the field themselves.

    A refused text given back (`give_back`) is selected whole, so that the next scan replaces
    it instead of being glued to it; the first ← or → puts the cursor on its faulty character.

    Each submission says how its text came (`Submitted.typing`), from the moments its keys
    arrived (each Key event's own `time`, set when Textual read it from the terminal): a
    scanner's burst or a person's keys; not known for a paste or a text given back and edited.
    """

    @dataclass
    class Submitted(Input.Submitted):
        typing: Typing = Typing.UNKNOWN

    # Input sets its virtual size (its text's width, how far it scrolls) at every change of
    # its value, and Widget's reactive lays the whole screen out again for it: every key of a
    # scan, and its Enter, repainted every widget (the session's table too) while the scan
    # was being checked. The field's own size never depends on its text: a repaint is enough.
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), repaint=True)
    fault_at: int | None = None
    _key_times: tuple[float, ...] = ()
    _mixed = False  # the text holds characters that did not come as keys

    def give_back(self, text: str, fault_at: int | None) -> None:
        self.value = text
        self.selection = Selection(0, len(text))
        self.fault_at = fault_at
        self._mixed = True

    def _on_paste(self, event: events.Paste) -> None:
        self._mixed = True  # Input._on_paste (next in the MRO) inserts the text

    def _typing(self) -> Typing:
        return Typing.UNKNOWN if self._mixed else Typing.of(self._key_times)

    async def _on_key(self, event: events.Key) -> None:
        fault_at, self.fault_at = self.fault_at, None
        given_back_still = self.selection == Selection(0, len(self.value))
        if given_back_still and event.is_printable:  # it replaces the whole text: a new one
            self._key_times, self._mixed = (), False
        self._key_times += (event.time,)
        if fault_at is not None and given_back_still and event.key in ("left", "right"):
            event.stop()
            event.prevent_default()
            self.cursor_position = fault_at
            return
        if event.key != "enter":
            return  # Input._on_key (next in the MRO) inserts printable characters
        event.stop()
        event.prevent_default()
        text, typing = self.value, self._typing()
        self.value = ""
        self._key_times, self._mixed = (), False
        self.post_message(self.Submitted(self, text, None, typing))
