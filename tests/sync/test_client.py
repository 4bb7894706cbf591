"""The hub client's own logic. Its end-to-end behaviour against a real `mediateur-hub serve`
process is tested with the hub; here: retries and back-off (an httpx.MockTransport, for this
unit only), and what happens, with nothing lost, when the hub cannot be reached at all."""

from __future__ import annotations

import http.server
import socket
import sys
import threading
import tracemalloc
import zlib
from collections.abc import Iterator

import httpx
import pytest
from sqlmodel import Session

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.protocol.documents import DocumentTooLarge
from mediateur_tui.protocol.files import read_document_file
from mediateur_tui.protocol.formats import BENEFICIARY_KEY
from mediateur_tui.services.sync import SiteSync
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.keys import site_key_path
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME
from mediateur_tui.store.sync_state import read_sync_state
from mediateur_tui.sync.client import HubClient, normalise_hub_url
from mediateur_tui.sync.errors import HubRefused, HubUnreachable, RequestAbandoned, SyncError

from .conftest import NOW

HUB = "http://hub.invalid"


def scripted(*outcomes):
    """A transport answering each request with the next outcome (an exception or a response,
    sent as a fresh stream, as a network transport gives it)."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        outcome = outcomes[len(calls) - 1]
        if isinstance(outcome, Exception):
            raise outcome
        return httpx.Response(
            outcome.status_code, headers=outcome.headers, stream=httpx.ByteStream(outcome.content)
        )

    return httpx.MockTransport(handler), calls


def test_connection_errors_timeouts_and_5xx_are_retried_with_exponential_backoff():
    ok = httpx.Response(200, json={"format": "pn-ack/1"})
    transport, calls = scripted(
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.Response(503, text="maintenance"),
        httpx.RemoteProtocolError("cut"),
        ok,
    )
    sleeps: list[float] = []
    client = HubClient(HUB, "secret", transport=transport, sleep=sleeps.append, backoff=0.5)
    assert client.get_ack("a" * 32) == {"format": "pn-ack/1"}
    assert sleeps == [0.5, 1.0, 2.0, 4.0]
    assert len(calls) == 5
    assert all(call.headers["Authorization"] == "Bearer secret" for call in calls)


def test_attempts_are_bounded_and_the_failure_is_explained_in_french():
    transport, calls = scripted(*[httpx.ConnectError("refused")] * 3)
    sleeps: list[float] = []
    client = HubClient(HUB, transport=transport, sleep=sleeps.append, attempts=3)
    with pytest.raises(HubUnreachable) as error:
        client.changes(0)
    assert len(calls) == 3 and sleeps == [1.0, 2.0]
    message = str(error.value)
    assert "ne répond pas (connexion impossible) après 3 tentatives" in message
    assert "Rien n'est perdu" in message


def test_back_off_is_capped():
    transport, _ = scripted(*[httpx.Response(502)] * 9)
    sleeps: list[float] = []
    with pytest.raises(HubUnreachable, match="erreur 502"):
        HubClient(HUB, transport=transport, sleep=sleeps.append, attempts=9, backoff=1).changes(0)
    assert sleeps == [1, 2, 4, 8, 16, 32, 60, 60]


def test_an_abandoned_request_makes_no_further_attempt_and_waits_out_no_back_off():
    calls: list[httpx.Request] = []
    failed = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        failed.set()
        return httpx.Response(503, stream=httpx.ByteStream(b"maintenance"))

    # Real back-off (no sleep injected): 60 s before the second attempt, unless abandoned.
    client = HubClient(HUB, transport=httpx.MockTransport(handler), attempts=5, backoff=60)
    abandoned = threading.Event()
    raised: list[Exception] = []

    def fetch() -> None:
        try:
            client.changes(0, abandoned=abandoned)
        except Exception as error:
            raised.append(error)

    fetching = threading.Thread(target=fetch)
    fetching.start()
    assert failed.wait(timeout=10)
    abandoned.set()
    fetching.join(timeout=30)
    assert not fetching.is_alive()
    assert len(calls) == 1 and [type(error) for error in raised] == [RequestAbandoned]
    # Abandoned before it starts: not even one attempt.
    with pytest.raises(RequestAbandoned):
        client.changes(0, abandoned=abandoned)
    assert len(calls) == 1


def test_refusals_are_not_retried_and_carry_the_hubs_reason():
    detail = "Ce lot est signé par un autre lieu."
    transport, calls = scripted(httpx.Response(403, json={"detail": detail}))
    sleeps: list[float] = []
    with pytest.raises(HubRefused) as error:
        HubClient(HUB, transport=transport, sleep=sleeps.append).post_batch({"format": "x"})
    assert error.value.status == 403 and detail in str(error.value)
    assert len(calls) == 1 and sleeps == []
    # The batch went gzip-compressed, as the protocol says.
    assert calls[0].headers["Content-Encoding"] == "gzip"
    assert calls[0].content[:2] == b"\x1f\x8b"


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_or_site_shows_the_hubs_own_detail(status):
    detail = "Ce poste (AVESNES-EPN) a été radié par la région le 03/12/2026 à 09:15."
    transport, _ = scripted(httpx.Response(status, json={"detail": detail}))
    with pytest.raises(HubRefused) as error:
        HubClient(HUB, transport=transport).changes(0)
    assert (error.value.status, str(error.value)) == (
        status,
        f"La région a refusé la demande : {detail}",
    )


@pytest.mark.parametrize("body", [b"", b"<html>401</html>", b'{"detail": ""}', b'{"x": 1}'])
def test_a_401_without_a_detail_says_the_site_must_enrol_again(body):
    transport, _ = scripted(httpx.Response(401, content=body))
    with pytest.raises(HubRefused) as error:
        HubClient(HUB, transport=transport).changes(0)
    assert str(error.value) == (
        "La région ne reconnaît pas ce poste (clé d'accès refusée) : il doit être inscrit à "
        "nouveau."
    )


def test_a_404_ack_means_the_hub_never_got_the_batch():
    transport, _ = scripted(httpx.Response(404, json={"detail": "Lot inconnu."}))
    assert HubClient(HUB, transport=transport).get_ack("b" * 32) is None


def test_hub_addresses_are_checked():
    assert normalise_hub_url(" https://pass.example.fr/ ") == "https://pass.example.fr"
    for bad in ("pass.example.fr", "ftp://x", "http://"):
        with pytest.raises(SyncError, match="Adresse du serveur régional invalide"):
            normalise_hub_url(bad)


# --- the hub out of reach: real connections to a closed port --------------------------------


@pytest.fixture
def closed_port_url() -> Iterator[str]:
    """A port no server can take while the test runs: bound here, never listening, so that a
    connection to it is refused (another worker's hub cannot be given it meanwhile)."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{bound.getsockname()[1]}"


def test_sync_needs_an_enrolment(site):
    with pytest.raises(SyncError, match="n'est pas inscrit"):
        SiteSync(site.engine, site.data_dir).sync()


def test_sync_with_the_hub_out_of_reach_loses_nothing(site, region, closed_port_url):
    site.set_enrolment(closed_port_url)
    before = site.dump()
    sleeps: list[float] = []
    report = SiteSync(site.engine, site.data_dir, fixed_clock(NOW), sleep=sleeps.append).sync()
    assert not report.ok and len(sleeps) == 4
    (error,) = report.errors
    assert error.startswith("Réplique : La région") and "Rien n'est perdu" in error
    after = site.dump()
    with Session(site.engine) as session:
        state = read_sync_state(session)
        assert state.last_error == error and state.last_sync_at is None
        assert state.replica_cursor == len(region.changes)
    assert {t: rows for t, rows in after.items() if t != "sync_state"} == {
        t: rows for t, rows in before.items() if t != "sync_state"
    }
    assert report.to_json()["ok"] is False


def test_enrolment_with_the_hub_out_of_reach_changes_no_data(tmp_path, closed_port_url):
    engine = open_database(tmp_path / DATABASE_FILENAME)
    try:
        site_sync = SiteSync(engine, tmp_path, fixed_clock(NOW), sleep=lambda _: None)
        with pytest.raises(HubUnreachable):
            site_sync.enrol(closed_port_url, "JETON-1234")
        status = site_sync.status()
        assert not status.enrolled and status.site_id is None
        # The site key is kept (mode 0600) and used again by the next attempt.
        key_file = site_key_path(tmp_path)
        assert key_file.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
        assert key_file.stat().st_mode & 0o777 == 0o600
        first = key_file.read_bytes()
        with pytest.raises(HubUnreachable):
            site_sync.enrol(closed_port_url, "JETON-1234")
        assert key_file.read_bytes() == first
        with pytest.raises(SyncError, match="Jeton d'inscription manquant"):
            site_sync.enrol(closed_port_url, "  ")
    finally:
        engine.dispose()


def test_a_site_enrolled_by_file_cannot_enrol_online(site, closed_port_url):
    site.set_enrolment(None)
    with pytest.raises(SyncError, match="déjà inscrit"):
        SiteSync(site.engine, site.data_dir).enrol(closed_port_url, "JETON")


def test_enrolling_again_online_keeps_the_key_until_the_region_answers(site, closed_port_url):
    """A site enrolled online may be enrolled again (a new laptop restored from a backup):
    the new key is written only once the region's answer is verified."""
    site.set_enrolment(closed_port_url)
    key_file = site_key_path(site.data_dir)
    before = key_file.read_bytes()
    sync = SiteSync(site.engine, site.data_dir, fixed_clock(NOW), sleep=lambda _: None)
    with pytest.raises(HubUnreachable):
        sync.enrol(closed_port_url, "JETON")
    assert key_file.read_bytes() == before
    assert sync.status().enrolled


# --- a hostile or broken hub --------------------------------------------------------------


@pytest.fixture
def hostile_hub():
    """A real HTTP server on 127.0.0.1 answering every GET with the body and status it is
    given (gzip'd when told so), as a broken or hostile hub would."""
    answer: dict[str, object] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = answer["body"]
            assert isinstance(body, bytes)
            self.send_response(int(str(answer["status"])))
            self.send_header("Content-Type", "application/json")
            if answer.get("gzip"):
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            # The client hanging up in the middle of a body too large is what is tested.
            if not isinstance(sys.exc_info()[1], ConnectionError):
                super().handle_error(request, client_address)

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", answer
    server.shutdown()
    server.server_close()


def gzip_bomb(size: int) -> bytes:
    """`size` zero bytes, gzip'd: about a thousandth of that on the wire."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    return b"".join([*parts, compressor.flush()])


def test_a_gzip_bomb_from_the_hub_is_refused_without_filling_memory(hostile_hub):
    url, answer = hostile_hub
    answer.update(status=200, gzip=True, body=gzip_bomb(512 * 1024 * 1024))
    tracemalloc.start()
    try:
        with pytest.raises(DocumentTooLarge, match="Document trop volumineux"):
            HubClient(url, "secret", attempts=1).get_beneficiary_key()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Decompressed, the answer would take 512 MiB; no more than its cap (16 KiB) is read.
    assert peak < 8 * 1024 * 1024, peak


def test_a_refusal_nested_too_deep_or_too_long_still_reads_as_a_refusal(hostile_hub):
    url, answer = hostile_hub
    for body in (b"[" * 50_000 + b"]" * 50_000, b'{"detail": "' + b"x" * 10_000_000 + b'"}'):
        answer.update(status=403, body=body)
        with pytest.raises(HubRefused) as error:
            HubClient(url, "secret", attempts=1).get_ack("c" * 32)
        assert str(error.value) == "La région a refusé la demande (erreur 403)."


def test_a_document_file_over_its_cap_is_refused_unread(tmp_path):
    path = tmp_path / "cle-beneficiaires.json"
    with path.open("wb") as stream:  # sparse: 1 GiB that takes no room
        stream.truncate(1024 * 1024 * 1024)
    with pytest.raises(DocumentTooLarge, match="fait au plus 16 Ko"):
        read_document_file(path, BENEFICIARY_KEY)
