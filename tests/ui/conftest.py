"""Fixtures for the Textual UI tests: a demo data directory built once per process and copied
for each test; an empty data directory (a new site); a region hub, as files or as a real
`mediateur-hub serve` process. Helpers live in helpers.py and region.py."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mediateur_tui.services.demo import DemoResult, build_demo
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME

from .helpers import DEMO_PASSES, IN_OCTOBER, NOW, PREVIOUS_MONTH, DemoData, bare, make_app
from .region import OTHER_SITE_ID, HubSite, RegionHub


@pytest.fixture(autouse=True)
def _no_ambient_hub(monkeypatch):
    """The hub's command line reads its directory and database only from the tests' options."""
    monkeypatch.delenv("MEDIATEUR_HUB_DIR", raising=False)
    monkeypatch.delenv("MEDIATEUR_HUB_DB", raising=False)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> tuple[Path, DemoResult]:
    """The demo data directory (database and QR images), built once per test process."""
    folder = tmp_path_factory.mktemp("ui-demo-template") / "donnees"
    engine = open_database(folder / DATABASE_FILENAME)
    try:
        result = build_demo(engine, folder, NOW, passes=DEMO_PASSES)
    finally:
        engine.dispose()
    return folder, result


@pytest.fixture
def demo(demo_template, tmp_path) -> Iterator[DemoData]:
    """A private copy of the demo data directory for one test."""
    folder, result = demo_template
    target = tmp_path / "donnees"
    shutil.copytree(folder, target)
    engine = open_database(target / DATABASE_FILENAME)
    images = [target / path.relative_to(folder) for path in result.images]
    yield DemoData(
        data_dir=target, engine=engine, codes=result.codes, images=images, stock=result.stock
    )
    engine.dispose()


@pytest.fixture
def history_data(demo):
    """Two sessions this month: four redemptions (one cancelled) and two refusals, a few
    minutes apart (the history is sorted by time)."""
    operator = demo.operator()
    codes = demo.codes

    def run_session(start, title, kind, minutes, scans):
        session_id = demo.desk(start).start_session(operator.id, title, kind, "", minutes).id
        for step, text in enumerate(scans, start=1):
            demo.desk(start + timedelta(minutes=7 * step)).redeem(session_id, operator.id, text)
        return session_id

    first = run_session(
        NOW - timedelta(days=10),
        "Atelier smartphone",
        "collectif",
        120,
        [codes["valid"][0], codes["valid"][1], codes["revoked"][0]],
    )
    demo.desk(NOW - timedelta(days=10, minutes=-60)).end_session(first)
    second = run_session(
        NOW - timedelta(hours=1),
        "Démarches CAF",
        "individuel",
        60,
        [codes["valid"][2], codes["grace"][1], codes["expired"][1]],
    )
    later = demo.desk(NOW - timedelta(minutes=20))
    cancelled = next(r for r in demo.redemptions() if r.code == bare(codes["valid"][1]))
    later.cancel(cancelled.id, operator.id, "pass abîmé")
    later.end_session(second)
    return demo


@pytest.fixture
def october(demo):
    """Last month (October 2026): two sessions, three passes taken and one refused scan; and
    one pass taken this month, which an October month end must leave out."""
    valid = demo.codes["valid"]
    demo.take(IN_OCTOBER, "Atelier courriel", [valid[0], valid[1], demo.codes["expired"][1]])
    demo.take(IN_OCTOBER + timedelta(days=7), "Démarches CAF", [valid[2]])
    demo.take(NOW - timedelta(days=2), "Atelier smartphone", [valid[3]])
    return demo


@pytest.fixture
def new_site(tmp_path) -> Iterator[tuple[Path, object]]:
    """An empty data directory, as `mediateur-tui` makes it on a new site's first start."""
    data_dir = tmp_path / "nouveau-lieu"
    engine = open_database(data_dir / DATABASE_FILENAME)
    yield data_dir, engine
    engine.dispose()


@pytest.fixture
def region_hub(tmp_path) -> RegionHub:
    """A region hub (files only) with two attributed carnets of 10 passes."""
    return RegionHub.create(tmp_path / "hub")


@pytest.fixture
def hub_server(region_hub):
    """The same hub, served by a real `mediateur-hub serve` process on 127.0.0.1."""
    from hub.server import HubProcess

    with HubProcess.start(region_hub.folder) as process:
        yield region_hub, process


# When the other site took the pass that both sites took (12:05 in Paris).
WINNER_AT = datetime(2026, 10, 10, 10, 5, tzinfo=UTC)


@dataclass
class Remitting:
    """Our site at a real hub, with a sealed October batch not sent yet."""

    url: str
    hub: RegionHub
    hub_process: object  # tests/hub/server.py's HubProcess: stop() cuts the network
    site: HubSite  # ours (LILLE-TIERS-LIEU)
    other: HubSite  # FOURMIES-MEDIA
    codes: list[str]  # the three codes of our batch; the first was taken at FOURMIES first

    def app(self):
        return make_app(self.site.engine, self.site.data_dir)


@pytest.fixture
def remitting(hub_server, tmp_path) -> Iterator[Remitting]:
    """Two sites enrolled and synced; FOURMIES-MEDIA takes a pass on 10 October and remits it
    (accepted); our site, not synced since, takes the same pass and two others on 14 October
    and closes October. Then the region issues one more carnet."""
    region_hub, process = hub_server
    url = process.url
    ours = HubSite.enrol(tmp_path / "lille", url, region_hub.token(), NOW)
    other_token = region_hub.token(OTHER_SITE_ID, "Médiathèque de Fourmies")
    other = HubSite.enrol(tmp_path / "fourmies", url, other_token, NOW)
    ours.sync(NOW)
    other.sync(NOW)
    codes = region_hub.codes()[:3]
    other.take(WINNER_AT, codes[:1])
    other.close(PREVIOUS_MONTH, NOW)
    other.sync(NOW)
    ours.take(IN_OCTOBER, codes)
    ours.close(PREVIOUS_MONTH, NOW)
    region_hub.issue(1)
    yield Remitting(url, region_hub, process, ours, other, codes)
    ours.engine.dispose()
    other.engine.dispose()
