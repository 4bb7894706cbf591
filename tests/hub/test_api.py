"""The HTTP API, through a real `mediateur-hub serve` process on 127.0.0.1 and httpx."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from contract import validate

from mediateur_tui.domain.signatures import new_private_key, public_key_bytes
from mediateur_tui.hub.api import create_app
from mediateur_tui.hub.database import HubSettings
from mediateur_tui.hub.enrolment import enrol_site
from mediateur_tui.protocol.documents import dump_gzip_json, dump_json
from mediateur_tui.protocol.formats import ENROLMENT_REQUEST
from mediateur_tui.protocol.signing import encode_key, region_signer, verify_document

from .helpers import SITE_A, SITE_B, World, build_world, line, make_batch
from .server import HubProcess

AT = "2026-11-12T09:30:00Z"


@dataclass
class Server:
    url: str
    world: World
    spare_token: str
    process: HubProcess

    def client(self, site_id: str | None = None) -> httpx.Client:
        headers = {}
        if site_id is not None:
            headers["Authorization"] = f"Bearer {self.world.sites[site_id].api_key}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("hub-api") / "hub"
    settings = HubSettings(folder, f"sqlite:///{folder / 'hub.sqlite3'}")
    world = build_world(settings)
    spare_token = enrol_site(world.hub, "LILLE-TIERS-LIEU", "Tiers-lieu de Lille")
    try:
        with HubProcess.start(folder) as process:
            yield Server(process.url, world, spare_token, process)
    finally:
        world.hub.engine.dispose()


def test_health_answers_without_a_key(server: Server) -> None:
    with server.client() as client:
        response = client.get("/v1/health")
    assert response.json() == {"status": "ok", "region_id": "HDF", "protocol_version": 1}


def test_enrolment_token_works_once(server: Server) -> None:
    key = new_private_key()
    request = {
        "format": ENROLMENT_REQUEST,
        "token": server.spare_token,
        "site_public_key": encode_key(public_key_bytes(key)),
    }
    with server.client() as client:
        first = client.post("/v1/enrolment", json=request)
        second = client.post("/v1/enrolment", json=request)
        unknown = client.post("/v1/enrolment", json={**request, "token": "ZZZZ-ZZZZ"})
        malformed = client.post("/v1/enrolment", json={**request, "site_public_key": "abc"})
        wrong_format = client.post("/v1/enrolment", json={"format": "pn-batch/1"})
    assert first.status_code == 201
    answer = first.json()
    validate(answer, "enrolment")
    verify_document(answer, public_key_bytes(server.world.hub.region_key), region_signer("HDF"))
    assert answer["site_id"] == "LILLE-TIERS-LIEU"
    assert (second.status_code, second.json()["detail"]) == (
        409,
        "Ce jeton d'inscription a déjà servi : demandez-en un nouveau à la région.",
    )
    assert unknown.status_code == 401 and "inconnu" in unknown.json()["detail"]
    assert malformed.status_code == 400 and "Clé publique" in malformed.json()["detail"]
    assert wrong_format.status_code == 400 and "type attendu" in wrong_format.json()["detail"]
    headers = {"Authorization": f"Bearer {answer['api_key']}"}
    with server.client() as client:
        page = client.get("/v1/replica/changes", params={"limit": 1}, headers=headers)
    assert page.status_code == 200


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Clé d'accès manquante"),
        ({"Authorization": "Bearer pas-une-vraie-cle"}, "Clé d'accès inconnue"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "Clé d'accès manquante"),
    ],
)
def test_calls_without_a_valid_key_get_401(server: Server, headers, message) -> None:
    with server.client() as client:
        for response in (
            client.get("/v1/replica/changes", headers=headers),
            client.post("/v1/batches", content=b"{}", headers=headers),
            client.get(f"/v1/batches/{'ab' * 16}/ack", headers=headers),
            client.get("/v1/beneficiary-key", headers=headers),
            client.post("/v1/declarations", content=b"{}", headers=headers),
            client.get("/v1/recovery", headers=headers),
        ):
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == "Bearer"
            assert response.json()["detail"].startswith(message)


def test_replica_pages_come_gzip_and_signed(server: Server) -> None:
    with server.client(SITE_A) as client:
        first = client.get("/v1/replica/changes", params={"since": 0, "limit": 3})
        rest = client.get("/v1/replica/changes", params={"since": first.json()["until"]})
        bad = client.get("/v1/replica/changes", params={"since": -1})
        not_a_number = client.get("/v1/replica/changes", params={"limit": "beaucoup"})
    assert first.headers["content-encoding"] == "gzip"
    assert int(first.headers["content-length"]) < len(first.content)  # it was compressed
    page = first.json()
    validate(page, "replica-page")
    verify_document(page, public_key_bytes(server.world.hub.region_key), region_signer("HDF"))
    assert (page["since"], len(page["changes"]), page["more"]) == (0, 3, True)
    assert page["changes"][0]["t"] == "programme"
    assert rest.json()["since"] == page["until"]
    assert (bad.status_code, bad.json()) == (400, {"detail": "Paramètre invalide : since."})
    assert (not_a_number.status_code, not_a_number.json()["detail"]) == (
        400,
        "Paramètre invalide : limit.",
    )


def test_batch_post_gzip_replay_and_ack_fetch(server: Server) -> None:
    world = server.world
    batch = make_batch(world.sites[SITE_A], [line(world.fresh[0], AT), line(world.revoked, AT)])
    gzip_headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    with server.client(SITE_A) as client:
        posted = client.post("/v1/batches", content=dump_gzip_json(batch), headers=gzip_headers)
        again = client.post("/v1/batches", content=dump_json(batch))
        fetched = client.get(f"/v1/batches/{batch['batch_id']}/ack")
        missing = client.get("/v1/batches/0123456789abcdef/ack")
    assert posted.status_code == 200
    ack = posted.json()
    validate(ack, "ack")
    verify_document(ack, public_key_bytes(world.hub.region_key), region_signer("HDF"))
    assert [(x["verdict"], x["reason"]) for x in ack["lines"]] == [
        ("accepted", None),
        ("refused", "revoked"),
    ]
    assert again.json() == ack and fetched.json() == ack
    assert missing.status_code == 404 and "Aucune remise" in missing.json()["detail"]
    with server.client(SITE_B) as client:
        foreign = client.get(f"/v1/batches/{batch['batch_id']}/ack")
        changes = client.get("/v1/replica/changes", params={"since": 0, "limit": 100_000})
    assert foreign.status_code == 403
    used = [c for c in changes.json()["changes"] if c["t"] == "used"]
    assert {"t": "used", "code": world.fresh[0], "site": SITE_A, "on": "2026-11-12"} in used


def test_refused_batches_get_the_right_status(server: Server) -> None:
    world = server.world
    site_a = world.sites[SITE_A]
    someone_elses = make_batch(site_a, [line(world.fresh[1], AT)])
    tampered = make_batch(site_a, [line(world.fresh[2], AT)])
    tampered["redemptions"][0]["operator"] = "Quelqu'un d'autre"
    original = make_batch(site_a, [line(world.fresh[3], AT)])
    rewritten = make_batch(site_a, [line(world.fresh[4], AT)], batch_id=original["batch_id"])
    with server.client(SITE_B) as client:
        forbidden = client.post("/v1/batches", content=dump_json(someone_elses))
    with server.client(SITE_A) as client:
        bad_signature = client.post("/v1/batches", content=dump_json(tampered))
        garbage = client.post("/v1/batches", content=b"\x1f\x8b pas du gzip")
        assert client.post("/v1/batches", content=dump_json(original)).status_code == 200
        conflict = client.post("/v1/batches", content=dump_json(rewritten))
        never_stored = client.get(f"/v1/batches/{tampered['batch_id']}/ack")
    assert forbidden.status_code == 403 and SITE_A in forbidden.json()["detail"]
    assert bad_signature.status_code == 400
    assert bad_signature.json()["detail"].startswith("Signature invalide")
    assert never_stored.status_code == 404
    assert garbage.status_code == 400 and "gzip" in garbage.json()["detail"]
    assert conflict.status_code == 409 and "contenu différent" in conflict.json()["detail"]


def test_unknown_address_is_a_french_404(server: Server) -> None:
    with server.client() as client:
        response = client.get("/v2/rien")
    assert (response.status_code, response.json()) == (404, {"detail": "Adresse inconnue du hub."})


def test_openapi_describes_every_operation_without_422(tmp_path) -> None:
    settings = HubSettings(tmp_path / "absent", "sqlite:///" + str(tmp_path / "absent.db"))
    document = create_app(settings).openapi()
    assert not (tmp_path / "absent").exists()  # describing the API opens no database
    operations = {
        (path, method): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    assert set(operations) == {
        ("/v1/health", "get"),
        ("/v1/enrolment", "post"),
        ("/v1/replica/changes", "get"),
        ("/v1/batches", "post"),
        ("/v1/batches/{batch_id}/ack", "get"),
        ("/v1/declarations", "post"),
        ("/v1/recovery", "get"),
        ("/v1/attributions", "post"),
        ("/v1/beneficiary-key", "get"),
    }
    for operation in operations.values():
        assert "422" not in operation["responses"]
        assert all(response.get("description") for response in operation["responses"].values())
    batches = operations[("/v1/batches", "post")]
    assert set(batches["responses"]) == {"200", "400", "401", "403", "409", "413", "503"}
    body = batches["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schemas = document["components"]["schemas"]
    assert body == "#/components/schemas/Batch"
    assert {"Batch", "BatchRedemption", "Ack", "AckLine", "ReplicaPage", "Enrolment"} <= set(
        schemas
    )
    assert "HTTPValidationError" not in schemas
    assert set(schemas["AckLine"]["properties"]) == {
        "redemption_id",
        "code",
        "verdict",
        "reason",
        "winner",
    }


def in_process(settings: HubSettings) -> httpx.AsyncClient:
    """A client calling the app in-process (for what a real server cannot easily show)."""
    transport = httpx.ASGITransport(app=create_app(settings))
    return httpx.AsyncClient(transport=transport, base_url="http://hub")


async def test_an_uninitialised_hub_answers_503(tmp_path) -> None:
    settings = HubSettings(tmp_path / "vide", "sqlite:///" + str(tmp_path / "vide.db"))
    async with in_process(settings) as client:
        response = await client.get("/v1/health")
    assert response.status_code == 503
    assert "mediateur-hub init" in response.json()["detail"]
