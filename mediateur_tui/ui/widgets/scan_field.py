"""The scan input: takes a scanner's burst of keys, one scan per Enter, without mixing scans."""

from __future__ import annotations

from textual import events
from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import Input
from textual.widgets.input import Selection


class ScanField(Input):
    """An Input that submits, and empties itself, as soon as it receives Enter.

    A plain Input submits through its "enter" binding, which only runs once the key has
    bubbled up to the app; by then the Input may already have taken the first characters of
    the next scan of a burst, which get glued to this scan (or wiped when the screen clears
    the field). Here the value is taken and cleared in the Input's own, ordered, key handling.
    Handlers of Submitted must not clear the field themselves.

    A refused text given back (`give_back`) is selected whole, so that the next scan replaces
    it instead of being glued to it; the first ← or → puts the cursor on its faulty character.
    """

    # Input sets its virtual size (its text's width, how far it scrolls) at every change of
    # its value, and Widget's reactive lays the whole screen out again for it: every key of a
    # scan, and its Enter, repainted every widget (the session's table too) while the scan
    # was being checked. The field's own size never depends on its text: a repaint is enough.
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), repaint=True)
    fault_at: int | None = None

    def give_back(self, text: str, fault_at: int | None) -> None:
        self.value = text
        self.selection = Selection(0, len(text))
        self.fault_at = fault_at

    async def _on_key(self, event: events.Key) -> None:
        fault_at, self.fault_at = self.fault_at, None
        given_back_still = self.selection == Selection(0, len(self.value))
        if fault_at is not None and given_back_still and event.key in ("left", "right"):
            event.stop()
            event.prevent_default()
            self.cursor_position = fault_at
            return
        if event.key != "enter":
            return  # Input._on_key (next in the MRO) inserts printable characters
        event.stop()
        event.prevent_default()
        text = self.value
        self.value = ""
        self.post_message(self.Submitted(self, text, None))
