"""What the API refuses before it does any work, through a real `mediateur-hub serve` on
127.0.0.1, on SQLite and on PostgreSQL: documents nested too deep, bodies over their cap,
gzip bombs, cursors out of range, path ids that cannot exist, methods an address does not
take. Every refusal is a 4xx with a French `detail`, never a 500."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import httpx
import pytest
from contract import validate
from sqlalchemy import text

from mediateur_tui.hub.api import create_app
from mediateur_tui.hub.database import HubSettings
from mediateur_tui.hub.registry import revoke
from mediateur_tui.hub.replica import MAX_CURSOR
from mediateur_tui.protocol.documents import load_json
from mediateur_tui.protocol.formats import BATCH, ENROLMENT_REQUEST, MAX_DOCUMENT_BYTES, MIB

from .conftest import BACKENDS
from .helpers import SITE_A, World, build_world, gzip_bomb
from .server import HubProcess

NESTED = b"[" * 1000 + b"]" * 1000  # 2 KB, 1,000 deep
POSTS = ["/v1/enrolment", "/v1/batches", "/v1/attributions"]
MB = 1024 * 1024


@dataclass
class Server:
    url: str
    world: World
    process: HubProcess

    def client(self, authenticated: bool = True) -> httpx.Client:
        key = self.world.sites[SITE_A].api_key
        headers = {"Authorization": f"Bearer {key}"} if authenticated else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("hub-limits") / "hub"
    if request.param == "sqlite":
        settings = HubSettings(folder, f"sqlite:///{folder / 'hub.sqlite3'}")
    else:
        settings = HubSettings(folder, request.getfixturevalue("postgres_cluster").new_database())
    world = build_world(settings)
    database = None if request.param == "sqlite" else settings.database_url
    try:
        with HubProcess.start(folder, database_url=database) as process:
            yield Server(process.url, world, process)
    finally:
        world.hub.engine.dispose()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    made = gzip_bomb(600 * MIB)
    assert 550_000 < len(made) < 700_000  # about 600 KB on the wire
    return made


def memory_kib(pid: int, field: str) -> int:
    """A field of /proc/PID/status in KiB: VmRSS (now) or VmHWM (the peak)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def peak_growth(server: Server, send) -> tuple[httpx.Response, int]:
    """The answer to `send()` and how much the hub's peak memory (bytes) rose above its
    memory before it, the peak being reset first (/proc/PID/clear_refs)."""
    pid = server.process.process.pid
    before = memory_kib(pid, "VmRSS")
    with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as clear:
        clear.write("5")  # resets VmHWM to the current RSS
    response = send()
    return response, (memory_kib(pid, "VmHWM") - before) * 1024


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("compress", [False, True], ids=["json", "gzip"])
def test_a_body_nested_1000_deep_gets_a_400(server: Server, path: str, compress: bool) -> None:
    body = zlib.compress(NESTED, wbits=31) if compress else NESTED
    with server.client(authenticated=path != "/v1/enrolment") as client:
        response = client.post(path, content=body)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Document refusé : ses listes et objets sont")


def test_a_gzip_bomb_at_the_enrolment_costs_the_hub_no_memory(server: Server, bomb) -> None:
    with server.client(authenticated=False) as client:
        response, growth = peak_growth(server, lambda: client.post("/v1/enrolment", content=bomb))
    assert (response.status_code, response.json()) == (
        413,
        {"detail": "Document trop volumineux (4 Ko au plus)."},
    )
    assert growth < 50 * MB


def test_a_gzip_bomb_within_the_enrolment_cap_is_not_decompressed_past_it(server: Server):
    small_bomb = gzip_bomb(3 * MIB)
    assert len(small_bomb) < MAX_DOCUMENT_BYTES[ENROLMENT_REQUEST]
    with server.client(authenticated=False) as client:
        response, growth = peak_growth(
            server, lambda: client.post("/v1/enrolment", content=small_bomb)
        )
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "Document trop volumineux : un document pn-enrolment-request/1 fait au plus 4 Ko."
    )
    assert growth < 50 * MB


def test_a_gzip_bomb_in_a_batch_is_decompressed_no_further_than_its_cap(
    server: Server, bomb
) -> None:
    with server.client() as client:
        response, growth = peak_growth(server, lambda: client.post("/v1/batches", content=bomb))
    assert response.status_code == 400
    assert response.json()["detail"].endswith("pn-batch/1 fait au plus 64 Mo.")
    # The cap, twice while zlib joins its buffers, and a margin; not the bomb's 600 MiB.
    assert growth < 2 * MAX_DOCUMENT_BYTES[BATCH] + 50 * MB


def test_a_body_over_its_cap_gets_a_413_declared_or_not(server: Server) -> None:
    body = b" " * (MAX_DOCUMENT_BYTES[ENROLMENT_REQUEST] + 1)
    with server.client(authenticated=False) as client:
        declared = client.post("/v1/enrolment", content=body)
        streamed = client.post("/v1/enrolment", content=iter([body[:3000], body[3000:]]))
    assert "content-length" not in streamed.request.headers  # sent chunked
    for response in (declared, streamed):
        assert (response.status_code, response.json()) == (
            413,
            {"detail": "Document trop volumineux (4 Ko au plus)."},
        )


@pytest.mark.parametrize("since", [2**31 - 1, 2**31, 2**32, MAX_CURSOR])
def test_any_cursor_up_to_2_63_is_answered(server: Server, since: int) -> None:
    with server.client() as client:
        response = client.get("/v1/replica/changes", params={"since": since})
    assert response.status_code == 200
    page = response.json()
    validate(page, "replica-page")
    assert page["since"] == since and page["until"] >= since


@pytest.mark.parametrize("since", ["-1", str(MAX_CURSOR + 1), str(2**64), "1e3"])
def test_a_cursor_out_of_range_gets_a_400(server: Server, since: str) -> None:
    with server.client() as client:
        response = client.get("/v1/replica/changes", params={"since": since})
    assert (response.status_code, response.json()) == (
        400,
        {"detail": "Paramètre invalide : since."},
    )


def _move_change_sequence(server: Server, last: int) -> None:
    """Makes `last` the sequence number of the latest change: the next one is `last + 1`."""
    engine = server.world.hub.engine
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT setval('hub_change_seq_seq', :last)"), {"last": last})
        else:
            connection.execute(
                text("UPDATE sqlite_sequence SET seq = :last WHERE name = 'hub_change'"),
                {"last": last},
            )


def test_sequence_numbers_go_past_2_31(server: Server) -> None:
    _move_change_sequence(server, 2**31 - 1)
    code = server.world.carnets[2][5]
    revoke(server.world.hub, code, "lost", date(2026, 11, 20))
    with server.client() as client:
        page = client.get("/v1/replica/changes", params={"since": 2**31 - 1}).json()
        after = client.get("/v1/replica/changes", params={"since": 2**31}).json()
    assert page["changes"] == [
        {"t": "revocation", "code": code, "reason": "lost", "on": "2026-11-20"}
    ]
    assert page["until"] == 2**31
    assert (after["changes"], after["until"], after["more"]) == ([], 2**31, False)


@pytest.mark.parametrize(
    "batch_id",
    ["%00", "abc", "0" * 31, "0" * 33, "A" * 32, "g" * 32, "%C3%A9" * 16, "x" * 5000],
)
@pytest.mark.parametrize("authenticated", [True, False], ids=["with-key", "without-key"])
def test_an_id_that_cannot_be_a_batch_id_gets_a_404(
    server: Server, batch_id: str, authenticated: bool
) -> None:
    with server.client(authenticated) as client:
        response = client.get(f"/v1/batches/{batch_id}/ack")
    assert (response.status_code, response.json()) == (
        404,
        {
            "detail": "Aucune remise ne peut avoir cet identifiant : 32 caractères hexadécimaux "
            "attendus."
        },
    )


def test_a_batch_id_that_could_exist_is_looked_up(server: Server) -> None:
    with server.client() as client:
        unknown = client.get(f"/v1/batches/{'0' * 32}/ack")
        anonymous = client.get(f"/v1/batches/{'0' * 32}/ack", headers={"Authorization": ""})
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == f"Aucune remise {'0' * 32} reçue par le hub."
    assert anonymous.status_code == 401


def test_every_405_says_which_methods_the_address_takes(server: Server) -> None:
    settings = server.world.hub.settings
    paths = create_app(settings).openapi()["paths"]
    with server.client() as client:
        for path, operations in paths.items():
            url = path.replace("{batch_id}", "0" * 32)
            allowed = {method.upper() for method in operations}
            refused = next(m for m in ("DELETE", "PUT", "PATCH") if m not in allowed)
            response = client.request(refused, url)
            assert response.status_code == 405, path
            assert set(response.headers["allow"].split(", ")) == allowed, path
            assert response.json() == {"detail": "Méthode non autorisée ici."}


async def test_an_impossible_batch_id_reaches_neither_the_hub_nor_its_database(tmp_path):
    """A hub that is not even initialised: anything that opened it would answer 503."""
    settings = HubSettings(tmp_path / "vide", "sqlite:///" + str(tmp_path / "vide.db"))
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        impossible = await client.get("/v1/batches/%00/ack")
        assert impossible.status_code == 404
        assert not (tmp_path / "vide.db").exists()
        possible = await client.get(f"/v1/batches/{'0' * 32}/ack")
    assert possible.status_code == 503


async def test_a_posted_document_is_parsed_off_the_event_loop(sqlite_world: World, monkeypatch):
    """Decompressing and parsing a body runs in a thread: a large batch would otherwise hold
    every other request of its worker."""
    from mediateur_tui.hub.api import bodies

    in_event_loop = []

    def recording_load_json(data: bytes, document_format: str):
        try:
            asyncio.get_running_loop()
            in_event_loop.append(True)
        except RuntimeError:
            in_event_loop.append(False)
        return load_json(data, document_format)

    monkeypatch.setattr(bodies, "load_json", recording_load_json)
    key = sqlite_world.sites[SITE_A].api_key
    transport = httpx.ASGITransport(app=create_app(sqlite_world.hub.settings))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://hub", headers={"Authorization": f"Bearer {key}"}
    ) as client:
        for path in [*POSTS, "/v1/declarations"]:
            response = await client.post(path, content=b"{")
            assert response.status_code == 400, path
            assert "JSON" in response.json()["detail"], path
    assert in_event_loop == [False] * 4
