"""The scan field tells a person's keys from a scanner's burst by their timing (each Key
event's own arrival time), and the desk reads the text accordingly (domain/keyboard.py): digits
typed without Shift on AZERTY by hand, a US scanner's layout in a burst."""

from __future__ import annotations

from textual import events, on
from textual.app import App, ComposeResult

from mediateur_tui.domain.codes import format_code, normalise
from mediateur_tui.domain.keyboard import Situation, Typing
from mediateur_tui.services.desk import Desk
from mediateur_tui.ui.widgets.scan_field import ScanField

from .helpers import SIZE, bare, burst, settle
from .test_flow import start_session, verdict

HAND = Situation.DIGITS_WITHOUT_SHIFT
KEY_NAMES = {"&": "ampersand", "é": "eacute", '"': "quotation_mark", "'": "apostrophe"}


def typed_by_hand(app, text: str, gap: float = 0.15) -> None:
    """Sends the keys of `text`, then Enter, as a person types them: `gap` seconds apart."""
    start = events.Key("enter", "\r").time
    for index, character in enumerate([*text, "\r"]):
        if character == "\r":
            event = events.Key("enter", "\r")
        else:
            key = character if character.isalnum() else KEY_NAMES.get(character, character)
            event = events.Key(key, character)
        event.time = start + index * gap
        event.set_sender(app)
        app.post_message(event)


def swappable_code(codes: list[str]) -> str:
    """A demo code that a US scanner's reading would change (A/Q or Z/W)."""
    for text in codes:
        code = bare(text)
        typed = HAND.type_as(code)
        if normalise(Situation.US_ON_AZERTY.undo(typed)) != code:
            return code
    raise AssertionError("no demo code holds A, Q, Z or W")


async def test_digits_typed_without_shift_by_hand_are_read_as_meant(demo):
    code = swappable_code(demo.codes["valid"])
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await start_session(pilot)
        typed_by_hand(app, HAND.type_as(code))
        await settle(pilot)
        shown = verdict(app)
        assert "PASS VALIDE" in shown and format_code(code) in shown
        assert "tapez les chiffres avec la touche Maj" in shown
    assert [redemption.code for redemption in demo.redemptions()] == [code]


async def test_the_same_text_in_a_burst_is_read_as_a_us_scanner_would(demo):
    code = swappable_code(demo.codes["valid"])
    typed = HAND.type_as(code)
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await start_session(pilot)
        burst(app, typed + "\n")
        await settle(pilot)
        assert format_code(code) not in verdict(app)
    assert demo.redemptions() == []
    # What the desk reads without any timing (a command line): never another code.
    result = Desk(demo.engine).check(typed)
    assert result.code in (code, None)


class _FieldApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.typings: list[Typing] = []

    def compose(self) -> ComposeResult:
        yield ScanField(id="field")

    @on(ScanField.Submitted)
    def note(self, event: ScanField.Submitted) -> None:
        self.typings.append(event.typing)


async def test_a_text_given_back_then_replaced_by_a_scan_is_timed_as_the_scan():
    app = _FieldApp()
    async with app.run_test() as pilot:
        field = app.query_one(ScanField)
        field.give_back("ABCD", fault_at=1)
        burst(app, "WXYZ1234\n")  # replaces the selected text: a burst
        await pilot.pause()
        field.give_back("ABCD", fault_at=1)
        await pilot.press("end")  # edits the text given back: partly typed, partly not
        burst(app, "EF\n")
        await pilot.pause()
        typed_by_hand(app, "ABCD1234")
        await pilot.pause()
    assert app.typings == [Typing.SCANNER, Typing.UNKNOWN, Typing.HAND]
