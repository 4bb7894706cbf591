"""The snapshot export streamed in pages: the same bytes as the document built whole.

The reference below is the export as it was before it streamed: every change read at once,
the released passes left out, the document signed and gzip'd in memory. The streamed export
must give exactly its bytes (same signature: Ed25519 is deterministic), on SQLite and on
PostgreSQL, with pages far smaller than the region so that every page boundary is crossed.
"""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import col, select

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.hub import replica
from mediateur_tui.hub.database import Hub, read_session
from mediateur_tui.hub.declarations import receive_declaration
from mediateur_tui.hub.intake import receive_batch
from mediateur_tui.hub.models import HubChange
from mediateur_tui.hub.region_keys import key_set_documents, rotate_key
from mediateur_tui.hub.replica import snapshot, write_snapshot
from mediateur_tui.protocol.documents import dump_gzip_json, load_json
from mediateur_tui.protocol.formats import REPLICA_SNAPSHOT
from mediateur_tui.protocol.signing import encode_key, region_signer, sign_document

from .helpers import SITE_A, SITE_B, World, cancellation, line, make_batch, make_declaration

NOW = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
AT = "2026-11-12T09:30:00Z"
LATER = "2026-11-12T15:00:00Z"


def whole_snapshot(hub: Hub) -> bytes:
    """The export built whole in memory, as before it streamed."""
    with read_session(hub.engine) as session, session.begin():
        rows = session.exec(
            select(HubChange.seq, HubChange.body).order_by(col(HubChange.seq))
        ).all()
        key_sets = key_set_documents(session)
    document = {
        "format": REPLICA_SNAPSHOT,
        "region_id": hub.region_id,
        "region_public_key": encode_key(hub.region_public_key),
        "until": rows[-1][0] if rows else 0,
        "generated_at": NOW.isoformat().replace("+00:00", "Z"),
        "changes": without_released([json.loads(body) for _seq, body in rows]),
        "key_sets": key_sets,
    }
    return dump_gzip_json(sign_document(document, hub.region_key, region_signer(hub.region_id)))


def without_released(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    dropped: set[int] = set()
    last_used: dict[str, int] = {}
    for index, change in enumerate(changes):
        if change["t"] == "used":
            last_used[change["code"]] = index
        elif change["t"] == "released":
            dropped.add(index)
            undone = last_used.pop(change["code"], None)
            if undone is not None:
                dropped.add(undone)
    return [change for index, change in enumerate(changes) if index not in dropped]


def streamed(hub: Hub) -> tuple[bytes, replica.Exported]:
    out = io.BytesIO()
    exported = write_snapshot(hub, out)
    return out.getvalue(), exported


@pytest.fixture(autouse=True)
def _fixed_clock_and_small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replica, "system_clock", fixed_clock(NOW))
    monkeypatch.setattr(replica, "EXPORT_PAGE", 7)


def test_the_streamed_export_is_the_whole_documents_bytes(world: World) -> None:
    hub, site = world.hub, world.sites[SITE_A]
    kept, released = line(world.fresh[0], AT), line(world.fresh[1], AT)
    declaration = make_declaration(site, [kept, released], [cancellation(released["id"])])
    receive_declaration(hub, declaration, SITE_A)
    receive_declaration(hub, make_declaration(world.sites[SITE_B], [line(world.fresh[1], LATER)]))
    receive_batch(hub, make_batch(site, [line(code, AT) for code in world.fresh[2:12]]), SITE_A)
    rotate_key(hub)  # a key set in the snapshot
    expected = whole_snapshot(hub)
    data, exported = streamed(hub)
    assert data == expected
    document = load_json(data, REPLICA_SNAPSHOT)
    assert exported == replica.Exported(len(document["changes"]), document["until"])
    assert document["key_sets"]
    assert not [change for change in document["changes"] if change["t"] == "released"]
    assert snapshot(hub) == document


def test_a_region_without_releases_streams_every_change(world: World) -> None:
    receive_batch(world.hub, make_batch(world.sites[SITE_A], [line(world.fresh[0], AT)]), SITE_A)
    data, exported = streamed(world.hub)
    assert data == whole_snapshot(world.hub)
    assert json.loads(gzip.decompress(data))["changes"][-1]["t"] == "used"
    assert exported.changes == len(load_json(data, REPLICA_SNAPSHOT)["changes"])
