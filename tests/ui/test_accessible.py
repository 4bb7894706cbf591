"""Verdicts for every person, driven by a Pilot at 80×24: the accessible mode (flag and setting),
the bells of each kind of verdict, and the summary of an image holding several codes."""

from __future__ import annotations

import json
from datetime import timedelta

from image_files import qr_sheet
from textual.widgets import Input

from mediateur_tui.services.preferences import PREFERENCES_FILENAME
from mediateur_tui.ui.accessibility import HIDE_CURSOR, HIGH_CONTRAST, SHOW_CURSOR
from mediateur_tui.ui.app import ACCESSIBLE_COMMAND
from mediateur_tui.ui.screens.help import HelpScreen
from mediateur_tui.ui.screens.image_file import ImageFileScreen
from mediateur_tui.ui.screens.session import SessionScreen
from mediateur_tui.ui.screens.verify import VerifyScreen
from mediateur_tui.ui.widgets.verdict_panel import VerdictLine

from .helpers import (
    NOW,
    SIZE,
    bare,
    count_bells,
    log_in,
    notifications,
    scan,
    settle,
    text_of,
    type_text,
    wait_for_bells,
)
from .test_flow import start_session, table_rows, verdict


def plain_line(app) -> str:
    return text_of(app.screen.query_one("#verdict-line", VerdictLine))


def line_shown(app) -> bool:
    return app.screen.query_one("#verdict-line", VerdictLine).display


async def read_image(pilot, path) -> None:
    """F2, the image's path, Enter, and every code's verdict."""
    await pilot.press("f2")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ImageFileScreen)
    await type_text(pilot, str(path))
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, SessionScreen)


# --- accessible mode ------------------------------------------------------------------------


async def test_the_flag_gives_high_contrast_no_animation_and_plain_verdict_lines(demo):
    valid, grace = demo.codes["valid"][1], demo.codes["grace"][0]
    expired = demo.codes["expired"][1]  # bare codes: their formatted form is in the line
    app = demo.app(accessible=True)
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme == HIGH_CONTRAST.name
        assert app.animation_level == "none"
        screen = await start_session(pilot)
        assert not screen.query_one("#scan", Input).cursor_blink
        assert line_shown(app)
        assert plain_line(app) == "Scannez ou tapez un pass, puis Entrée."
        await scan(pilot, valid)
        line = plain_line(app)
        assert line.startswith(f"✔ ACCEPTÉ : Pass valide, code {valid[:4]}-")
        assert "\n" not in line
        await scan(pilot, expired)
        line = plain_line(app)
        assert line.startswith(f"✘ REFUSÉ : Pass expiré, code {expired[:4]}-")
        assert "expiré" in line.split(". ", 1)[1]  # then the sentence saying since when
        await scan(pilot, grace)
        assert plain_line(app).startswith("✔ ACCEPTÉ AVEC AVERTISSEMENT : Pass valide (période")
        await scan(pilot, grace)  # read twice: a notice, in words too
        line = plain_line(app)
        assert line.startswith("ℹ INFORMATION : Déjà encaissé ici")
        assert line.endswith("Lecture en double : ce pass est déjà enregistré dans cette séance.")
        # The panel's state is never colour alone: symbol and word in its first line.
        assert verdict(app).startswith("ℹ  DÉJÀ ENCAISSÉ ICI")


async def test_without_the_mode_the_usual_look_and_no_plain_line(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme == "textual-dark"
        assert app.animation_level == "full"
        await start_session(pilot)
        await scan(pilot, demo.codes["expired"][1])
        assert not line_shown(app)
        assert plain_line(app).startswith("✘ REFUSÉ : Pass expiré")  # kept up to date


async def test_the_setting_is_toggled_from_the_help_and_kept_for_the_next_start(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        written: list[str] = []
        app._driver.write = written.append
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert "Mode accessible[/b] : désactivé" in str(
            app.screen.query_one("#help-accessible").content
        )
        await pilot.press("a")
        await settle(pilot)
        assert app.accessible and app.theme == HIGH_CONTRAST.name
        cursor = [text for text in written if text in (SHOW_CURSOR, HIDE_CURSOR)]
        assert cursor == [SHOW_CURSOR]  # the terminal's own cursor, hidden by Textual
        assert "activé. Curseur" in text_of(app.screen.query_one("#help-accessible"))
        assert "Mode accessible activé." in notifications(app)
    saved = json.loads((demo.data_dir / PREFERENCES_FILENAME).read_text())
    assert saved == {"accessible": True}

    app = demo.app()  # the next start, without the flag
    async with app.run_test(size=SIZE) as pilot:
        assert app.accessible and app.animation_level == "none"
        written = []
        app._driver.write = written.append
        app.action_toggle_accessible()  # what the palette's command runs
        await settle(pilot)
        assert not app.accessible and app.theme == "textual-dark"
        assert app.animation_level == "full"
        assert [text for text in written if text in (SHOW_CURSOR, HIDE_CURSOR)] == [HIDE_CURSOR]
    assert json.loads((demo.data_dir / PREFERENCES_FILENAME).read_text()) == {"accessible": False}


async def test_the_palette_offers_the_mode_on_every_screen(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert titles.count(ACCESSIBLE_COMMAND) == 1
        await pilot.press("f1")
        await settle(pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert titles.count(ACCESSIBLE_COMMAND) == 1  # not twice with the help's key A


async def test_an_unreadable_setting_means_the_usual_mode(demo):
    (demo.data_dir / PREFERENCES_FILENAME).write_text("{pas du json")
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not app.accessible
        assert app.theme == "textual-dark"


# --- bells ----------------------------------------------------------------------------------


async def test_each_kind_of_verdict_rings_its_own_pattern(demo, monkeypatch):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        bells = count_bells(monkeypatch, app)
        await start_session(pilot)
        await scan(pilot, demo.codes["valid"][1])  # accepted: silent
        await wait_for_bells(pilot, bells, 0)
        await scan(pilot, demo.codes["grace"][1])  # warning: one bell
        await wait_for_bells(pilot, bells, 1)
        await scan(pilot, demo.codes["grace"][1])  # double read, a notice: silent
        await wait_for_bells(pilot, bells, 1)
        await scan(pilot, demo.codes["revoked"][1])  # refused: two bells, timed apart
        await wait_for_bells(pilot, bells, 3)


# --- an image with several codes ------------------------------------------------------------


async def test_f2_on_an_image_with_five_codes_shows_every_verdict(demo, monkeypatch, tmp_path):
    valid = demo.codes["valid"]
    earlier = valid[6]  # taken at this site in an earlier session
    demo.take(NOW - timedelta(hours=2), "Atelier courriel", [earlier])
    payloads = [valid[0], valid[2], earlier, demo.codes["expired"][0], valid[4]]
    image = tmp_path / "planche.png"
    qr_sheet(image, payloads)
    app = demo.app(accessible=True)
    async with app.run_test(size=SIZE) as pilot:
        bells = count_bells(monkeypatch, app)
        await start_session(pilot)
        await read_image(pilot, image)
        shown = verdict(app).splitlines()
        assert shown[0] == (
            "5 codes lus dans planche.png : 3 encaissés, 1 déjà encaissé ici, "
            "1 refusé (pass expiré)"
        )
        words = [row.split()[:2] for row in shown[1:]]
        assert words == [["✔", "ACCEPTÉ"]] * 2 + [["✘", "REFUSÉ"]] * 2 + [["✔", "ACCEPTÉ"]]
        assert shown[3].endswith("Déjà encaissé ici")
        assert shown[4].endswith("Pass expiré")
        assert app.screen.query_one("#verdict").has_class("bad")
        line = plain_line(app)
        assert line.startswith(shown[0] + ". ✘ REFUSÉ : ")
        assert f"{bare(earlier)[:4]}-" in line and "Pass expiré." in line
        assert len(table_rows(app, "#lines")) == 3
        await wait_for_bells(pilot, bells, 2)  # once for the image, as for its worst verdict
    taken = [r.code for r in demo.redemptions()]
    assert taken == [bare(earlier)] + [bare(p) for p in (valid[0], valid[2], valid[4])]


async def test_an_image_read_twice_gives_a_summary_of_notices_and_no_bell(
    demo, monkeypatch, tmp_path
):
    payloads = demo.codes["valid"][0:4:2]
    image = tmp_path / "deux.png"
    qr_sheet(image, payloads)
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        bells = count_bells(monkeypatch, app)
        await start_session(pilot)
        await read_image(pilot, image)
        assert verdict(app).startswith("2 codes lus dans deux.png : 2 encaissés")
        assert app.screen.query_one("#verdict").has_class("good")
        await read_image(pilot, image)
        shown = verdict(app).splitlines()
        assert shown[0] == "2 codes lus dans deux.png : 2 déjà encaissés ici"
        assert all(row.startswith("ℹ INFORMATION") for row in shown[1:])
        assert all(
            row.endswith("lecture en double (déjà compté dans cette séance)") for row in shown[1:]
        )
        assert app.screen.query_one("#verdict").has_class("warn")
        assert len(table_rows(app, "#lines")) == 2
        await wait_for_bells(pilot, bells, 0)
    assert len(demo.redemptions()) == 2


async def test_the_verification_screen_says_its_verdict_in_one_line_too(demo, monkeypatch):
    app = demo.app(accessible=True)
    async with app.run_test(size=SIZE) as pilot:
        bells = count_bells(monkeypatch, app)
        await log_in(pilot)
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, VerifyScreen)
        assert line_shown(app)
        await scan(pilot, demo.codes["revoked"][1])
        assert plain_line(app).startswith("✘ REFUSÉ : Pass en opposition, code ")
        await wait_for_bells(pilot, bells, 2)
    assert demo.redemptions() == []
