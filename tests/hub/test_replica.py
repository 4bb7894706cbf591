"""Replica pages (cursor, resume, signature) and snapshots; bytes per pass on the wire."""

from __future__ import annotations

import copy
import io

import pytest
from contract import validate
from sqlmodel import select

from mediateur_tui.domain.signatures import public_key_bytes
from mediateur_tui.hub.database import Hub, write_session
from mediateur_tui.hub.intake import receive_batch
from mediateur_tui.hub.models import HubChange
from mediateur_tui.hub.registry import ProgrammeSpec, init_region, issue
from mediateur_tui.hub.replica import changes_page, last_sequence, write_snapshot
from mediateur_tui.protocol.documents import dump_gzip_json, load_json
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import REPLICA_PAGE, REPLICA_PAGE_COMPACT, REPLICA_SNAPSHOT
from mediateur_tui.protocol.replica_pages import expand_changes
from mediateur_tui.protocol.signing import decode_key, region_signer, verify_document

from .helpers import SITE_A, World, change_bodies, line, make_batch, snapshot

SIGNER = region_signer("HDF")


def test_pages_follow_the_cursor_to_the_end(sqlite_world: World) -> None:
    hub = sqlite_world.hub
    everything = change_bodies(hub)
    pages, since = [], 0
    for _ in range(len(everything)):  # bounded: one change per page at worst
        page = changes_page(hub, since, limit=4)
        validate(page, "replica-page")
        verify_document(page, hub.region_public_key, SIGNER)
        pages.append(page)
        assert page["since"] == since
        since = page["until"]
        if not page["more"]:
            break
    assert [len(page["changes"]) for page in pages] == [4, 4, 3]
    assert [change for page in pages for change in page["changes"]] == everything
    assert pages[-1]["until"] == last_sequence(hub)
    empty = changes_page(hub, since)
    validate(empty, "replica-page")
    assert (empty["changes"], empty["until"], empty["more"]) == ([], since, False)


def test_a_pull_cut_after_a_page_resumes_with_only_the_new_changes(sqlite_world: World) -> None:
    hub = sqlite_world.hub
    first = changes_page(hub, 0, limit=5)
    kept_cursor = first["until"]  # a site stores this with the page, then the line drops
    receive_batch(
        hub,
        make_batch(
            sqlite_world.sites[SITE_A], [line(sqlite_world.fresh[0], "2026-11-12T09:30:00Z")]
        ),
        SITE_A,
    )
    rest = changes_page(hub, kept_cursor)
    validate(rest, "replica-page")
    assert rest["since"] == kept_cursor and not rest["more"]
    seen = first["changes"] + rest["changes"]
    assert seen == change_bodies(hub)
    assert seen[-1] == {
        "t": "used",
        "code": sqlite_world.fresh[0],
        "site": SITE_A,
        "on": "2026-11-12",
    }


def test_a_compact_page_holds_the_same_changes_its_carnets_compact(sqlite_world: World) -> None:
    hub = sqlite_world.hub
    plain, compact = changes_page(hub, 0), changes_page(hub, 0, compact=True)
    validate(compact, "pn-replica-page/2")
    verify_document(compact, hub.region_public_key, SIGNER)
    assert compact["format"] == REPLICA_PAGE_COMPACT and plain["format"] == REPLICA_PAGE
    assert [change["t"] for change in compact["changes"]] == [c["t"] for c in plain["changes"]]
    carnets = [change for change in compact["changes"] if change["t"] == "carnet"]
    assert [carnet["c"] for carnet in carnets] == [
        "".join(code[:12] for code in codes) for codes in sqlite_world.carnets
    ]
    assert expand_changes(compact["changes"]) == plain["changes"]


def test_a_page_with_a_code_that_would_not_come_back_is_served_as_1(sqlite_world: World) -> None:
    """A stored code whose check symbol is not its data's (the hub never issues one): the
    page that holds it is served as /1, its codes as stored."""
    hub = sqlite_world.hub
    code = sqlite_world.carnets[2][4]
    wrong = code[:12] + ("0" if code[12] != "0" else "1")
    with write_session(hub.engine) as session:
        for change in session.exec(select(HubChange).where(HubChange.kind == "carnet")).all():
            change.body = change.body.replace(code, wrong)
            session.add(change)
        session.commit()
    page = changes_page(hub, 0, compact=True)
    assert page["format"] == REPLICA_PAGE
    assert wrong in [code for change in page["changes"] for code in change.get("codes", [])]
    verify_document(page, hub.region_public_key, SIGNER)


def test_a_tampered_page_is_refused(sqlite_world: World) -> None:
    page = changes_page(sqlite_world.hub, 0)
    tampered = copy.deepcopy(page)
    tampered["changes"][0]["value_cents"] = 100_000
    with pytest.raises(ProtocolError, match="Signature invalide"):
        verify_document(tampered, sqlite_world.hub.region_public_key, SIGNER)


@pytest.mark.parametrize(("since", "limit"), [(-1, 10), (0, 0), (0, 1_000_000)])
def test_bad_cursor_or_limit_is_refused(sqlite_world: World, since: int, limit: int) -> None:
    with pytest.raises(ProtocolError):
        changes_page(sqlite_world.hub, since, limit)


def test_snapshot_holds_everything_and_its_signature(sqlite_world: World) -> None:
    hub = sqlite_world.hub
    document = snapshot(hub)
    validate(document.head, "replica-snapshot-lines")
    validate(document.seal, "replica-seal")
    assert document.head["until"] == last_sequence(hub)
    assert document.changes == change_bodies(hub)
    assert document.seal["changes"] == len(document.changes)
    key = decode_key(document.head["region_public_key"])
    assert key == public_key_bytes(hub.region_key)
    verify_document(document.seal, key, SIGNER)
    forged = {**document.seal, "changes": len(document.changes) - 1}
    with pytest.raises(ProtocolError, match="Signature invalide"):
        verify_document(forged, key, SIGNER)


def test_a_page_is_not_a_snapshot(sqlite_world: World) -> None:
    data = dump_gzip_json(changes_page(sqlite_world.hub, 0))
    assert load_json(data, REPLICA_PAGE)["format"] == REPLICA_PAGE
    with pytest.raises(ProtocolError, match="type attendu"):
        load_json(data, REPLICA_SNAPSHOT)


def test_bytes_per_pass_on_the_wire_stay_under_16(sqlite_settings) -> None:
    """20,000 passes in carnets of 10 (and 5): the pages' gzip'd size over the passes."""
    hub = init_region(sqlite_settings, "HDF")
    issue(hub, ProgrammeSpec(id="HDFNUM"), carnets=1_600, size=10)
    issue(hub, ProgrammeSpec(id="HDFNUM"), carnets=800, size=5)
    passes = 20_000
    wire, compact = _pull_bytes(hub), _pull_bytes(hub, compact=True)
    exported = io.BytesIO()
    write_snapshot(hub, exported)
    snapshot_bytes = len(exported.getvalue())
    hub.engine.dispose()
    assert wire / passes <= 16
    assert snapshot_bytes / passes <= 16
    assert 8 < compact / passes <= 12  # 60 random bits a pass: under 8 is a counting bug
    assert compact < wire - passes  # a byte a pass and more: the quotes and check symbols


def _pull_bytes(hub: Hub, compact: bool = False) -> int:
    """The gzip'd bytes of every page from cursor 0, as the hub serves them."""
    wire, since, more = 0, 0, True
    while more:
        page = changes_page(hub, since, compact=compact)
        wire += len(dump_gzip_json(page))
        since, more = page["until"], page["more"]
    return wire
