"""Inputs that take quick typing in order; a form's field, whose Enter goes to the next one."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.binding import Binding
from textual.widgets import Input


class OrderedInput(Input):
    """An Input whose keys take effect in the order they were typed.

    The app forwards each key to the widget focused when it takes the key from its queue. A
    plain Input inserts a character at once, but its bound keys (Backspace, arrows, Home, End,
    Enter…) only run once the key has bubbled up to the app: by then the next keys of quick
    typing may already be in the field (a key typed right after Enter went into what Enter
    submitted). Here the field's own bindings run in its ordered key handling.
    """

    async def _on_key(self, event: events.Key) -> None:
        if event.is_printable:
            return  # Input._on_key (next in the MRO) inserts it
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            if not binding.priority:
                event.stop()
                event.prevent_default()
                await self.run_action(binding.action)
                return


class FormField(OrderedInput):
    """A field of a form, whose Enter moves the focus to the next field, at once.

    A move of the focus done once a key has been handled (the screen's Tab binding, a Submitted
    handler) comes after the next keys were forwarded to this field: `Durand`, Tab, `Paul` gave
    Nom = `DurandPaul`. Enter is a priority binding here, which runs while the app dispatches
    the key (the app binds Tab the same way), so that the next key already goes to the next
    field.
    """

    BINDINGS = [Binding("enter", "next_field", "Champ suivant", show=False, priority=True)]

    def __init__(self, value: str | None = None, *, enter_to: str | None = None, **kwargs: Any):
        """`enter_to`: the selector of the field Enter goes to, when not the next one."""
        super().__init__(value, **kwargs)
        self.enter_to = enter_to

    def action_next_field(self) -> None:
        if self.enter_to is None:
            self.screen.focus_next()
        else:
            self.screen.query_one(self.enter_to).focus()
