"""POST /v1/attributions and the distributor's enrolment, through a real `mediateur-hub serve`
process on SQLite and on PostgreSQL."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from contract import validate

from mediateur_tui.domain.signatures import new_private_key, public_key_bytes
from mediateur_tui.hub.database import HubSettings
from mediateur_tui.hub.enrolment import enrol_site
from mediateur_tui.hub.registry import ProgrammeSpec, issue
from mediateur_tui.protocol.documents import dump_gzip_json, dump_json, load_json
from mediateur_tui.protocol.formats import ENROLMENT_REQUEST
from mediateur_tui.protocol.signing import decode_key, encode_key, region_signer, verify_document

from .helpers import (
    PROGRAMME,
    SITE_A,
    Site,
    World,
    attribution,
    build_world,
    enrol,
    make_attributions,
    reference,
    table_counts,
)
from .server import HubProcess

DISTRIBUTOR_1 = "LE-CATEAU-PIMMS"
DISTRIBUTOR_2 = "MAUBEUGE-CCAS"


@dataclass
class Server:
    url: str
    world: World
    d1: Site
    d2: Site
    tens: list[str]
    fives: list[str]
    tokens: dict[str, str]  # spare enrolment tokens: a distributor's and a plain site's

    def client(self, site: Site | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {site.api_key}"} if site is not None else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def post(self, site: Site, document: dict, **options) -> httpx.Response:
        with self.client(site) as client:
            return client.post("/v1/attributions", content=dump_json(document), **options)

    def replica(self, site: Site) -> list[dict]:
        with self.client(site) as client:
            page = client.get("/v1/replica/changes", params={"limit": 100_000}).json()
        validate(page, "replica-page")
        return page["changes"]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("hub-attributions") / "hub"
    if request.param == "sqlite":
        settings = HubSettings(folder, f"sqlite:///{folder / 'hub.sqlite3'}")
    else:
        settings = HubSettings(folder, request.getfixturevalue("postgres_cluster").new_database())
    world = build_world(settings)
    hub = world.hub
    d1 = enrol(hub, DISTRIBUTOR_1, "PIMMS du Cateau-Cambrésis", distributor=True)
    d2 = enrol(hub, DISTRIBUTOR_2, "CCAS de Maubeuge", distributor=True)
    tens = [c.id for c in issue(hub, ProgrammeSpec(id=PROGRAMME), carnets=10, size=10).carnets]
    fives = [c.id for c in issue(hub, ProgrammeSpec(id=PROGRAMME), carnets=10, size=5).carnets]
    tokens = {
        "distributor": enrol_site(hub, "LILLE-CCAS", "CCAS de Lille", distributor=True),
        "plain": enrol_site(hub, "LILLE-EPN", "EPN de Lille"),
    }
    database = None if request.param == "sqlite" else settings.database_url
    try:
        with HubProcess.start(folder, database_url=database) as process:
            yield Server(process.url, world, d1, d2, tens, fives, tokens)
    finally:
        hub.engine.dispose()


def answer_of(server: Server, response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    answer = response.json()
    validate(answer, "attribution-answer")
    hub = server.world.hub
    verify_document(answer, hub.region_public_key, region_signer(hub.region_id))
    return answer


def outcomes(answer: dict) -> list[tuple[str, str | None, int]]:
    return [(r["verdict"], r["reason"], r["beneficiary_passes"]) for r in answer["results"]]


def test_an_accepted_attribution_reaches_every_sites_replica(server: Server) -> None:
    ref, ten = reference(101), server.tens[0]
    document = make_attributions(server.d1, [attribution([ten], ref, 10)])
    validate(document, "attributions")
    gzip_headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    with server.client(server.d1) as client:
        response = client.post(
            "/v1/attributions",
            content=dump_gzip_json(document),
            headers={**gzip_headers, "Accept-Encoding": "gzip"},
        )
    assert response.headers["content-encoding"] == "gzip"
    assert outcomes(answer_of(server, response)) == [("accepted", None, 10)]
    plain = server.world.sites[SITE_A]  # any site, distributor or not, learns it
    last = [c for c in server.replica(plain) if c["t"] == "attribution" and c["id"] == ten]
    assert last == [{"t": "attribution", "id": ten, "a": "2026-11-10", "b": ref}]


def test_two_distributors_and_the_cap_of_ten_passes(server: Server) -> None:
    ref = reference(102)
    first = server.post(server.d1, make_attributions(server.d1, [attribution(
        [server.fives[0]], ref, 5)]))  # fmt: skip
    assert outcomes(answer_of(server, first)) == [("accepted", None, 5)]
    second = server.post(server.d2, make_attributions(server.d2, [attribution(
        [server.tens[1]], ref, 10)]))  # fmt: skip
    answer = answer_of(server, second)
    assert outcomes(answer) == [("refused", "beneficiary_cap", 5)]
    assert "déjà reçu 5 pass dans toute la région" in answer["results"][0]["message"]
    assert "plafond de 10 pass par personne" in answer["results"][0]["message"]


def test_carnets_taken_unknown_and_inconsistent(server: Server) -> None:
    ten = server.tens[2]
    items = [
        attribution([ten], reference(103), 10),
        attribution([ten], reference(104), 10),
        attribution(["C9999999"], reference(105), 10),
        attribution([server.tens[3]], reference(106), 5),
    ]
    answer = answer_of(server, server.post(server.d1, make_attributions(server.d1, items)))
    assert outcomes(answer) == [
        ("accepted", None, 10),
        ("refused", "carnet_taken", 0),
        ("refused", "carnet_unknown", 0),
        ("refused", "invalid", 0),
    ]


def test_lycee_requests_wait_for_the_criteria(server: Server) -> None:
    item = attribution(
        [server.tens[4]], reference(107), 10, category="lycee", received_on="2022-05-02",
        establishment="Lycée Camille Desmoulins",
    )  # fmt: skip
    answer = answer_of(server, server.post(server.d1, make_attributions(server.d1, [item])))
    assert outcomes(answer) == [("refused", "no_rulebook", 0)]
    assert "délibération ultérieure" in answer["results"][0]["message"]


def test_posting_again_returns_the_same_answer_and_changes_nothing(server: Server) -> None:
    document = make_attributions(server.d2, [attribution([server.tens[5]], reference(108), 10)])
    first = answer_of(server, server.post(server.d2, document))
    counts = table_counts(server.world.hub)
    again = answer_of(server, server.post(server.d2, document))
    assert again["results"] == first["results"]
    assert outcomes(again) == [("accepted", None, 10)]
    assert table_counts(server.world.hub) == counts


def test_documents_refused_as_a_whole(server: Server) -> None:
    plain = server.world.sites[SITE_A]
    item = attribution([server.tens[6]], reference(109), 10)
    counts = table_counts(server.world.hub)

    not_distributor = server.post(plain, make_attributions(plain, [item]))
    assert not_distributor.status_code == 403
    assert not_distributor.json()["detail"] == (
        "La région n'a pas fait du site AVESNES-EPN un site distributeur : il ne peut pas "
        "attribuer de carnets."
    )
    other_site = server.post(server.d1, make_attributions(server.d2, [item]))
    assert other_site.status_code == 403
    assert f"celles du site {DISTRIBUTOR_2}" in other_site.json()["detail"]

    tampered = copy.deepcopy(make_attributions(server.d1, [item]))
    tampered["attributions"][0]["beneficiary_ref"] = reference(110)
    bad_signature = server.post(server.d1, tampered)
    assert bad_signature.status_code == 400
    assert bad_signature.json()["detail"].startswith("Signature invalide")

    foreign = server.post(server.d1, make_attributions(server.d1, [item], region_id="BRETAGNE"))
    assert foreign.status_code == 400 and "BRETAGNE" in foreign.json()["detail"]
    with server.client(server.d1) as client:
        batch = client.post("/v1/attributions", json={"format": "pn-batch/1"})
        anonymous = httpx.post(f"{server.url}/v1/attributions", content=b"{}", timeout=30)
    assert batch.status_code == 400 and "type attendu" in batch.json()["detail"]
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert table_counts(server.world.hub) == counts


@pytest.mark.parametrize("kind", ["distributor", "plain"])
def test_the_enrolment_answer_carries_the_key_only_for_a_distributor(
    server: Server, kind: str
) -> None:
    request = {
        "format": ENROLMENT_REQUEST,
        "token": server.tokens[kind],
        "site_public_key": encode_key(public_key_bytes(new_private_key())),
    }
    with server.client() as client:
        response = client.post("/v1/enrolment", json=request)
    assert response.status_code == 201
    answer = load_json(response.content, "pn-enrolment/1")
    validate(answer, "enrolment")
    if kind == "distributor":
        assert decode_key(answer["beneficiary_key"]) == server.world.hub.beneficiary_key
    else:
        assert "beneficiary_key" not in answer
