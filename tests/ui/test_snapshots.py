"""SVG snapshots of every screen at 80×24 (pytest-textual-snapshot).

Everything on screen is deterministic: fixed clock, fixed demo region, data written through
the desk services with fixed clocks. Update with `pytest tests/ui --snapshot-update`, then look
at the SVGs in tests/ui/__snapshots__/ before committing them.
"""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import Input

from .helpers import DEMO_PINS, NOW, SIZE, log_in, scan, settle


async def still(pilot) -> None:
    """Lets the app settle, then stops the cursors blinking so that the picture is stable."""
    await settle(pilot)
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


async def open_session(pilot) -> None:
    await log_in(pilot)
    await pilot.press("n")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


def test_login_screen(demo, snap_compare):
    async def run_before(pilot) -> None:
        await still(pilot)

    assert snap_compare(demo.app(DEMO_PINS), terminal_size=SIZE, run_before=run_before)


def test_home_screen(demo, snap_compare):
    operator = demo.operator()
    valid = demo.codes["valid"]
    # Earlier this month: two ended sessions; this morning: one still open.
    for days_ago, title, codes in (
        (25, "Atelier courriel", valid[0:3]),
        (11, "Démarches CAF", valid[3:4]),
        (0, "Atelier smartphone", valid[4:6]),
    ):
        start = NOW - timedelta(days=days_ago, hours=1)
        desk = demo.desk(start)
        session_id = desk.start_session(operator.id, title, "collectif", "", 90).id
        for text in codes:
            desk.redeem(session_id, operator.id, text)
        if days_ago:
            desk.end_session(session_id)

    async def run_before(pilot) -> None:
        await log_in(pilot)
        await still(pilot)

    assert snap_compare(demo.app(), terminal_size=SIZE, run_before=run_before)


def test_new_session_modal(demo, snap_compare):
    async def run_before(pilot) -> None:
        await log_in(pilot)
        await pilot.press("n")
        await still(pilot)

    assert snap_compare(demo.app(), terminal_size=SIZE, run_before=run_before)


def test_session_after_a_valid_and_a_refused_scan(demo, snap_compare):
    async def run_before(pilot) -> None:
        await open_session(pilot)
        await scan(pilot, demo.codes["valid"][0])
        await scan(pilot, demo.codes["redeemed_elsewhere"][1])
        await still(pilot)

    assert snap_compare(demo.app(), terminal_size=SIZE, run_before=run_before)


def test_cancel_modal(demo, snap_compare):
    async def run_before(pilot) -> None:
        await open_session(pilot)
        await scan(pilot, demo.codes["valid"][1])
        await pilot.press("ctrl+z")
        await settle(pilot)
        await pilot.press("enter")  # no reason yet: the dialog says it is required
        await still(pilot)

    assert snap_compare(demo.app(), terminal_size=SIZE, run_before=run_before)


def test_verify_screen_with_a_grace_verdict(demo, snap_compare):
    async def run_before(pilot) -> None:
        await log_in(pilot)
        await pilot.press("v")
        await settle(pilot)
        await scan(pilot, demo.codes["grace"][0])
        await still(pilot)

    assert snap_compare(demo.app(), terminal_size=SIZE, run_before=run_before)


def test_history_screen(history_data, snap_compare):
    async def run_before(pilot) -> None:
        await log_in(pilot)
        await pilot.press("h")
        await still(pilot)

    assert snap_compare(history_data.app(), terminal_size=SIZE, run_before=run_before)


def test_help_screen(demo, snap_compare):
    async def run_before(pilot) -> None:
        await open_session(pilot)
        await pilot.press("f1")
        await still(pilot)

    assert snap_compare(demo.app(), terminal_size=SIZE, run_before=run_before)


def test_session_summary_modal(demo, snap_compare):
    async def run_before(pilot) -> None:
        await open_session(pilot)
        await scan(pilot, demo.codes["valid"][0])
        await scan(pilot, demo.codes["grace"][1])
        await scan(pilot, demo.codes["expired"][1])
        await pilot.press("escape")
        await still(pilot)

    assert snap_compare(demo.app(), terminal_size=SIZE, run_before=run_before)


def test_image_file_modal(demo, snap_compare):
    async def run_before(pilot) -> None:
        await open_session(pilot)
        await pilot.press("f2")
        await still(pilot)

    assert snap_compare(demo.app(), terminal_size=SIZE, run_before=run_before)
