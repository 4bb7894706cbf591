"""Replica pages /1 and /2 from a real `mediateur-hub serve`, and the overlapped pull.

A site asks for pn-replica-page/2 (`format=2`: carnets' codes in one string); a site of
before it asks for nothing and gets pn-replica-page/1. Both must end with the same rows. The
pull fetches the next page while it applies one: a page that fails after a good one leaves
the good one applied, the cursor after it, and no fetching thread behind.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
from contract import validate
from sqlalchemy import text

from mediateur_tui.domain.clock import system_clock
from mediateur_tui.protocol.documents import load_json
from mediateur_tui.protocol.formats import REPLICA_PAGE, REPLICA_PAGE_COMPACT
from mediateur_tui.services.replica import apply_page
from mediateur_tui.services.sync import synchronise
from mediateur_tui.sync.client import HubClient

from .conftest import SITE_A, SITE_A_NAME, SITE_B, SITE_B_NAME, Region, SiteDir
from .proxy import Cut, CuttingProxy
from .test_network_cuts import unreachable

PAGE = 10  # changes per page
REPLICA_TABLES = ("site", "programme", "programme_site", "carnet", "pass", "revocation")


def replica_rows(site: SiteDir) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the replica's tables (a pass by its carnet's id, not the local ref)."""
    with site.engine.connect() as connection:
        rows = {
            table: sorted(connection.execute(text(f'SELECT * FROM "{table}"')).all(), key=repr)
            for table in REPLICA_TABLES
            if table not in ("carnet", "pass")
        }
        rows["carnet"] = sorted(
            connection.execute(
                text(
                    "SELECT id, programme_id, size, attributed_on, beneficiary_ref, issued_on "
                    "FROM carnet"
                )
            ).all()
        )
        rows["pass"] = sorted(
            connection.execute(
                text("SELECT code, carnet.id FROM pass JOIN carnet ON carnet.ref = carnet_ref")
            ).all()
        )
    return rows


def fetch_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("replica-fetch")]


@pytest.fixture
def busy_region(region: Region) -> Region:
    """Carnets of 5 and 10, one handed out, one pass in opposition: several pages."""
    region.init()
    region.issue(12, size=5)
    carnets = region.issue(8, size=10)
    carnet, codes = next(iter(carnets.items()))
    region.attribute(carnet, "BENEF-0001")
    region.ok("revoke", codes[3], "--reason", "lost")
    return region


def pull_as_a_site_of_before(site: SiteDir, url: str) -> list[str]:
    """Pulls every page as a site before /2 does: no `format`, pn-replica-page/1 only."""
    formats = []
    with HubClient(url, site.api_key()) as client:
        cursor, more = site.cursor(), True
        while more:
            answer = client.request(
                "GET", "/v1/replica/changes", REPLICA_PAGE, params={"since": cursor, "limit": PAGE}
            )
            page = load_json(answer.content, REPLICA_PAGE)  # refuses any other format
            validate(page, "pn-replica-page/1")
            formats.append(page["format"])
            applied = apply_page(site.engine, page)
            cursor, more = applied.cursor, applied.more
    return formats


def test_pages_2_and_pages_1_give_the_same_replica(busy_region, make_site) -> None:
    region = busy_region
    tokens = region.enrol_site(SITE_A, SITE_A_NAME), region.enrol_site(SITE_B, SITE_B_NAME)
    server = region.serve()
    compact, plain = make_site("compact"), make_site("plain")
    compact.ok("enrol", "--hub", server.url, "--token", tokens[0])
    plain.ok("enrol", "--hub", server.url, "--token", tokens[1])

    report = synchronise(compact.engine, system_clock, page_limit=PAGE)
    formats = pull_as_a_site_of_before(plain, server.url)

    assert report.ok, report.errors
    changes = region.changes()
    assert len(formats) == report.pages == -(-len(changes) // PAGE) >= 3
    assert set(formats) == {REPLICA_PAGE}
    assert compact.cursor() == plain.cursor() == changes[-1][0]
    rows = replica_rows(compact)
    assert rows == replica_rows(plain)
    assert {code for code, _carnet in rows["pass"]} == region.pass_codes()
    assert len(rows["pass"]) == 12 * 5 + 8 * 10 and len(rows["revocation"]) == 1


def test_the_hub_serves_the_format_asked_for(busy_region, make_site) -> None:
    region = busy_region
    token = region.enrol_site(SITE_A, SITE_A_NAME)
    server = region.serve()
    site = make_site("a")
    site.ok("enrol", "--hub", server.url, "--token", token)
    headers = {"Authorization": f"Bearer {site.api_key()}"}

    def get(**params: object) -> httpx.Response:
        return httpx.get(f"{server.url}/v1/replica/changes", params=params, headers=headers)

    plain, compact = get(since=0), get(since=0, format=2)
    assert (
        load_json(get(since=0, format=1).content, REPLICA_PAGE)["changes"]
        == (load_json(plain.content, REPLICA_PAGE)["changes"])
    )
    page_1 = load_json(plain.content, REPLICA_PAGE)
    page_2 = load_json(compact.content, REPLICA_PAGE_COMPACT)
    validate(page_1, "pn-replica-page/1")
    validate(page_2, "pn-replica-page/2")
    carnets_1 = [change for change in page_1["changes"] if change["t"] == "carnet"]
    carnets_2 = [change for change in page_2["changes"] if change["t"] == "carnet"]
    assert len(carnets_1) == len(carnets_2) == 20
    for before, after in zip(carnets_1, carnets_2, strict=True):
        assert after["c"] == "".join(code[:12] for code in before["codes"])
        assert {key: value for key, value in after.items() if key != "c"} == {
            key: value for key, value in before.items() if key != "codes"
        }
    assert len(compact.content) < len(plain.content)

    refused = get(since=0, format=3)
    assert refused.status_code == 400
    assert "format" in refused.json()["detail"]


def test_a_page_cut_after_the_first_leaves_the_first_applied(busy_region, make_site) -> None:
    region = busy_region
    token = region.enrol_site(SITE_A, SITE_A_NAME)
    changes = region.changes()
    server = region.serve()
    site = make_site("a")
    with CuttingProxy(server.port) as proxy:
        site.ok("enrol", "--hub", proxy.url, "--token", token)
        # The second page is cut half-way, every time: it is fetched while the first is applied.
        proxy.arm(Cut(b"GET /v1/replica/changes", "response", body_bytes=100, skip=1))
        sleeps: list[float] = []
        report = synchronise(site.engine, system_clock, sleep=sleeps.append, page_limit=PAGE)
        assert report.pages == 1 and len(report.errors) == 1
        assert unreachable("Réplique", proxy.url).fullmatch(report.errors[0]), report.errors
        assert fetch_threads() == []
        assert site.cursor() == report.cursor == changes[PAGE - 1][0]
        first_page = [change for _seq, change in changes[:PAGE]]
        assert sorted(site.pass_codes()) == sorted(
            code for change in first_page if change["t"] == "carnet" for code in change["codes"]
        )

        proxy.heal()
        report = synchronise(site.engine, system_clock, page_limit=PAGE)
    assert report.ok, report.errors
    assert site.cursor() == changes[-1][0]
    assert set(site.pass_codes()) == region.pass_codes()


def test_an_interrupted_pull_leaves_no_thread_and_its_applied_pages(busy_region, make_site):
    region = busy_region
    token = region.enrol_site(SITE_A, SITE_A_NAME)
    changes = region.changes()
    server = region.serve()
    site = make_site("a")
    site.ok("enrol", "--hub", server.url, "--token", token)

    def interrupt(_changes: int, cursor: int) -> None:
        if cursor >= changes[2 * PAGE - 1][0]:  # Ctrl-C after the second page, the third coming
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        synchronise(site.engine, system_clock, progress=interrupt, page_limit=PAGE)
    for thread in fetch_threads():  # the third page's, abandoned: it ends by itself
        thread.join(timeout=60)
    assert fetch_threads() == []
    assert site.cursor() == changes[2 * PAGE - 1][0]
    assert site.carnet_count() == sum(change["t"] == "carnet" for _s, change in changes[: 2 * PAGE])
