"""The scanner self-test screen (F3), from home and from a session."""

from __future__ import annotations

import asyncio

from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.keyboard import Situation
from mediateur_tui.domain.scanner_diagnosis import SILENCE_SECONDS, Finding
from mediateur_tui.ui.screens.help import HelpScreen
from mediateur_tui.ui.screens.home import HomeScreen
from mediateur_tui.ui.screens.scanner_test import SCANNER_TEST, ScannerTestScreen
from mediateur_tui.ui.screens.session import SessionScreen

from .helpers import SIZE, bare, burst, log_in, settle, text_of


async def open_from_a_session(pilot) -> None:
    await log_in(pilot)
    await pilot.press("n")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, SessionScreen)
    await pilot.press("f3")
    await settle(pilot)


async def diagnosed(pilot) -> ScannerTestScreen:
    """Waits (with a deadline) for the screen to show the diagnosis of the burst sent."""
    screen = pilot.app.screen
    assert isinstance(screen, ScannerTestScreen)
    async with asyncio.timeout(SILENCE_SECONDS + 10):
        while screen.diagnosis is None:
            await pilot.pause(0.05)
    await settle(pilot)
    return screen


async def test_from_home_a_us_scanner_on_azerty_is_diagnosed_and_escape_returns(demo):
    code = bare(demo.codes["valid"][0])
    typed = Situation.US_ON_AZERTY.type_as(code)
    assert typed != code
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press(*typed, "enter")
        screen = await diagnosed(pilot)
        assert screen.diagnosis.text == typed
        assert screen.diagnosis.ended_by_enter
        assert Finding.US_ON_AZERTY in screen.diagnosis.findings
        assert "clavier américain" in text_of(screen.query_one("#scanner-diagnosis"))
        assert format_code(code) in text_of(screen.query_one("#scanner-reading"))
        assert "Keyboard language" in text_of(screen.query_one("#scanner-advice"))
        assert typed in text_of(screen.query_one("#scanner-received"))
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)


async def test_from_a_session_a_caps_lock_payload_and_back_to_the_scan_field(demo):
    payload = demo.codes["valid"][1]
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_from_a_session(pilot)
        assert isinstance(app.screen, ScannerTestScreen)
        burst(app, Situation.US_ON_AZERTY_CAPS.type_as(payload) + "\n")
        screen = await diagnosed(pilot)
        assert screen.diagnosis.findings == (Finding.US_ON_AZERTY, Finding.CAPS_LOCK)
        assert format_code(bare(payload)) in screen.diagnosis.reading
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SessionScreen)
        assert app.focused is app.screen.query_one("#scan")
        assert app.screen.lines == []  # nothing was taken by the test


async def test_a_burst_without_enter_is_diagnosed_once_the_keys_stop(demo):
    code = bare(demo.codes["valid"][2])
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await pilot.press("f3")
        await settle(pilot)
        burst(app, code)
        screen = await diagnosed(pilot)
        assert screen.diagnosis.text == code
        assert Finding.NO_ENTER in screen.diagnosis.findings
        assert "Entrée" in text_of(screen.query_one("#scanner-diagnosis"))


async def test_f1_and_the_palette_list_the_self_test_on_home_and_in_a_session(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        assert SCANNER_TEST in [command.title for command in app.get_system_commands(app.screen)]
        await open_from_a_session(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SessionScreen)
        assert SCANNER_TEST in [command.title for command in app.get_system_commands(app.screen)]
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert "F3  " + SCANNER_TEST in " ".join(text_of(s) for s in app.screen.query("Static"))


async def test_a_tab_suffix_reaches_the_self_test_instead_of_moving_the_focus(demo):
    code = bare(demo.codes["valid"][0])
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press(*code, "tab")  # a scanner set to end its reads with Tab
        screen = await diagnosed(pilot)  # after the silence: no Enter came
        assert screen.diagnosis.text == code + "\t"
        assert screen.diagnosis.shown.endswith("⇥")
        assert Finding.NO_ENTER in screen.diagnosis.findings
