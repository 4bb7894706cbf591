"""The snapshot export streamed in pages as a pn-replica-snapshot/2, and the
pn-replica-snapshot/1 `export-replica --format 1` writes (tests/hub/helpers.snapshot_v1): both
hold, line for line, the changes found without the export's code
(tests/hub/helpers.expected_changes: the change log read whole, the released passes dropped),
and the /2 a seal that seals exactly the bytes written, on SQLite and on PostgreSQL, with pages
far smaller than the region so that every page boundary is crossed.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from datetime import UTC, datetime

import pytest
from contract import validate

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.domain.region_keys import RegionKeys
from mediateur_tui.hub import replica
from mediateur_tui.hub.database import Hub
from mediateur_tui.hub.declarations import receive_declaration
from mediateur_tui.hub.intake import receive_batch
from mediateur_tui.hub.region_keys import rotate_key
from mediateur_tui.hub.replica import write_snapshot
from mediateur_tui.protocol.formats import REPLICA_SEAL, REPLICA_SNAPSHOT, REPLICA_SNAPSHOT_LINES
from mediateur_tui.protocol.key_sets import verify_region_document
from mediateur_tui.protocol.signing import encode_key
from mediateur_tui.services.region_keys import follow_document_key_sets

from .helpers import (
    SITE_A,
    SITE_B,
    World,
    cancellation,
    change_bodies,
    expected_changes,
    line,
    make_batch,
    make_declaration,
    snapshot,
    snapshot_v1,
)

NOW = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
AT = "2026-11-12T09:30:00Z"
LATER = "2026-11-12T15:00:00Z"


def streamed(hub: Hub) -> tuple[list[bytes], replica.Exported]:
    """The lines of the export, decompressed, each with its newline."""
    out = io.BytesIO()
    exported = write_snapshot(hub, out)
    return gzip.decompress(out.getvalue()).splitlines(keepends=True), exported


@pytest.fixture(autouse=True)
def _fixed_clock_and_small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replica, "system_clock", fixed_clock(NOW))
    monkeypatch.setattr(replica, "EXPORT_PAGE", 7)


def test_the_streamed_export_holds_the_whole_documents_changes(world: World) -> None:
    hub, site = world.hub, world.sites[SITE_A]
    kept, released = line(world.fresh[0], AT), line(world.fresh[1], AT)
    declaration = make_declaration(site, [kept, released], [cancellation(released["id"])])
    receive_declaration(hub, declaration, SITE_A)
    receive_declaration(hub, make_declaration(world.sites[SITE_B], [line(world.fresh[1], LATER)]))
    receive_batch(hub, make_batch(site, [line(code, AT) for code in world.fresh[2:12]]), SITE_A)
    rotate_key(hub)  # a key set in the snapshot: the seal is signed by the new key
    whole = snapshot_v1(hub)
    lines, exported = streamed(hub)
    head, changes, seal = json.loads(lines[0]), lines[1:-1], json.loads(lines[-1])
    expected = expected_changes(hub)
    logged = change_bodies(hub)
    assert [change["t"] for change in logged].count("released") == 1
    assert len(expected) == len(logged) - 2 > 3 * replica.EXPORT_PAGE

    assert head == {
        "format": REPLICA_SNAPSHOT_LINES,
        **{key: whole[key] for key in ("region_id", "region_public_key", "until")},
        "generated_at": whole["generated_at"],
        "key_sets": whole["key_sets"],
    }
    assert [json.loads(change) for change in changes] == expected
    assert whole["changes"] == expected
    assert all(change.endswith(b"\n") and b"\n" not in change[:-1] for change in changes)
    assert exported == replica.Exported(len(changes), whole["until"])
    assert {key: value for key, value in seal.items() if key != "signature"} == {
        "format": REPLICA_SEAL,
        "region_id": hub.region_id,
        "changes": len(changes),
        "sha256": hashlib.sha256(b"".join(lines[:-1])).hexdigest(),
    }
    assert seal["signature"]["kid"] == hub.region_kid
    validate(head, REPLICA_SNAPSHOT_LINES)
    validate(seal, REPLICA_SEAL)
    for change in changes:
        validate(json.loads(change), REPLICA_SNAPSHOT_LINES)  # a line: the head or a change
    first_key = RegionKeys.first_key_only(hub.region_public_key)
    followed = follow_document_key_sets(first_key, head, hub.region_id)
    verify_region_document(seal, followed.keys, hub.region_id)
    validate(whole, REPLICA_SNAPSHOT)
    verify_region_document(whole, followed.keys, hub.region_id)  # the /1, signed whole
    read_back = snapshot(hub)
    assert (read_back.head, read_back.changes, read_back.seal) == (head, expected, seal)


def test_a_region_without_releases_streams_every_change(world: World) -> None:
    receive_batch(world.hub, make_batch(world.sites[SITE_A], [line(world.fresh[0], AT)]), SITE_A)
    lines, exported = streamed(world.hub)
    whole = snapshot_v1(world.hub)
    expected = expected_changes(world.hub)
    assert expected == change_bodies(world.hub)
    assert [json.loads(change) for change in lines[1:-1]] == expected
    assert whole["changes"] == expected
    assert json.loads(lines[-2])["t"] == "used"
    assert exported.changes == len(whole["changes"]) == json.loads(lines[-1])["changes"]


def test_the_export_is_the_same_bytes_each_time(world: World) -> None:
    """Ed25519 is deterministic and the gzip header holds no date: an export of an unchanged
    region (at one instant) is the same file."""
    first, second = io.BytesIO(), io.BytesIO()
    write_snapshot(world.hub, first)
    write_snapshot(world.hub, second)
    assert first.getvalue() == second.getvalue()
    assert json.loads(gzip.decompress(first.getvalue()).splitlines()[0])["region_public_key"] == (
        encode_key(world.hub.region_public_key)
    )
