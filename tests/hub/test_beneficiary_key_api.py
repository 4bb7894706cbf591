"""GET /v1/beneficiary-key: a distributor site receives the region's beneficiary key with its
API key (a site made a distributor after its enrolment asks for it at its sync), through a real
`mediateur-hub serve` process on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest
from contract import validate

from mediateur_tui.hub.database import HubSettings
from mediateur_tui.hub.enrolment import enrol_site
from mediateur_tui.protocol.documents import load_json
from mediateur_tui.protocol.formats import BENEFICIARY_KEY
from mediateur_tui.protocol.signing import decode_key, encode_key, region_signer, verify_document

from .helpers import SITE_A, SITE_B, Site, World, build_world, enrol
from .server import HubProcess

DISTRIBUTOR = "LE-CATEAU-PIMMS"
NOT_A_DISTRIBUTOR = (
    "La région n'a pas fait de ce site une structure distributrice : il ne reçoit pas la clé "
    "des bénéficiaires."
)


@dataclass
class Server:
    url: str
    world: World
    distributor: Site
    process: HubProcess

    def get_key(self, site: Site | None = None, api_key: str | None = None) -> httpx.Response:
        secret = site.api_key if site is not None else api_key
        headers = {"Authorization": f"Bearer {secret}"} if secret is not None else {}
        return httpx.get(f"{self.url}/v1/beneficiary-key", headers=headers, timeout=30)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("hub-beneficiary-key") / "hub"
    if request.param == "sqlite":
        settings = HubSettings(folder, f"sqlite:///{folder / 'hub.sqlite3'}")
    else:
        settings = HubSettings(folder, request.getfixturevalue("postgres_cluster").new_database())
    world = build_world(settings)  # SITE_A and SITE_B: enrolled plain sites
    distributor = enrol(world.hub, DISTRIBUTOR, "PIMMS du Cateau-Cambrésis", distributor=True)
    database = None if request.param == "sqlite" else settings.database_url
    try:
        with HubProcess.start(folder, database_url=database) as process:
            yield Server(process.url, world, distributor, process)
    finally:
        world.hub.engine.dispose()


def key_document(server: Server, site: Site) -> dict:
    """The hub's answer to `site`, checked as the site checks it."""
    response = server.get_key(site)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    document = load_json(response.content, BENEFICIARY_KEY)
    validate(document, "beneficiary-key")
    hub = server.world.hub
    verify_document(document, hub.region_public_key, region_signer(hub.region_id))
    assert (document["region_id"], document["site_id"]) == (hub.region_id, site.id)
    return document


def test_a_distributor_receives_the_regions_key(server: Server) -> None:
    before = datetime.now().astimezone()
    document = key_document(server, server.distributor)
    assert decode_key(document["beneficiary_key"]) == server.world.hub.beneficiary_key
    # The same key as the one its enrolment answer carried.
    assert document["beneficiary_key"] == server.distributor.answer["beneficiary_key"]
    assert datetime.fromisoformat(document["issued_at"]) >= before.replace(microsecond=0)


def test_a_site_that_is_not_a_distributor_gets_403(server: Server) -> None:
    response = server.get_key(server.world.sites[SITE_A])
    assert response.status_code == 403
    assert response.json() == {"detail": NOT_A_DISTRIBUTOR}
    assert "beneficiary_key" not in response.text


@pytest.mark.parametrize(
    ("api_key", "message"),
    [(None, "Clé d'accès manquante"), ("pas-une-vraie-cle", "Clé d'accès inconnue")],
    ids=["no-key", "unknown-key"],
)
def test_without_a_valid_api_key_401(server: Server, api_key: str | None, message: str) -> None:
    response = server.get_key(api_key=api_key)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"].startswith(message)


def test_a_site_made_a_distributor_after_its_enrolment_gets_it_with_its_api_key(
    server: Server,
) -> None:
    hub, site = server.world.hub, server.world.sites[SITE_B]
    assert server.get_key(site).status_code == 403
    enrol_site(hub, SITE_B, "Médiathèque de Fourmies", distributor=True)  # token left unused
    document = key_document(server, site)
    assert decode_key(document["beneficiary_key"]) == hub.beneficiary_key
    enrol_site(hub, SITE_B, "Médiathèque de Fourmies", distributor=False)
    assert server.get_key(site).status_code == 403


def test_the_key_never_reaches_the_hubs_log(server: Server) -> None:
    assert key_document(server, server.distributor)
    secret = encode_key(server.world.hub.beneficiary_key)
    assert server.process.log  # the server does log (startup, requests)
    assert secret not in "".join(server.process.log)
