"""Applying replica pages and snapshots (docs/protocol.md, "Replica updates")."""

from __future__ import annotations

import copy
import http.server
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from contract import validate
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session

from mediateur_tui.domain.clock import system_clock
from mediateur_tui.domain.signatures import key_fingerprint
from mediateur_tui.domain.verdicts import Verdict
from mediateur_tui.protocol.documents import dump_gzip_json
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.services import replica as replica_service
from mediateur_tui.services.replica import apply_page, apply_snapshot, read_replica_file
from mediateur_tui.services.sync import synchronise
from mediateur_tui.store import queries
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.models import ReplicaMeta
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME
from mediateur_tui.store.sync_state import read_sync_state
from mediateur_tui.sync.errors import SyncError

from .conftest import NOW, make_site
from .region import GENERATED_AT, OTHER_SITE_ID, PROGRAMME, SITE_ID, Region, programme

GZIP = {"Content-Encoding": "gzip"}


def cursor(site) -> int:
    with Session(site.engine) as session:
        return read_sync_state(session).replica_cursor


def meta(site) -> ReplicaMeta:
    with Session(site.engine) as session:
        return queries.replica_meta(session)


def pull(site, region: Region, limit: int = 50, stop_after: int | None = None) -> int:
    """Applies pages from the stored cursor, as `sync` does; returns the pages applied."""
    pages = 0
    while stop_after is None or pages < stop_after:
        page = region.page(cursor(site), limit)
        validate(page, "pn-replica-page/1")
        result = apply_page(site.engine, page)
        pages += 1
        if not result.more:
            break
    return pages


def verdict(site, text: str) -> Verdict:
    return site.desk().check(text).verdict


def add_activity(region: Region) -> dict[str, list[str]]:
    """Changes of every kind after the snapshot: new carnets, attribution, revocation, use."""
    _, fresh = region.carnet()
    _, unattributed = region.carnet(size=5, attributed=None)
    _, later = region.carnet(size=5, attributed=None)
    _, used = region.carnet(size=5)
    region.add(
        {"t": "attribution", "id": "C0000006", "a": "2026-03-05"},
        {"t": "revocation", "code": fresh[0], "reason": "stolen", "on": "2026-03-04"},
        {"t": "used", "code": used[0], "site": OTHER_SITE_ID, "on": "2026-03-03"},
        {"t": "used", "code": used[1], "site": SITE_ID, "on": "2026-03-03"},
    )
    return {"fresh": fresh, "unattributed": unattributed, "later": later, "used": used}


# --- pages ----------------------------------------------------------------------------------


def test_pages_bring_every_kind_of_change(site, region):
    codes = add_activity(region)
    assert verdict(site, codes["fresh"][1]) is Verdict.UNKNOWN
    assert pull(site, region, limit=3) == 3  # 8 new changes, 3 per page
    assert cursor(site) == len(region.changes)
    assert verdict(site, codes["fresh"][1]) is Verdict.VALID
    assert verdict(site, codes["fresh"][0]) is Verdict.REVOKED
    assert verdict(site, codes["unattributed"][0]) is Verdict.UNATTRIBUTED
    assert verdict(site, codes["later"][0]) is Verdict.VALID  # attributed by a later change
    assert verdict(site, codes["used"][0]) is Verdict.REDEEMED_ELSEWHERE
    assert "Fourmies" in site.desk().check(codes["used"][0]).message
    # "used" at this very site adds nothing: the local redemption is what counts here.
    assert verdict(site, codes["used"][1]) is Verdict.VALID
    assert meta(site).pass_count == 30 + 25


def test_a_released_pass_can_be_taken_again(site, region):
    """A declared redemption cancelled at its site: the region releases the pass."""
    _, codes = region.carnet(size=5)
    region.add({"t": "used", "code": codes[0], "site": OTHER_SITE_ID, "on": "2026-03-03"})
    pull(site, region)
    assert verdict(site, codes[0]) is Verdict.REDEEMED_ELSEWHERE
    region.add({"t": "released", "code": codes[0]})
    pull(site, region)
    assert verdict(site, codes[0]) is Verdict.VALID
    # Taken again elsewhere afterwards: the later change wins, within one page too.
    region.add(
        {"t": "used", "code": codes[0], "site": OTHER_SITE_ID, "on": "2026-03-04"},
        {"t": "released", "code": codes[0]},
        {"t": "used", "code": codes[1], "site": OTHER_SITE_ID, "on": "2026-03-04"},
    )
    pull(site, region)
    assert verdict(site, codes[0]) is Verdict.VALID
    assert verdict(site, codes[1]) is Verdict.REDEEMED_ELSEWHERE


def test_a_page_stores_its_cursor_and_the_last_page_the_replicas_time(site, region):
    add_activity(region)
    moment = GENERATED_AT + timedelta(days=5)
    result = apply_page(site.engine, region.page(cursor(site), 4, generated_at=moment))
    assert result.applied and result.more and result.changes == 4
    assert cursor(site) == result.cursor == len(region.changes) - 4
    assert meta(site).updated_at == GENERATED_AT  # more to come: not up to date yet
    result = apply_page(site.engine, region.page(cursor(site), 50, generated_at=moment))
    assert not result.more
    assert meta(site).updated_at == moment


def test_an_empty_page_refreshes_the_replica_time(site, region):
    before = site.dump()
    moment = GENERATED_AT + timedelta(days=9)
    result = apply_page(site.engine, region.page(cursor(site), generated_at=moment))
    assert (result.changes, result.applied, result.more) == (0, False, False)
    assert meta(site).updated_at == moment
    assert site.desk(moment + timedelta(hours=1)).check(region.new_code()).warnings == []
    after = site.dump()
    assert after["pass"] == before["pass"] and after["sync_state"] == before["sync_state"]


def test_a_cut_between_pages_loses_nothing(tmp_path, region):
    add_activity(region)
    for _ in range(20):
        region.carnet(size=5)
    # Both sites start from the same snapshot (sites and programme only)...
    start = Region(key=region.key, changes=region.changes[:3])
    whole, cut = make_site(tmp_path / "whole", start), make_site(tmp_path / "cut", start)
    try:
        # ... then one takes every page in one go ...
        pull(whole, region, limit=7)
        # ... and the other two pages, "crashes" (its engine thrown away), then goes on.
        assert pull(cut, region, limit=7, stop_after=2) == 2
        assert cursor(cut) == 3 + 14
        cut.engine.dispose()
        cut.engine = open_database(cut.data_dir / DATABASE_FILENAME)
        pull(cut, region, limit=7)
        assert cursor(cut) == cursor(whole) == len(region.changes)
        replica_tables = [
            "site", "programme", "programme_site", "carnet", "pass", "revocation",
            "remote_redemption", "replica_meta", "sync_state",
        ]  # fmt: skip
        whole_dump, cut_dump = whole.dump(), cut.dump()
        assert {t: cut_dump[t] for t in replica_tables} == {
            t: whole_dump[t] for t in replica_tables
        }
    finally:
        whole.engine.dispose()
        cut.engine.dispose()


def test_applying_the_same_page_twice_changes_nothing(site, region):
    add_activity(region)
    start = cursor(site)
    page = region.page(start, 5)
    apply_page(site.engine, page)
    once = site.dump()
    again = apply_page(site.engine, page)
    assert not again.applied
    assert site.dump() == once


def test_the_upserts_themselves_are_idempotent(site, region):
    """Even applied again (cursor moved back by hand), a page leaves the same rows."""
    add_activity(region)
    start = cursor(site)
    page = region.page(start, 100)
    apply_page(site.engine, page)
    once = site.dump()
    with site.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE sync_state SET replica_cursor = ?", (start,))
    assert apply_page(site.engine, page).applied
    assert site.dump() == once


def test_later_changes_of_one_carnet_win_within_a_page(site, region):
    carnet_id, codes = region.carnet(attributed="2026-02-01")
    region.add(
        {"t": "attribution", "id": carnet_id, "a": None},
        {"t": "attribution", "id": carnet_id, "a": "2026-03-02"},
        {"t": "attribution", "id": carnet_id, "a": None},
        programme(sites=[OTHER_SITE_ID]),
        programme(sites=[OTHER_SITE_ID, SITE_ID]),
        programme(sites=[OTHER_SITE_ID]),
    )
    pull(site, region)
    assert verdict(site, codes[0]) is Verdict.PROGRAMME_NOT_ACCEPTED
    region.add(programme(sites=["*"]))
    pull(site, region)
    assert verdict(site, codes[0]) is Verdict.UNATTRIBUTED


def test_a_pass_listed_again_by_a_later_carnet_of_the_page_is_that_carnet_s(site, region):
    """A page's passes are written sorted by code: of two changes to one code, the later
    still wins."""
    pull(site, region)
    before = meta(site).pass_count
    first_id, codes = region.carnet(attributed="2026-02-01")
    others = [region.new_code() for _ in range(4)]
    region.add(
        {
            "t": "carnet",
            "id": "A0000001",
            "p": PROGRAMME,
            "n": 5,
            "a": None,
            "codes": [*others, codes[3]],
        },
    )
    pull(site, region)
    with Session(site.engine) as session:
        assert queries.carnet_of_pass(session, codes[3]) == "A0000001"
        assert queries.carnet_of_pass(session, codes[2]) == first_id
    assert verdict(site, codes[3]) is Verdict.UNATTRIBUTED
    assert verdict(site, codes[2]) is Verdict.VALID
    assert meta(site).pass_count == before + 14  # 10 + 5, one of them twice


def test_a_page_out_of_sequence_is_refused(site, region):
    add_activity(region)
    before = site.dump()
    with pytest.raises(ProtocolError, match="hors séquence"):
        apply_page(site.engine, region.page(cursor(site) + 2))
    assert site.dump() == before


@pytest.mark.parametrize(
    "tamper",
    [
        lambda page: page["changes"][0].update(a="2020-01-01"),
        lambda page: page.update(until=page["until"] + 100),
        lambda page: page["changes"].pop(),
        lambda page: page["signature"].update(value=page["signature"]["value"][::-1]),
        lambda page: page.pop("signature"),
    ],
    ids=["change", "cursor", "dropped-change", "signature", "unsigned"],
)
def test_a_tampered_page_is_refused_and_the_database_untouched(site, region, tamper):
    add_activity(region)
    page = copy.deepcopy(region.page(cursor(site)))
    tamper(page)
    before = site.dump()
    with pytest.raises(ProtocolError) as error:
        apply_page(site.engine, page)
    assert "refusé" in str(error.value)
    assert site.dump() == before


def test_a_page_signed_by_another_key_is_refused(site, region):
    add_activity(region)
    impostor = Region(key=Ed25519PrivateKey.generate(), changes=region.changes)
    before = site.dump()
    forged = impostor.page(cursor(site))
    with pytest.raises(ProtocolError, match="ne connaît pas comme clé de la région"):
        apply_page(site.engine, forged)
    forged["signature"]["kid"] = region.page(cursor(site))["signature"]["kid"]  # a lie
    with pytest.raises(ProtocolError, match="Signature invalide"):
        apply_page(site.engine, forged)
    with pytest.raises(ProtocolError, match="région"):
        apply_page(site.engine, Region(region_id="BRE", key=region.key).page(cursor(site)))
    assert site.dump() == before


def test_a_page_needs_the_region_key(tmp_path, region):
    engine = open_database(tmp_path / DATABASE_FILENAME)
    try:
        with pytest.raises(ProtocolError, match="clé de la région est inconnue"):
            apply_page(engine, region.page(0))
    finally:
        engine.dispose()


def test_a_malformed_change_rolls_the_whole_page_back(site, region):
    add_activity(region)
    region.add({"t": "revocation", "code": region.new_code(), "reason": "lost", "on": "mardi"})
    before = site.dump()
    with pytest.raises(ProtocolError, match="mal formée"):
        apply_page(site.engine, region.page(cursor(site), 100))
    assert site.dump() == before
    region.changes[-1] = {"t": "carnet", "id": "X", "p": "NOPE", "n": 5, "a": None,
                          "codes": [region.new_code() for _ in range(5)]}  # fmt: skip
    with pytest.raises(ProtocolError, match="incohérente"):
        apply_page(site.engine, region.page(cursor(site), 100))
    assert site.dump() == before


# --- compact pages (pn-replica-page/2) -------------------------------------------------------


def pull_compact(site, region: Region, limit: int = 3) -> list[str]:
    """Applies pn-replica-page/2 pages from the stored cursor; returns the formats applied."""
    formats, more = [], True
    while more:
        page = region.page(cursor(site), limit, compact=True)
        validate(page, "pn-replica-page/2")
        result = apply_page(site.engine, page)
        formats.append(result.format)
        more = result.more
    return formats


def compact_carnet_page(site, region: Region) -> tuple[dict, dict]:
    """A signed page /2 after the site's cursor, and its first carnet change."""
    region.carnet()
    page = copy.deepcopy(region.page(cursor(site), compact=True))
    carnet = next(change for change in page["changes"] if change["t"] == "carnet")
    return page, carnet


def test_compact_pages_give_the_rows_of_plain_pages(tmp_path, region):
    plain = make_site(tmp_path / "plain", region, with_operator=False)
    compact = make_site(tmp_path / "compact", region, with_operator=False)
    codes = add_activity(region)
    for _ in range(3):
        region.carnet(size=5)
    try:
        pull(plain, region, limit=3)
        assert pull_compact(compact, region) == ["pn-replica-page/2"] * 4
        assert compact.dump() == plain.dump()
        assert cursor(compact) == len(region.changes)
        assert verdict(compact, codes["fresh"][1]) is Verdict.VALID
        assert verdict(compact, codes["fresh"][0]) is Verdict.REVOKED
        assert verdict(compact, codes["used"][0]) is Verdict.REDEEMED_ELSEWHERE
    finally:
        plain.engine.dispose()
        compact.engine.dispose()


def _shorter(carnet: dict) -> None:
    carnet["c"] = carnet["c"][:-1]


def _symbol(symbol: str) -> Callable[[dict], None]:
    def put(carnet: dict) -> None:
        carnet["c"] = carnet["c"][:30] + symbol + carnet["c"][31:]

    return put


def _listed_too(carnet: dict) -> None:
    carnet["codes"] = [carnet["c"][:12] + "0"]


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (_shorter, "ses codes font 119 caractères, 120 attendus"),
        (lambda carnet: carnet.update(n=5), "ses codes font 120 caractères, 60 attendus"),
        (_symbol("U"), "un caractère qu'aucun code de pass n'a"),
        (_symbol("o"), "un caractère qu'aucun code de pass n'a"),
        (_symbol("_"), "un caractère qu'aucun code de pass n'a"),  # int(…, 32) would take it
        (_symbol(" "), "un caractère qu'aucun code de pass n'a"),
        (lambda carnet: carnet.update(c=list(carnet["c"])), "attendus en une chaîne « c »"),
        (_listed_too, "attendus en une chaîne « c », sans liste"),
        (lambda carnet: carnet.pop("n"), "sa taille « n » manque"),
    ],
    ids=["short", "size", "symbol", "lower-case", "underscore", "space", "list", "both", "no-n"],
)
def test_a_bad_compact_carnet_is_refused_and_nothing_applied(site, region, tamper, message):
    page, carnet = compact_carnet_page(site, region)
    tamper(carnet)
    before = site.dump()
    with pytest.raises(ProtocolError, match="Page de réplique mal formée") as error:
        apply_page(site.engine, region.signed(page))  # signed as it is: the data is wrong
    assert message in str(error.value) and f"carnet « {carnet['id']} »" in str(error.value)
    assert site.dump() == before


def test_a_compact_carnet_changed_after_signing_is_refused(site, region):
    page, carnet = compact_carnet_page(site, region)
    carnet["c"] = carnet["c"][12:] + carnet["c"][:12]  # the same codes, another order
    before = site.dump()
    with pytest.raises(ProtocolError, match="Signature invalide"):
        apply_page(site.engine, page)
    assert site.dump() == before


def fetch_threads_end() -> bool:
    """Waits for the threads fetching pages, one abandoned included (its request ends within
    the client's timeouts, in the background); True once none is left."""
    for thread in threading.enumerate():
        if thread.name.startswith("replica-fetch"):
            thread.join(timeout=60)
    return not [thread for thread in threading.enumerate() if thread.name.startswith("replica-")]


def malformed_page_2(region: Region, start: int, since: int) -> dict:
    """The compact page of 3 changes after `since`; page 2 (after `start + 3`) has a code
    short of a symbol, signed as it is: the site refuses it once fetched."""
    page = region.page(since, 3, compact=True)
    if since == start + 3:
        page["changes"][0]["c"] = page["changes"][0]["c"][:-1]
        page = region.signed(page)
    return page


PAGE_2_REFUSED = (
    "Réplique : Page de réplique mal formée (changement n° 1, carnet « C0000007 ») : ses "
    "codes font 119 caractères, 120 attendus (10 codes de 12 caractères)."
)


def page_2_applied_after(monkeypatch, start: int, event: threading.Event) -> None:
    """Page 2 is applied (refused) only once `event` is set (the hub got the page after
    it): the page fetched ahead is on its way then, whatever the threads' timing."""

    def apply_page_2_after(engine, page):
        if page["since"] == start + 3:
            assert event.wait(timeout=60)
        return apply_page(engine, page)

    monkeypatch.setattr(replica_service, "apply_page", apply_page_2_after)


def test_a_page_that_fails_drops_the_page_fetched_ahead_of_it(site, region, monkeypatch):
    """Page 2 is malformed (signed as it is): page 1 stays applied, the cursor after it; page
    3, fetched while page 2 was applied, is not applied."""
    for _ in range(7):
        region.carnet()
    start = cursor(site)
    asked: list[int] = []
    page_3_asked = threading.Event()

    def hub(request: httpx.Request) -> httpx.Response:
        since = int(request.url.params["since"])
        assert request.url.params["format"] == "2"
        asked.append(since)
        if since == start + 6:
            page_3_asked.set()
        page = malformed_page_2(region, start, since)
        return httpx.Response(200, headers=GZIP, stream=httpx.ByteStream(dump_gzip_json(page)))

    site.set_enrolment("http://hub.invalid")
    page_2_applied_after(monkeypatch, start, page_3_asked)
    report = synchronise(
        site.engine, system_clock, transport=httpx.MockTransport(hub), page_limit=3
    )
    assert report.pages == 1 and report.cursor == cursor(site) == start + 3
    assert report.errors == [PAGE_2_REFUSED]
    assert asked == [start, start + 3, start + 6]  # page 3 was fetched ahead, then dropped
    assert meta(site).pass_count == 30 + 30
    assert fetch_threads_end()


@dataclass
class HoldingHub:
    """A hub on 127.0.0.1 serving pages of 3 changes from `start` (page 2 malformed when
    told so); it holds the request for page 3 (from `start + 6`) until `release` is set."""

    url: str
    start: int
    malformed_page_2: bool = False
    holding: threading.Event = field(default_factory=threading.Event)  # page 3 asked, held
    release: threading.Event = field(default_factory=threading.Event)
    answered: list[int] = field(default_factory=list)  # each page's `since`, once answered


@pytest.fixture
def holding_hub(site, region) -> Iterator[HoldingHub]:
    for _ in range(7):
        region.carnet()
    start = cursor(site)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            since = int(parse_qs(urlsplit(self.path).query)["since"][0])
            if since == start + 6:
                hub.holding.set()
                hub.release.wait(timeout=30)
            if hub.malformed_page_2:
                page = malformed_page_2(region, start, since)
            else:
                page = region.page(since, 3, compact=True)
            body = dump_gzip_json(page)
            hub.answered.append(since)
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hub = HoldingHub(f"http://127.0.0.1:{server.server_address[1]}", start)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    site.set_enrolment(hub.url)
    try:
        yield hub
    finally:
        hub.release.set()
        assert fetch_threads_end()
        server.shutdown()
        server.server_close()


def test_a_refused_page_does_not_wait_for_the_page_fetched_ahead(site, holding_hub, monkeypatch):
    """Before the fetch-ahead, a refused page ended the pull at once: it still does, while
    the hub holds the request for the page after it (which would else keep the site waiting
    for its timeouts and retries)."""
    hub = holding_hub
    hub.malformed_page_2 = True
    page_2_applied_after(monkeypatch, hub.start, hub.holding)
    report = synchronise(site.engine, system_clock, page_limit=3)
    assert hub.holding.is_set() and hub.answered == [hub.start, hub.start + 3]  # 3: held
    assert report.errors == [PAGE_2_REFUSED]
    assert report.pages == 1 and report.cursor == cursor(site) == hub.start + 3
    assert meta(site).pass_count == 30 + 30


def test_a_ctrl_c_does_not_wait_for_the_page_fetched_ahead(site, holding_hub):
    hub = holding_hub

    def interrupt(_changes: int, at: int) -> None:
        if at == hub.start + 6:  # page 2 applied, page 3 asked for and held
            assert hub.holding.wait(timeout=60)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        synchronise(site.engine, system_clock, progress=interrupt, page_limit=3)
    assert hub.answered == [hub.start, hub.start + 3]  # page 3: still held
    assert cursor(site) == hub.start + 6
    assert meta(site).pass_count == 30 + 60
    with Session(site.engine) as session:
        assert read_sync_state(session).last_error == "Synchronisation interrompue : relancez-la."


# --- snapshots ------------------------------------------------------------------------------


def test_a_snapshot_of_thousands_of_passes_on_a_new_site(tmp_path, region):
    for index in range(400):
        region.carnet(
            size=10 if index % 2 else 5, attributed=None if index % 7 == 0 else "2026-02-01"
        )
    codes = add_activity(region)
    snapshot = region.snapshot()
    validate(snapshot, "pn-replica-snapshot/1")
    path = tmp_path / "replica.json.gz"
    path.write_bytes(dump_gzip_json(snapshot))
    engine = open_database(tmp_path / "site" / DATABASE_FILENAME)
    try:
        result = apply_snapshot(engine, read_replica_file(path), SITE_ID)
        assert result.applied and result.cursor == len(region.changes)
        assert result.pass_count == 200 * 5 + 200 * 10 + 25
        assert result.trusted_key_fingerprint == key_fingerprint(region.public_key)
        with Session(engine) as session:
            stored = queries.replica_meta(session)
            assert (stored.site_id, stored.region_id) == (SITE_ID, "HDF")
            assert stored.region_public_key == region.public_key
            assert stored.updated_at == GENERATED_AT
        from mediateur_tui.domain.clock import fixed_clock
        from mediateur_tui.services.desk import Desk

        desk = Desk(engine, clock=fixed_clock(NOW))
        assert desk.check(codes["fresh"][1]).verdict is Verdict.VALID
        assert desk.check(codes["used"][0]).verdict is Verdict.REDEEMED_ELSEWHERE
        # A QR code is now checked against the region key the snapshot brought.
        valid_until = region.snapshot()["changes"][2]["valid_until"]
        from datetime import date

        assert desk.check(region.qr(codes["fresh"][1], date.fromisoformat(valid_until))).redeemable
    finally:
        engine.dispose()


def test_a_snapshot_the_site_already_has_is_ignored(site, region):
    before = site.dump()
    result = apply_snapshot(site.engine, region.snapshot())
    assert not result.applied and result.trusted_key_fingerprint is None
    assert site.dump() == before


def test_a_newer_snapshot_brings_the_site_forward(site, region):
    codes = add_activity(region)
    result = apply_snapshot(site.engine, region.snapshot(GENERATED_AT + timedelta(days=3)))
    assert result.applied and cursor(site) == len(region.changes)
    assert verdict(site, codes["fresh"][0]) is Verdict.REVOKED
    assert meta(site).updated_at == GENERATED_AT + timedelta(days=3)


def test_a_snapshot_signed_with_another_region_key_is_refused(site, region):
    add_activity(region)
    other = Region(key=Ed25519PrivateKey.generate(), changes=region.changes)
    before = site.dump()
    with pytest.raises(ProtocolError, match="autre clé"):
        apply_snapshot(site.engine, other.snapshot())
    assert site.dump() == before


def test_a_tampered_snapshot_is_refused(tmp_path, region):
    region.carnet()
    snapshot = region.snapshot()
    snapshot["changes"][-1]["a"] = "2026-01-01"
    engine = open_database(tmp_path / DATABASE_FILENAME)
    try:
        with pytest.raises(ProtocolError, match="Signature invalide"):
            apply_snapshot(engine, snapshot, SITE_ID)
        with Session(engine) as session:
            assert queries.replica_meta(session) is None
    finally:
        engine.dispose()


def test_a_first_snapshot_needs_a_known_site_id(tmp_path, region):
    engine = open_database(tmp_path / DATABASE_FILENAME)
    try:
        with pytest.raises(SyncError, match="--site"):
            apply_snapshot(engine, region.snapshot())
        with pytest.raises(SyncError, match="n'est pas dans le registre"):
            apply_snapshot(engine, region.snapshot(), "NOWHERE")
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM site").scalar_one() == 0
    finally:
        engine.dispose()


def test_a_snapshot_cannot_change_the_site_id(site, region):
    with pytest.raises(SyncError, match="déjà le lieu"):
        apply_snapshot(site.engine, region.snapshot(), OTHER_SITE_ID)


def test_snapshot_files_are_checked(tmp_path):
    with pytest.raises(ProtocolError, match="introuvable"):
        read_replica_file(tmp_path / "absent.json.gz")
    (tmp_path / "junk.json.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(ProtocolError, match="gzip"):
        read_replica_file(tmp_path / "junk.json.gz")
    (tmp_path / "ack.json").write_text('{"format": "pn-ack/1"}')
    with pytest.raises(ProtocolError, match="type attendu"):
        read_replica_file(tmp_path / "ack.json")


def test_a_site_change_brings_the_identity_and_one_without_it_none(site, region):
    """A hub that gives the site's identity: the site table keeps it; an older hub's change
    (name only) leaves none, rather than half of one."""
    from mediateur_tui.domain.site_identity import SiteIdentity
    from mediateur_tui.store.models import Site

    def identity_of(site_id: str) -> SiteIdentity | None:
        with Session(site.engine) as session:
            row = session.get(Site, site_id)
            assert row is not None
            return row.identity()

    identity = {"pivot": "W595001234", "code_insee": "59249", "code_postal": "59610"}
    region.add({"t": "site", "id": OTHER_SITE_ID, "name": "Médiathèque", **identity})
    pull(site, region)
    assert identity_of(OTHER_SITE_ID) == SiteIdentity("W595001234", "59249", "59610")
    assert identity_of(SITE_ID) is None  # the fixture's region gave it none
    region.add({"t": "site", "id": OTHER_SITE_ID, "name": "Médiathèque de Fourmies"})
    pull(site, region)
    assert identity_of(OTHER_SITE_ID) is None
