"""The scan input: takes a scanner's burst of keys, one scan per Enter, without mixing scans."""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class ScanField(Input):
    """An Input that submits, and empties itself, as soon as it receives Enter.

    A plain Input submits through its "enter" binding, which only runs once the key has
    bubbled up to the app; by then the Input may already have taken the first characters of
    the next scan of a burst, which get glued to this scan (or wiped when the screen clears
    the field). Here the value is taken and cleared in the Input's own, ordered, key handling.
    Handlers of Submitted must not clear the field themselves.
    """

    async def _on_key(self, event: events.Key) -> None:
        if event.key != "enter":
            return  # Input._on_key (next in the MRO) inserts printable characters
        event.stop()
        event.prevent_default()
        text = self.value
        self.value = ""
        self.post_message(self.Submitted(self, text, None))
