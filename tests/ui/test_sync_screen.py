"""Synchronisation from the home screen (key s), against a real `mediateur-hub serve` process:
the progress bar, the report (changes, batches sent, the region's answer), the errors."""

from __future__ import annotations

import threading

import httpx
from sqlmodel import Session
from textual.widgets import ProgressBar

from mediateur_tui.services.sync import SiteSync
from mediateur_tui.store.sync_state import sync_state
from mediateur_tui.ui.screens.home import HomeScreen
from mediateur_tui.ui.screens.month_end import MonthEndScreen
from mediateur_tui.ui.screens.reconciliation import ReconciliationScreen
from mediateur_tui.ui.screens.sync import SyncScreen

from .helpers import IN_OCTOBER, NOW, SIZE, log_in, make_app, notifications, settle, text_of
from .region import HubSite
from .test_flow import table_rows


def shown(app, selector: str) -> str:
    return text_of(app.screen.query_one(selector))


async def test_the_demo_is_not_enrolled_and_says_so(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        assert "Non inscrit auprès de la région" in shown(app, "#replica")
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, SyncScreen)
        assert shown(app, "#sync-where") == "Poste non inscrit"
        status = shown(app, "#sync-status")
        assert status.startswith("Ce poste n'est pas inscrit auprès d'une région")
        assert "clé USB" in status
        assert not app.screen.query_one(ProgressBar).display
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)


async def test_sync_pulls_the_replica_sends_the_batch_and_shows_the_answer(remitting):
    app = remitting.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "2468")
        assert "Synchronisée à l'instant" in shown(app, "#replica")
        assert "1 remise sans accusé de réception" in shown(app, "#waiting")
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SyncScreen)
        assert shown(app, "#sync-where") == "Région HDF · lieu LILLE-TIERS-LIEU"
        # The pass FOURMIES-MEDIA remitted, then one carnet and its attribution.
        assert shown(app, "#sync-status") == (
            "Réplique : 3 changements reçus en 1 page ; 30 pass dans la réplique."
        )
        assert screen.query_one(ProgressBar).percentage == 1
        assert shown(app, "#sync-report") == (
            "Remises envoyées, accusés reçus :\n"
            "  Remise n° 1 (octobre 2026) : 2 pass acceptés pour 20,00 €, 1 pass refusé.\n"
            "Refus de la région depuis la dernière synchronisation :\n"
            f"  Refusé par la région : {remitting.codes[0]}, encaissé ici le "
            "14/10/2026 10:00 — déjà "
            "encaissé ailleurs : payé à Médiathèque de Fourmies, qui l'a encaissé le "
            "10/10/2026 12:05.\n"
            "✔ Synchronisation terminée."
        )
        assert not screen.has_class("failed")
        await pilot.press("escape")
        await settle(pilot)

        assert isinstance(app.screen, HomeScreen)
        assert "Synchronisée à l'instant" in shown(app, "#replica")
        assert shown(app, "#waiting") == "0 pass\n0,00 €"  # sealed, sent and answered
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, MonthEndScreen)
        rows = table_rows(app, "#batches")
        assert rows == [["octobre 2026", "1", "3", "30,00 €", "accusée : 2 acceptés, 1 refusé"]]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReconciliationScreen)
        rows = table_rows(app, "#recon-lines")
        assert [row[3:] for row in rows] == [
            ["Refusé", "Encaissé à FOURMIES-MEDIA"],
            ["Accepté", ""],
            ["Accepté", ""],
        ]
        assert text_of(app.screen.query_one("#recon-detail")).endswith(
            "refusé — Déjà encaissé ailleurs : FOURMIES-MEDIA, le 10/10/2026 12:05."
        )
    status = SiteSync(remitting.site.engine, remitting.site.data_dir).status()
    assert status.pending_batches == 0
    assert status.last_sync_at == NOW


async def test_a_hub_out_of_reach_loses_nothing_and_says_so(remitting):
    app = make_app(remitting.site.engine, remitting.site.data_dir)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "2468")
        remitting.hub_process.stop()
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SyncScreen)
        assert shown(app, "#sync-status") == "Réplique : rien reçu."
        report = shown(app, "#sync-report")
        assert f"Réplique : La région ({remitting.url}) ne répond pas" in report
        assert "Rien n'est perdu" in report
        assert "Synchronisation terminée" not in report
        assert screen.has_class("failed")
        await pilot.press("escape")
        await settle(pilot)
        assert "Dernière synchro en échec" in shown(app, "#replica")
        assert "1 remise sans accusé de réception" in shown(app, "#waiting")
    status = SiteSync(remitting.site.engine, remitting.site.data_dir).status()
    assert status.pending_batches == 1
    assert status.last_error is not None


class HeldBatches(httpx.HTTPTransport):
    """The real network, but a batch upload waits until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.waiting = threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/v1/batches":
            self.waiting.set()
            self.release.wait(timeout=30)
        return super().handle_request(request)


async def test_progress_shows_while_the_sync_runs_and_it_cannot_be_closed_then(remitting):
    network = HeldBatches()
    app = make_app(remitting.site.engine, remitting.site.data_dir, hub_transport=network)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "2468")
        await pilot.press("s")
        for _ in range(500):  # the worker is held in the upload: settle() would wait for it
            await pilot.pause(0.01)
            if network.waiting.is_set() and "(1 page)" in shown(app, "#sync-status"):
                break
        screen = app.screen
        assert isinstance(screen, SyncScreen)
        assert shown(app, "#sync-status") == "Réplique : 3 changements reçus (1 page)…"
        assert screen.query_one(ProgressBar).total is None  # the hub does not say how many
        assert shown(app, "#sync-hint") == "Synchronisation en cours…"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        assert "Synchronisation en cours : attendez qu'elle se termine." in notifications(app)
        network.release.set()
        await settle(pilot)
        assert "✔ Synchronisation terminée." in shown(app, "#sync-report")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)


async def test_a_site_enrolled_by_file_is_told_to_use_the_usb_key(demo):
    with Session(demo.engine) as session:  # as `enrol --answer-file` leaves it: no hub address
        state = sync_state(session)
        state.enrolled_at, state.api_key = NOW, None
        session.add(state)
        session.commit()
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        assert "Inscrit par fichier (clé USB)" in shown(app, "#replica")
        await pilot.press("s")
        await settle(pilot)
        assert shown(app, "#sync-where") == "Lieu inscrit par fichier"
        assert shown(app, "#sync-status").startswith("Ce lieu est inscrit par fichier")
        assert not app.screen.query_one(ProgressBar).display


async def test_the_app_declares_in_the_background_and_the_home_says_what_waits(
    hub_server, tmp_path
):
    region_hub, process = hub_server
    ours = HubSite.enrol(tmp_path / "lille", process.url, region_hub.token(), NOW)
    ours.sync(NOW)
    ours.take(IN_OCTOBER, region_hub.codes()[:2])
    app = make_app(ours.engine, ours.data_dir)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "2468")
        assert "2 encaissements non encore déclarés" in shown(app, "#waiting")
        app.background_sync()  # what the app runs every SYNC_SECONDS
        await settle(pilot)
        assert "non encore déclaré" not in shown(app, "#waiting")
        assert "Synchronisée à l'instant" in shown(app, "#replica")
    assert SiteSync(ours.engine, ours.data_dir).status().pending_declarations == 0
