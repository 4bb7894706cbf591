"""A thread worker that fails never closes the app and never leaves a screen stuck: the app
tells the user in French (a UserError's own sentence, or « Erreur inattendue » with a log line),
and a screen that was waiting for the result is usable again."""

from __future__ import annotations

import logging

from textual.widgets import Input

from mediateur_tui.domain.errors import UserError
from mediateur_tui.ui.screens.first_run import FirstRunScreen
from mediateur_tui.ui.screens.home import HomeScreen
from mediateur_tui.ui.screens.sync import SyncScreen

from .helpers import SIZE, log_in, make_app, notifications, settle, text_of


def failing(error: BaseException):
    def fail(*_args, **_kwargs):
        raise error

    return fail


async def test_a_failing_sync_says_so_and_the_dialog_closes(remitting, monkeypatch, caplog):
    app = remitting.app()
    monkeypatch.setattr(app.context.site.sync, "sync", failing(RuntimeError("disk I/O error")))
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "2468")
        with caplog.at_level(logging.ERROR):
            await pilot.press("s")
            await settle(pilot)
        assert isinstance(app.screen, SyncScreen)
        report = text_of(app.screen.query_one("#sync-report"))
        assert report.startswith("✘ Erreur inattendue : rien n'a été enregistré")
        assert notifications(app) == []  # said in the dialog, not twice
        assert "unexpected error in a worker" in caplog.text
        assert "disk I/O error" in caplog.text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)


async def test_a_user_error_is_shown_with_its_own_sentence(demo, monkeypatch):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        busy = UserError("La base de données est occupée par un autre programme.")
        monkeypatch.setattr(app.context.site, "home", failing(busy))
        app.screen.refresh_stats()
        await settle(pilot)
        assert notifications(app) == ["La base de données est occupée par un autre programme."]
        assert isinstance(app.screen, HomeScreen)  # the app goes on


async def test_an_unexpected_error_without_a_screen_of_its_own_is_notified(demo, monkeypatch):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        monkeypatch.setattr(app.context.site, "home", failing(KeyError("boom")))
        app.screen.refresh_stats()
        await settle(pilot)
        [message] = notifications(app)
        assert message.startswith("Erreur inattendue : rien n'a été enregistré")


async def test_a_failing_enrolment_goes_back_to_its_form(new_site, monkeypatch):
    data_dir, engine = new_site
    app = make_app(engine, data_dir)
    monkeypatch.setattr(app.context.site.sync, "enrol", failing(RuntimeError("socket")))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        app.screen.query_one("#hub-url", Input).value = "https://pass.region.example"
        app.screen.query_one("#token", Input).value = "JETON"
        app.screen.query_one("#token", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FirstRunScreen)
        assert screen.step == "enrol"  # not stuck on « Patientez… »
        message = text_of(screen.query_one("#enrol-message"))
        assert message.startswith("Erreur inattendue") and "Rien n'a été enregistré." in message
