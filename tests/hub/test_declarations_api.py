"""POST /v1/declarations and GET /v1/recovery, through a real `mediateur-hub serve` process on
127.0.0.1 and httpx."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from contract import validate

from mediateur_tui.domain.signatures import public_key_bytes
from mediateur_tui.hub.database import HubSettings
from mediateur_tui.protocol.documents import dump_gzip_json, dump_json
from mediateur_tui.protocol.signing import region_signer, verify_document

from .helpers import (
    SITE_A,
    SITE_B,
    World,
    build_world,
    cancellation,
    enrol,
    line,
    make_batch,
    make_declaration,
)
from .server import HubProcess

AT = "2026-11-12T09:30:00Z"


@dataclass
class Server:
    url: str
    world: World

    def client(self, site_id: str | None = None, api_key: str | None = None) -> httpx.Client:
        headers = {}
        if site_id is not None:
            headers["Authorization"] = f"Bearer {api_key or self.world.sites[site_id].api_key}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def signed_by_region(self, document: dict) -> None:
        verify_document(document, public_key_bytes(self.world.hub.region_key), region_signer("HDF"))


@pytest.fixture
def server(tmp_path) -> Iterator[Server]:
    folder = tmp_path / "hub"
    world = build_world(HubSettings(folder, f"sqlite:///{folder / 'hub.sqlite3'}"))
    try:
        with HubProcess.start(folder) as process:
            yield Server(process.url, world)
    finally:
        world.hub.engine.dispose()


def test_a_declaration_is_answered_and_the_pass_is_used_for_the_other_sites(
    server: Server,
) -> None:
    world = server.world
    taken = line(world.fresh[0], AT)
    document = make_declaration(world.sites[SITE_A], [taken, line(world.revoked, AT)])
    gzip_headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    with server.client(SITE_A) as client:
        posted = client.post(
            "/v1/declarations", content=dump_gzip_json(document), headers=gzip_headers
        )
        again = client.post(
            "/v1/declarations", content=dump_json(document), headers={"Accept-Encoding": "gzip"}
        )
    assert posted.status_code == 200
    answer = posted.json()
    validate(answer, "declaration-answer")
    server.signed_by_region(answer)
    assert [(x["verdict"], x["reason"]) for x in answer["lines"]] == [
        ("accepted", None),
        ("refused", "revoked"),
    ]
    assert again.headers["content-encoding"] == "gzip"
    assert again.json()["lines"] == answer["lines"]
    with server.client(SITE_B) as client:
        page = client.get("/v1/replica/changes", params={"since": 0, "limit": 100_000}).json()
        conflict = client.post(
            "/v1/declarations",
            content=dump_json(make_declaration(world.sites[SITE_B], [line(world.fresh[0], AT)])),
        ).json()
    used = [c for c in page["changes"] if c["t"] == "used"]
    assert used == [{"t": "used", "code": world.fresh[0], "site": SITE_A, "on": "2026-11-12"}]
    assert conflict["lines"][0]["winner"] == {"site_id": SITE_A, "redeemed_at": AT}


def test_refused_declarations_get_the_right_status(server: Server) -> None:
    world = server.world
    mine = make_declaration(world.sites[SITE_A], [line(world.fresh[0], AT)])
    tampered = dict(mine, declared_at="2026-11-12T18:00:00Z")
    with server.client(SITE_B) as client:
        foreign = client.post("/v1/declarations", content=dump_json(mine))
    with server.client(SITE_A) as client:
        bad_signature = client.post("/v1/declarations", content=dump_json(tampered))
        not_json = client.post("/v1/declarations", content=b"{")
        wrong_format = client.post("/v1/declarations", json={"format": "pn-batch/1"})
        page = client.get("/v1/replica/changes", params={"since": 0, "limit": 100_000}).json()
    assert foreign.status_code == 403
    assert "ne peut déclarer que ses propres encaissements" in foreign.json()["detail"]
    assert bad_signature.status_code == 400
    assert bad_signature.json()["detail"].startswith("Signature invalide")
    assert not_json.status_code == 400 and wrong_format.status_code == 400
    assert "(pn-declaration/1)" in wrong_format.json()["detail"]
    assert [c for c in page["changes"] if c["t"] == "used"] == []


def test_the_recovery_of_a_re_enrolled_site(server: Server) -> None:
    world = server.world
    site = world.sites[SITE_A]
    batched, outstanding = line(world.fresh[0], AT), line(world.fresh[1], AT)
    cancelled = line(world.fresh[2], AT)
    batch = make_batch(site, [batched])
    with server.client(SITE_A) as client:
        ack = client.post("/v1/batches", content=dump_json(batch)).json()
        client.post(
            "/v1/declarations",
            content=dump_json(
                make_declaration(site, [outstanding, cancelled], [cancellation(cancelled["id"])])
            ),
        )
    # A new computer: the site enrolled again, with a new token and a new key.
    new = enrol(world.hub, SITE_A, "EPN d'Avesnes-sur-Helpe")
    with server.client(SITE_A, new.api_key) as client:
        recovered = client.get("/v1/recovery", headers={"Accept-Encoding": "gzip"})
        old_signed = client.post(
            "/v1/declarations",
            content=dump_json(make_declaration(site, [line(world.fresh[3], AT)])),
        )
    assert recovered.status_code == 200 and recovered.headers["content-encoding"] == "gzip"
    document = recovered.json()
    validate(document, "site-recovery")
    server.signed_by_region(document)
    assert document["site_id"] == SITE_A
    assert document["batches"] == [{"batch": batch, "ack": ack}]
    declared = document["declared"]
    assert declared["redemptions"] == sorted([outstanding, cancelled], key=lambda x: x["id"])
    assert [a["verdict"] for a in declared["answers"]] == ["accepted", "accepted"]
    assert [c["redemption_id"] for c in declared["cancellations"]] == [cancelled["id"]]
    assert old_signed.status_code == 400
    assert old_signed.json()["detail"].startswith("Signature invalide")
    with server.client(SITE_A, site.api_key) as client:
        old_key = [
            client.get("/v1/replica/changes"),
            client.post("/v1/batches", content=dump_json(make_batch(site, []))),
            client.get(f"/v1/batches/{batch['batch_id']}/ack"),
            client.post("/v1/declarations", content=dump_json(make_declaration(site, [batched]))),
            client.get("/v1/recovery"),
            client.post("/v1/attributions", content=b"{}"),
            client.get("/v1/beneficiary-key"),
        ]
    assert [response.status_code for response in old_key] == [401] * len(old_key)
    assert all("Clé d'accès inconnue" in r.json()["detail"] for r in old_key)
