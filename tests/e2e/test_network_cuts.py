"""The connection to the region cut in the middle of an upload and of a replica pull.

A proxy (tests/e2e/proxy.py) sits between the site and a real `mediateur-hub serve`; it cuts
every matching request until it is healed, so each sync below spends its retries (which do
not wait: their delays are recorded) and ends with an error; the next sync, on a healthy
network, must finish the job with exactly one copy of everything at the hub.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from contract import validate

from mediateur_tui.domain.clock import system_clock
from mediateur_tui.domain.periods import period_label
from mediateur_tui.services.batches import batch_document
from mediateur_tui.services.sync import synchronise
from mediateur_tui.sync.client import DEFAULT_ATTEMPTS

from .conftest import PERIOD, SITE_A, SITE_A_NAME, Region, SiteDir, ack_document, in_period
from .proxy import Cut, CuttingProxy

BACKOFF = [1.0, 2.0, 4.0, 8.0]  # the delays between the five attempts
PAGE = 10  # replica changes per page in the pull test


def unreachable(part: str, url: str) -> re.Pattern[str]:
    """The French error a sync reports when every attempt was cut."""
    return re.compile(
        rf"{part} : La région \({re.escape(url)}\) ne répond pas \((connexion interrompue|"
        rf"réponse tronquée ou illisible)\) après {DEFAULT_ATTEMPTS} tentatives\. "
        r"Rien n'est perdu : relancez la synchronisation plus tard\."
    )


@dataclass
class Remitting:
    """Site A, enrolled through the proxy, with a sealed batch of three passes to send."""

    region: Region
    site: SiteDir
    proxy: CuttingProxy
    batch_id: str
    codes: list[str]
    redemption_ids: list[str]

    def requests_since(self, mark: int) -> list[str]:
        return [line.split(" HTTP/")[0] for line in self.proxy.requests[mark:]]


@pytest.fixture
def remitting(region, make_site) -> Iterator[Remitting]:
    region.init()
    carnets = region.issue(1, size=5)
    (carnet,) = carnets
    region.attribute(carnet, "BENEF-0001")
    token = region.enrol_site(SITE_A, SITE_A_NAME)
    server = region.serve()
    with CuttingProxy(server.port) as proxy:
        site = make_site("a")
        site.ok("enrol", "--hub", proxy.url, "--token", token)
        site.ok("sync")
        site.ok("operator", "add", "Camille Martin", "--role", "responsable", pin="1234")
        codes = carnets[carnet][:3]
        assert all(
            r.redeemable for r in site.redeem("Camille Martin", "1234", codes, in_period(3, 11))
        )
        batch = site.month_end().close_month(PERIOD)
        document = batch_document(site.engine, batch.batch_id)
        validate(document, "pn-batch/1")
        ids = [line["id"] for line in document["redemptions"]]
        yield Remitting(region, site, proxy, batch.batch_id, codes, ids)


def test_upload_cut_half_way_then_retried(remitting: Remitting) -> None:
    site, proxy, region = remitting.site, remitting.proxy, remitting.region
    proxy.arm(Cut(b"POST /v1/batches", "request", body_bytes=64))
    sleeps: list[float] = []
    report = site.sync_service(sleeps).sync()
    assert len(proxy.cuts) == DEFAULT_ATTEMPTS and sleeps == BACKOFF
    assert all(sent == 64 < length for sent, length in proxy.cuts)  # half-way through the body
    assert len(report.errors) == 1
    assert unreachable("Remises", proxy.url).fullmatch(report.errors[0]), report.errors
    # Nothing reached the hub, nothing is lost at the site: the batch waits for the next run.
    assert region.batches() == [] and region.line_ids() == []
    assert [b.batch_id for b in site.month_end().pending_batches()] == [remitting.batch_id]
    assert site.sync_service().status().last_error == report.errors[0]

    proxy.heal()
    mark = len(proxy.requests)
    out = site.ok("sync")
    assert (
        f"Remise n° 1 ({period_label(PERIOD)}) : 3 pass acceptés pour 30,00 €, 0 pass refusé."
        in out
    )
    # The site asked first whether the hub had the batch (404), then sent it again.
    assert remitting.requests_since(mark)[-2:] == [
        f"GET /v1/batches/{remitting.batch_id}/ack",
        "POST /v1/batches",
    ]
    assert Counter(region.line_ids()) == dict.fromkeys(remitting.redemption_ids, 1)
    assert [batch.batch_id for batch in region.batches()] == [remitting.batch_id]
    lines = site.ack_lines(remitting.batch_id)
    assert {code: line.verdict for code, line in lines.items()} == dict.fromkeys(
        remitting.codes, "accepted"
    )
    validate(ack_document(site, remitting.batch_id), "pn-ack/1")


def test_answer_lost_after_the_hub_stored_the_batch(remitting: Remitting) -> None:
    site, proxy, region = remitting.site, remitting.proxy, remitting.region
    proxy.arm(Cut(b"POST /v1/batches", "response", body_bytes=16))
    sleeps: list[float] = []
    report = site.sync_service(sleeps).sync()
    assert len(proxy.cuts) == DEFAULT_ATTEMPTS and sleeps == BACKOFF
    assert all(sent == 16 < length for sent, length in proxy.cuts)
    assert len(report.errors) == 1
    assert unreachable("Remises", proxy.url).fullmatch(report.errors[0]), report.errors
    # The hub took the batch the first time; the four posts after it changed nothing.
    (stored,) = region.batches()
    assert stored.batch_id == remitting.batch_id
    assert Counter(region.line_ids()) == dict.fromkeys(remitting.redemption_ids, 1)
    assert site.batch(remitting.batch_id).acknowledged_at is None  # the answer never arrived

    proxy.heal()
    mark = len(proxy.requests)
    out = site.ok("sync")
    assert "3 pass acceptés pour 30,00 €, 0 pass refusé." in out
    requests = remitting.requests_since(mark)
    assert requests[-1] == f"GET /v1/batches/{remitting.batch_id}/ack"
    assert "POST /v1/batches" not in requests
    # The very answer the hub made the first time, and still one copy of every line.
    assert ack_document(site, remitting.batch_id) == json.loads(stored.ack)
    assert Counter(region.line_ids()) == dict.fromkeys(remitting.redemption_ids, 1)
    assert len(region.batches()) == 1


def test_replica_pull_cut_resumes_from_the_last_whole_page(region, make_site) -> None:
    region.init()
    region.issue(40, size=5)
    token = region.enrol_site(SITE_A, SITE_A_NAME)
    changes = region.changes()
    assert len(changes) > 3 * PAGE  # several pages
    server = region.serve()
    site = make_site("a")
    with CuttingProxy(server.port) as proxy:
        site.ok("enrol", "--hub", proxy.url, "--token", token)
        # The third page is cut half-way, every time it is asked for.
        proxy.arm(Cut(b"GET /v1/replica/changes", "response", body_bytes=100, skip=2))
        sleeps: list[float] = []
        report = synchronise(site.engine, system_clock, sleep=sleeps.append, page_limit=PAGE)
        assert len(proxy.cuts) == DEFAULT_ATTEMPTS and sleeps == BACKOFF
        assert all(sent == 100 < length for sent, length in proxy.cuts)
        assert report.pages == 2
        assert len(report.errors) == 1
        assert unreachable("Réplique", proxy.url).fullmatch(report.errors[0]), report.errors

        # The stored cursor is the end of the second page, and its passes are all there.
        until = changes[2 * PAGE - 1][0]
        assert site.cursor() == until
        first_pages = [change for _, change in changes[: 2 * PAGE]]
        expected = sorted(
            c for change in first_pages if change["t"] == "carnet" for c in change["codes"]
        )
        assert sorted(site.pass_codes()) == expected
        asked = [line.split(" HTTP/")[0] for line in proxy.requests if "/replica/" in line]
        pages = [
            f"GET /v1/replica/changes?since={since}&limit={PAGE}&format=2"
            for since in (0, changes[PAGE - 1][0], until)
        ]
        assert asked == pages[:2] + [pages[2]] * DEFAULT_ATTEMPTS
        third = pages[2]

        proxy.heal()
        mark = len(proxy.requests)
        report = synchronise(site.engine, system_clock, page_limit=PAGE)
        assert report.ok, report.errors
        assert proxy.requests[mark].startswith(f"{third} ")  # resumed, not restarted
    assert site.cursor() == changes[-1][0]
    codes = site.pass_codes()
    assert len(codes) == len(set(codes)) == 200
    assert set(codes) == region.pass_codes()
    assert site.carnet_count() == 40
    assert site.sync_service().status().pass_count == 200
