"""`mediateur-tui --demo`: the demo with its region, served in the app's own process.

The demo is made once (through the hub's and the site's own functions, about 3 s) and each test
works on a copy of it. The last test drives the real app in tmux at 80×24, as a newcomer
would: log in as the responsable, close last month, send it, read the conflict.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, select

from mediateur_tui import demo_region
from mediateur_tui.domain.beneficiaries import Identity
from mediateur_tui.domain.clock import system_clock
from mediateur_tui.services import demo_loop
from mediateur_tui.services.attribution import RequestForm
from mediateur_tui.services.demo import (
    OTHER_SITE_ID,
    OTHER_SITE_IDENTITY,
    SITE_ID,
    SITE_IDENTITY,
    STOCK_CARNETS,
    create_demo,
)
from mediateur_tui.services.site import Site, open_site
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.models import Site as SiteRow
from mediateur_tui.store.sqlite_file import database_path

SCREEN_SECONDS = 30  # the longest a tmux screen may take to show what is awaited


@pytest.fixture(scope="module")
def made_demo(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("demo") / "demo"
    result = demo_region.create(folder, system_clock())
    return folder, result.to_json()


@pytest.fixture
def demo(made_demo, tmp_path) -> tuple[Path, dict]:
    folder, result = made_demo
    copy = tmp_path / "demo"
    shutil.copytree(folder, copy)
    return copy, result


@pytest.fixture
def demo_site(demo) -> Iterator[Site]:
    folder, _ = demo
    with demo_region.running(folder) as url:
        assert url is not None and url.startswith("http://127.0.0.1:")
        site = open_site(folder)
        try:
            yield site
        finally:
            site.close()


EXPECTED_VERDICTS = {
    "valid": "valid",
    "grace": "grace",
    "expired": "expired",
    "not_yet_valid": "not_yet_valid",
    "revoked": "revoked",
    "redeemed_elsewhere": "redeemed_elsewhere",
    "unattributed": "unattributed",
    "other_programme": "programme_not_accepted",
}


def test_every_verdict_of_the_demo_comes_from_the_region_replica(demo) -> None:
    folder, result = demo
    site = open_site(folder)
    try:
        for category, codes in result["codes"].items():
            verdicts = {site.desk.check(code).verdict.value for code in codes}
            assert verdicts == {EXPECTED_VERDICTS[category]}, category
    finally:
        site.close()


def test_the_demo_sites_have_the_identity_the_region_gave_them(demo) -> None:
    """Enrolled with a SIRET and an RNA number: the demo site's replica holds both."""
    folder, _ = demo
    engine = open_database(database_path(folder))
    try:
        with Session(engine) as session:
            rows = {row.id: row.identity() for row in session.exec(select(SiteRow)).all()}
    finally:
        engine.dispose()
    assert rows == {SITE_ID: SITE_IDENTITY, OTHER_SITE_ID: OTHER_SITE_IDENTITY}
    assert SITE_IDENTITY.pivot_kind == "SIRET" and OTHER_SITE_IDENTITY.pivot_kind == "RNA"


def test_last_month_closed_and_sent_shows_the_other_sites_claim(demo_site) -> None:
    batch = demo_site.month_end.close_month()
    assert batch.redemption_count == 8
    report = demo_site.sync.sync()
    assert report.ok, report.errors
    [sent] = report.batches
    assert (sent.accepted, sent.refused) == (7, 1)
    lines = demo_site.month_end.reconciliation(batch.batch_id).lines
    [refused] = [line for line in lines if line.verdict == "refused"]
    assert (refused.reason, refused.winner_site_id) == ("conflict", OTHER_SITE_ID)
    assert refused.winner_redeemed_at < refused.redeemed_at  # the other site took it first


def test_a_carnet_handed_out_at_the_demo_site_is_accepted_by_the_region(demo, demo_site) -> None:
    _, result = demo
    desk = demo_site.attribution_desk()
    assert desk.unavailable_reason() is None  # the region made the demo site a distributor
    form = RequestForm(
        identity=Identity("Nguyễn", "Thị", date(1951, 4, 2)),
        received_on=desk.today(),
        category="senior",
        postcode="59440",
        accompanied=False,
        proofs=frozenset({"residence", "age_proof"}),
        proof_dates={},
    )
    assessment = desk.assess(form)
    assert assessment.decision.eligible, assessment.decision.reasons
    five = [c for c, size in zip(result["stock"], STOCK_CARNETS, strict=True) if size == 5]
    nadia = next(op for op in demo_site.accounts.list() if op.role == "distributeur")
    desk.record(assessment, five[:1], nadia.id)
    report = demo_site.sync.sync()
    assert report.ok, report.errors
    assert (report.attributions_accepted, report.attributions_refused) == (1, 0)


def test_a_making_cut_short_is_made_again_whole(tmp_path, monkeypatch) -> None:
    folder = tmp_path / "demo"

    def cut(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(demo_loop, "close_month", cut)  # the last steps never happen
        with pytest.raises(OSError):
            demo_region.ensure(folder, system_clock())
    assert demo_region.needs_making(folder)
    assert demo_region.ensure(folder, system_clock()) is not None
    assert demo_region.has_region(folder) and not demo_region.needs_making(folder)
    site = open_site(folder)
    try:
        assert len(site.accounts.list()) == 3  # made once, not twice
    finally:
        site.close()


def test_a_demo_made_by_demo_init_is_left_as_it_is(tmp_path) -> None:
    folder = tmp_path / "demo"
    assert create_demo(folder, system_clock(), passes=100) is not None
    assert not demo_region.needs_making(folder)
    assert demo_region.ensure(folder, system_clock()) is None
    assert not (folder / demo_region.REGION_DIR).exists()
    with demo_region.running(folder) as url:
        assert url is None  # opens offline, without a hub


def test_a_proxy_of_the_environment_never_stands_between_the_demo_and_its_hub(
    demo, monkeypatch
) -> None:
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")  # nobody answers there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    folder, _ = demo
    with demo_region.running(folder):
        site = open_site(folder)
        try:
            report = site.sync.sync()
        finally:
            site.close()
    assert report.ok, report.errors


def test_demo_init_force_on_the_demo_with_its_region_makes_a_whole_new_demo(demo) -> None:
    folder, _ = demo
    assert create_demo(folder, system_clock(), passes=100, force=True) is not None
    assert not (folder / demo_region.REGION_DIR).exists()  # nothing of the old region left
    assert not demo_region.needs_making(folder)
    with demo_region.running(folder) as url:
        assert url is None  # `demo init`'s demo: offline


# --- the real app, in tmux ----------------------------------------------------------------------


class Tmux:
    """A private tmux server (its own socket, never the user's) running one command at 80×24;
    its screen read as text."""

    def __init__(self, command: list[str]) -> None:
        self.server = ["tmux", "-L", f"mediateur-test-{secrets.token_hex(6)}"]
        shown = " ".join(_quoted(part) for part in command)
        self._run("new-session", "-d", "-s", "app", "-x", "80", "-y", "24", shown)

    def _run(self, *args: str) -> str:
        done = subprocess.run([*self.server, *args], capture_output=True, text=True, check=True)
        return done.stdout

    def screen(self) -> str:
        out = self._run("capture-pane", "-p", "-t", "app")
        return out.replace("\u00a0", " ").replace("\u202f", " ")  # as printed

    def keys(self, *keys: str) -> None:
        for key in keys:
            self._run("send-keys", "-t", "app", key)

    def wait_for(self, text: str, gone: str | None = None) -> str:
        """The screen once it shows `text` (and no longer shows `gone`)."""
        deadline = time.monotonic() + SCREEN_SECONDS
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen and (gone is None or gone not in screen):
                return screen
            time.sleep(0.1)  # polling the screen, bounded by the deadline
        raise AssertionError(f"« {text} » never showed; the screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run([*self.server, "kill-server"], capture_output=True)


def _quoted(part: str) -> str:
    return "'" + part.replace("'", "'\\''") + "'"


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_a_newcomer_closes_last_month_sends_it_and_reads_the_conflict(demo, tmp_path) -> None:
    folder, _ = demo
    program = str(Path(sys.executable).with_name("mediateur-tui"))
    app = Tmux([program, "--demo", "--data-dir", str(folder)])
    try:
        app.wait_for("Camille Martin (médiateur·rice)")  # the accounts are loaded
        app.keys("BTab", "Enter")  # the account list opens
        app.wait_for("Nadia Lefèvre (distributeur·rice)")
        app.keys("Down", "Enter")  # Karim, the responsable
        app.wait_for("Karim Benali (responsable)", gone="Nadia Lefèvre (distributeur·rice)")
        app.keys("Tab", "5678", "Enter")
        app.wait_for("Karim Benali — accueil")
        app.keys("m")
        app.wait_for("Mois à clore")
        app.keys("c")
        app.wait_for("Clore un mois")
        app.keys("Enter")
        app.wait_for("Seront scellés")
        app.keys("Enter")
        app.wait_for("remise n° 1, 8 pass, 80,00 €")
        app.keys("Escape")  # alone: Escape then s at once would be read as Alt+S
        app.wait_for("Karim Benali — accueil")
        app.keys("s")
        screen = app.wait_for("Synchronisation terminée")
        assert "7 pass acceptés" in screen
        app.keys("Enter")
        app.wait_for("Karim Benali — accueil", gone="Synchronisation terminée")
        app.keys("r")
        app.wait_for("Acceptés : 7 pass, 70,00 € · Refusés : 1 pass, 10,00 €")
        screen = app.wait_for("FOURMIES")  # the table's rows may be drawn after the totals
        assert "Pass numériques — rapprochement" in screen
        assert "Refusé" in screen
    finally:
        app.close()
