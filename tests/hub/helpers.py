"""Helpers for the hub tests: a small region ("the world") and pn-batch/1 documents.

Batches are built here with a site key and the shared protocol helpers, independently of
the site-side code.
"""

from __future__ import annotations

import dataclasses
import io
import json
import secrets
import zlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func
from sqlmodel import col, select

from mediateur_tui.domain.rulebooks import LyceeCriteria, Rulebook, default_rulebooks
from mediateur_tui.domain.signatures import public_key_bytes
from mediateur_tui.hub.database import Hub, HubSettings, read_session
from mediateur_tui.hub.enrolment import complete_enrolment, enrol_site
from mediateur_tui.hub.models import HubChange, hub_registry
from mediateur_tui.hub.registry import ProgrammeSpec, attribute, init_region, issue, revoke
from mediateur_tui.hub.replica import write_snapshot
from mediateur_tui.protocol.documents import load_json
from mediateur_tui.protocol.formats import (
    ATTRIBUTIONS,
    BATCH,
    DECLARATION,
    ENROLMENT_REQUEST,
    REPLICA_SNAPSHOT,
)
from mediateur_tui.protocol.signing import encode_key, sign_document, site_signer
from mediateur_tui.protocol.snapshot_lines import SnapshotReader

REGION_ID = "HDF"
SITE_A = "AVESNES-EPN"
SITE_B = "FOURMIES-MEDIA"
PROGRAMME = "HDFNUM"
VALID_FROM = date(2026, 1, 1)
VALID_UNTIL = date(2026, 12, 31)
GRACE_UNTIL = date(2027, 1, 31)
REVOKED_ON = date(2026, 11, 10)
LYCEE = "Lycée Camille Desmoulins"
NEW_BOOK = next(book for book in default_rulebooks() if book.id == "hdf-2022-02")


@dataclass
class Site:
    id: str
    key: Ed25519PrivateKey
    api_key: str
    answer: dict[str, Any] = field(default_factory=dict)  # its pn-enrolment/1


@dataclass
class World:
    """A region with one programme, four carnets of 10 and two enrolled sites.

    carnets[0], [1] and [3] are attributed; carnets[2] is not; `revoked` (from carnets[1]) is
    in opposition since REVOKED_ON.
    """

    hub: Hub
    carnets: list[list[str]]
    revoked: str
    sites: dict[str, Site] = field(default_factory=dict)

    @property
    def fresh(self) -> list[str]:
        """Attributed, not revoked codes, for tests to use (each at most once per test)."""
        return self.carnets[0] + self.carnets[3]


def build_world(settings: HubSettings) -> World:
    hub = init_region(settings, REGION_ID)
    spec = ProgrammeSpec(
        id=PROGRAMME,
        label="Pass numérique Hauts-de-France",
        valid_from=VALID_FROM,
        valid_until=VALID_UNTIL,
        grace_until=GRACE_UNTIL,
    )
    issued = issue(hub, spec, carnets=4, size=10)
    for index in (0, 1, 3):
        attribute(hub, issued.carnets[index].id, f"BENEF-{index}", date(2026, 2, 1))
    revoked = issued.carnets[1].codes[0]
    revoke(hub, revoked, "stolen", REVOKED_ON)
    world = World(hub=hub, carnets=[c.codes for c in issued.carnets], revoked=revoked)
    for site_id, name in ((SITE_A, "EPN d'Avesnes-sur-Helpe"), (SITE_B, "Médiathèque de Fourmies")):
        world.sites[site_id] = enrol(hub, site_id, name)
    return world


def enrol(hub: Hub, site_id: str, name: str, distributor: bool | None = None) -> Site:
    key = Ed25519PrivateKey.generate()
    token = enrol_site(hub, site_id, name, distributor=distributor)
    answer = complete_enrolment(
        hub,
        {
            "format": ENROLMENT_REQUEST,
            "token": token,
            "site_public_key": encode_key(public_key_bytes(key)),
        },
    )
    return Site(id=site_id, key=key, api_key=answer["api_key"], answer=answer)


def random_id() -> str:
    """A random id as the contract wants them: 32 lowercase hex characters."""
    return secrets.token_hex(16)


def line(code: str, at: str, redemption_id: str | None = None, value: int = 1000) -> dict:
    return {
        "id": redemption_id or random_id(),
        "code": code,
        "session_id": 1,
        "operator": "Camille Martin",
        "redeemed_at": at,
        "input_method": "scan",
        "value_cents": value,
        "provisional": False,
    }


def make_batch(
    site: Site,
    redemptions: list[dict],
    *,
    batch_id: str | None = None,
    period: str = "2026-11",
    sequence: int = 1,
    region_id: str = REGION_ID,
    sign: bool = True,
) -> dict[str, Any]:
    document = {
        "format": BATCH,
        "batch_id": batch_id or random_id(),
        "region_id": region_id,
        "site_id": site.id,
        "period": period,
        "sequence": sequence,
        "previous_hash": None,
        "sealed_at": "2026-12-01T08:00:00Z",
        "sessions": [
            {
                "id": 1,
                "title": "Atelier démarches en ligne",
                "kind": "collectif",
                "themes": "démarches en ligne, messagerie",
                "duration_minutes": 120,
                "started_at": "2026-11-12T09:00:00Z",
                "ended_at": "2026-11-12T11:00:00Z",
            }
        ],
        "redemptions": redemptions,
        "refused_scans": [
            {"at": "2026-11-12T09:10:00Z", "input": "XXXX", "code": None, "verdict": "malformed"}
        ],
        "totals": {
            "redemptions": len(redemptions),
            "value_cents": sum(r["value_cents"] for r in redemptions),
            "refused_scans": 1,
        },
    }
    return sign_document(document, site.key, site_signer(site.id)) if sign else document


SESSION = {
    "id": 1,
    "title": "Atelier démarches en ligne",
    "kind": "collectif",
    "themes": "démarches en ligne, messagerie",
    "duration_minutes": 120,
    "started_at": "2026-11-12T09:00:00Z",
    "ended_at": "2026-11-12T11:00:00Z",
}


def cancellation(redemption_id: str, at: str = "2026-11-12T10:00:00Z") -> dict[str, Any]:
    return {"redemption_id": redemption_id, "cancelled_at": at, "reason": "Erreur de saisie"}


def make_declaration(
    site: Site,
    redemptions: list[dict],
    cancellations: list[dict] | None = None,
    *,
    declaration_id: str | None = None,
    region_id: str = REGION_ID,
    site_id: str | None = None,
    declared_at: str = "2026-11-12T10:05:00Z",
    sign: bool = True,
) -> dict[str, Any]:
    """A pn-declaration/1 of `site` (signed by its key), as a site writes it."""
    document = {
        "format": DECLARATION,
        "declaration_id": declaration_id or random_id(),
        "region_id": region_id,
        "site_id": site_id or site.id,
        "declared_at": declared_at,
        "sessions": [dict(SESSION)] if redemptions else [],
        "redemptions": redemptions,
        "cancellations": cancellations or [],
    }
    return sign_document(document, site.key, site_signer(site.id)) if sign else document


def reference(number: int) -> str:
    """A pseudonymous beneficiary reference ("B" and 20 Crockford symbols), one per number."""
    return f"B{number:020d}"


def attribution(
    carnets: list[str],
    beneficiary_ref: str,
    passes: int,
    *,
    attribution_id: str | None = None,
    category: str = "job_seeker",
    received_on: str = "2026-11-10",
    attributed_at: str = "2026-11-10T10:00:00Z",
    accompanied: bool = True,
    establishment: str | None = None,
    rulebook: str = "hdf-2022-02",
) -> dict[str, Any]:
    """One attribution of a pn-attributions/1, as a distributor site writes it."""
    return {
        "id": attribution_id or random_id(),
        "beneficiary_ref": beneficiary_ref,
        "category": category,
        "rulebook": rulebook,
        "received_on": received_on,
        "attributed_at": attributed_at,
        "accompanied": accompanied,
        "establishment": establishment,
        "carnets": carnets,
        "passes": passes,
    }


def make_attributions(
    site: Site,
    items: list[dict[str, Any]],
    *,
    region_id: str = REGION_ID,
    site_id: str | None = None,
    sign: bool = True,
) -> dict[str, Any]:
    document = {
        "format": ATTRIBUTIONS,
        "region_id": region_id,
        "site_id": site_id or site.id,
        "sent_at": "2026-11-10T10:05:00Z",
        "attributions": items,
    }
    return sign_document(document, site.key, site_signer(site.id)) if sign else document


def table_counts(hub: Hub) -> dict[str, int]:
    """Row count of every hub table: what "the database is untouched" compares."""
    counts = {}
    with read_session(hub.engine) as session:
        for table in hub_registry.metadata.sorted_tables:
            counts[table.name] = session.exec(select(func.count()).select_from(table)).one()
    return counts


def change_bodies(hub: Hub, kind: str | None = None) -> list[dict]:
    with read_session(hub.engine) as session:
        query = select(HubChange).order_by(HubChange.seq)
        if kind is not None:
            query = query.where(HubChange.kind == kind)
        return [json.loads(change.body) for change in session.exec(query).all()]


def gzip_bomb(size: int) -> bytes:
    """`size` spaces (a multiple of 1 MiB), gzip'd at the best ratio: about 1,000 to 1."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b" " * (1024 * 1024)
    body = b"".join(compressor.compress(chunk) for _ in range(size // len(chunk)))
    return body + compressor.flush()


def snapshot_v1(hub: Hub) -> dict[str, Any]:
    """The signed pn-replica-snapshot/1 `export-replica --format 1` writes of `hub` (what a
    site of 3 December 2026 or earlier reads), parsed back whole."""
    buffer = io.BytesIO()
    write_snapshot(hub, buffer, REPLICA_SNAPSHOT)
    return load_json(buffer.getvalue(), REPLICA_SNAPSHOT)


def expected_changes(hub: Hub) -> list[dict[str, Any]]:
    """The changes a snapshot of `hub` must hold, found without the export's code: every
    change of `hub_change` read whole in seq order, but each `released` one and the `used`
    change it undoes (docs/protocol.md, "A snapshot")."""
    with read_session(hub.engine) as session:
        bodies = session.exec(select(HubChange.body).order_by(col(HubChange.seq))).all()
    return without_released([json.loads(body) for body in bodies])


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


@dataclass(frozen=True)
class Snapshot:
    """A pn-replica-snapshot/2 read back whole (`snapshot`): its head, changes and seal."""

    head: dict[str, Any]
    changes: list[dict[str, Any]]
    seal: dict[str, Any]


def snapshot(hub: Hub) -> Snapshot:
    """The pn-replica-snapshot/2 `export-replica` writes of `hub`, read back in memory, its
    seal's count and digest checked but not its signature (for a small region)."""
    buffer = io.BytesIO()
    write_snapshot(hub, buffer)
    buffer.seek(0)
    reader = SnapshotReader(buffer)
    changes = list(reader.changes())
    return Snapshot(reader.head, changes, reader.seal)


def lycee_book(max_passes: int = 4000) -> Rulebook:
    """The 2022 version with the lycée experiment's criteria and establishments filled in (a
    later deliberation), as tests/domain/test_attribution.py builds it."""
    lycee = NEW_BOOK.categories["lycee"]
    assert lycee.experiment is not None
    experiment = dataclasses.replace(
        lycee.experiment,
        establishments=(LYCEE,),
        criteria=LyceeCriteria("Élèves des établissements désignés", ()),
        max_passes=max_passes,
    )
    filled = dataclasses.replace(lycee, experiment=experiment)
    return dataclasses.replace(NEW_BOOK, categories={**NEW_BOOK.categories, "lycee": filled})
