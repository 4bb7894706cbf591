"""The site's HTTP client for the region hub (docs/protocol.md), with httpx: one method per
call of the protocol, each returning the parsed document.

Connection errors, timeouts and 5xx answers are retried with exponential back-off (bounded
attempts; the sleep function is injectable so that tests do not wait). A request given an
`abandoned` event stops once it is set: no attempt after it, no back-off waited out (an attempt
on the wire ends within its timeouts). Every failure ends in a French message
(HubUnreachable, HubRefused, ProtocolError). An answer is read as sent, no further than its
format's cap, and decompressed by `load_json` within that cap: a hostile or broken hub cannot
fill the site's memory. What the site does with the documents (store them, in which order) is
the services' business (services/sync.py).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from mediateur_tui.protocol.documents import DocumentTooLarge, dump_gzip_json, load_json
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import (
    ACK,
    ATTRIBUTION_ANSWER,
    BENEFICIARY_KEY,
    DECLARATION_ANSWER,
    ENROLMENT,
    MAX_DOCUMENT_BYTES,
    REPLICA_PAGE,
    REPLICA_PAGE_COMPACT,
    SITE_RECOVERY,
)
from mediateur_tui.sync.errors import HubRefused, HubUnreachable, RequestAbandoned, SyncError

log = logging.getLogger(__name__)

DEFAULT_ATTEMPTS = 5
DEFAULT_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
PAGE_LIMIT = 10_000
USER_AGENT = "mediateur-tui/1"
REFUSAL_BYTES = 64 * 1024  # an error answer's reason: read no further
SITE_REFUSED = (401, 403)  # the hub refuses the key or the site: its detail says why
UNKNOWN_SITE = (
    "La région ne reconnaît pas ce poste (clé d'accès refusée) : il doit être inscrit à nouveau."
)


@dataclass(frozen=True)
class Answer:
    """A hub's answer: its status and its body as sent (gzip'd or not)."""

    status_code: int
    content: bytes


class HubClient:
    """HTTP calls to one hub, with retries. Raises HubUnreachable, HubRefused, ProtocolError."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff: float = DEFAULT_BACKOFF_SECONDS,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = normalise_hub_url(base_url)
        self.sleep = sleep  # None: the back-off waits for real
        self.attempts = max(1, attempts)
        self.backoff = backoff
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self.http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            # A hub on this machine (the demo's) is never reached through a proxy of the
            # environment (HTTP_PROXY), which would not answer for it.
            trust_env=not _on_this_machine(self.base_url),
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- the protocol's calls -----------------------------------------------------------------

    def enrol(self, request: dict[str, Any]) -> dict[str, Any]:
        """Posts a pn-enrolment-request/1; returns the region's pn-enrolment/1."""
        answer = self.request("POST", "/v1/enrolment", ENROLMENT, json=request, expected=(200, 201))
        return load_json(answer.content, ENROLMENT)

    def changes(
        self, since: int, limit: int = PAGE_LIMIT, abandoned: threading.Event | None = None
    ) -> dict[str, Any]:
        """The page after `since`: a pn-replica-page/2, asked for, or the /1 that a hub
        before it answers (it ignores `format`). RequestAbandoned once `abandoned` is set."""
        answer = self.request(
            "GET",
            "/v1/replica/changes",
            REPLICA_PAGE,
            params={"since": since, "limit": limit, "format": 2},
            abandoned=abandoned,
        )
        return load_json(answer.content, REPLICA_PAGE, also=(REPLICA_PAGE_COMPACT,))

    def post_batch(self, document: dict[str, Any]) -> dict[str, Any]:
        """Posts a pn-batch/1; returns the region's pn-ack/1."""
        return self._post("/v1/batches", document, ACK, expected=(200, 201))

    def post_declaration(self, document: dict[str, Any]) -> dict[str, Any]:
        """Posts a pn-declaration/1; returns the region's pn-declaration-answer/1."""
        return self._post("/v1/declarations", document, DECLARATION_ANSWER)

    def get_recovery(self) -> dict[str, Any]:
        """The region's pn-site-recovery/1: what it holds of this site's redemptions."""
        answer = self.request("GET", "/v1/recovery", SITE_RECOVERY)
        return load_json(answer.content, SITE_RECOVERY)

    def post_attributions(self, document: dict[str, Any]) -> dict[str, Any]:
        """Posts a pn-attributions/1; returns the region's pn-attribution-answer/1."""
        return self._post("/v1/attributions", document, ATTRIBUTION_ANSWER)

    def get_beneficiary_key(self) -> dict[str, Any] | None:
        """The region's pn-beneficiary-key/1 for a distributor site; None for another site
        (403) or a hub that does not hand keys out this way (404)."""
        answer = self.request(
            "GET", "/v1/beneficiary-key", BENEFICIARY_KEY, expected=(200, 403, 404)
        )
        if answer.status_code != 200:
            return None
        return load_json(answer.content, BENEFICIARY_KEY)

    def get_ack(self, batch_id: str) -> dict[str, Any] | None:
        """The hub's ack for a batch, or None when it never received the batch (404)."""
        answer = self.request("GET", f"/v1/batches/{batch_id}/ack", ACK, expected=(200, 404))
        if answer.status_code == 404:
            return None
        return load_json(answer.content, ACK)

    # --- transport with retries ---------------------------------------------------------------

    def _post(
        self,
        path: str,
        document: dict[str, Any],
        answer_format: str,
        expected: tuple[int, ...] = (200,),
    ) -> dict[str, Any]:
        """Posts a document gzip'd; returns the answer, a document of `answer_format`."""
        answer = self.request(
            "POST",
            path,
            answer_format,
            content=dump_gzip_json(document),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
            expected=expected,
        )
        return load_json(answer.content, answer_format)

    def request(
        self,
        method: str,
        path: str,
        answer_format: str,
        *,
        expected: tuple[int, ...] = (200,),
        abandoned: threading.Event | None = None,
        **kwargs: Any,
    ) -> Answer:
        """One call, retried on connection errors, timeouts and 5xx with exponential back-off.
        An expected answer is read within the cap of `answer_format` (or DocumentTooLarge).
        Once `abandoned` is set, RequestAbandoned instead of any further attempt or wait."""
        problem = ""
        for attempt in range(1, self.attempts + 1):
            if abandoned is not None and abandoned.is_set():
                raise RequestAbandoned("Demande à la région abandonnée.")
            try:
                answer = self._exchange(method, path, answer_format, expected, kwargs)
            except (httpx.TransportError, httpx.DecodingError) as error:
                problem = _describe_transport_error(error)
            else:
                if answer.status_code in expected:
                    return answer
                if answer.status_code < 500:
                    raise _refusal(answer)
                problem = f"erreur {answer.status_code} du serveur de la région"
            log.warning(
                "%s %s: attempt %s/%s failed: %s", method, path, attempt, self.attempts, problem
            )
            if attempt < self.attempts:
                self._back_off(
                    min(self.backoff * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS), abandoned
                )
        raise HubUnreachable(
            f"La région ({self.base_url}) ne répond pas ({problem}) après {self.attempts} "
            "tentatives. Rien n'est perdu : relancez la synchronisation plus tard."
        )

    def _back_off(self, seconds: float, abandoned: threading.Event | None) -> None:
        """Waits before the next attempt, no longer than until `abandoned` is set."""
        if self.sleep is not None:
            self.sleep(seconds)
        elif abandoned is not None:
            abandoned.wait(seconds)
        else:
            time.sleep(seconds)

    def _exchange(
        self,
        method: str,
        path: str,
        answer_format: str,
        expected: tuple[int, ...],
        options: dict[str, Any],
    ) -> Answer:
        with self.http.stream(method, path, **options) as response:
            if response.headers.get("Content-Encoding", "identity") not in ("identity", "gzip"):
                raise ProtocolError(
                    "Réponse de la région dans une compression inconnue "
                    f"({response.headers['Content-Encoding']})."
                )
            if response.status_code not in expected:  # a reason: its start is enough
                return Answer(response.status_code, _read_at_most(response, REFUSAL_BYTES))
            limit = MAX_DOCUMENT_BYTES[answer_format]
            content = _read_at_most(response, limit + 1)
            if len(content) > limit:
                raise DocumentTooLarge(answer_format)
            return Answer(response.status_code, content)


def _read_at_most(response: httpx.Response, limit: int) -> bytes:
    """The body as sent, or its first `limit` bytes; the rest is never read."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def _on_this_machine(url: str) -> bool:
    host = httpx.URL(url).host
    return host in ("localhost", "::1") or host.startswith("127.")


def normalise_hub_url(url: str) -> str:
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SyncError(
            f"Adresse du serveur régional invalide : « {url} » (attendu http://… ou https://…)."
        )
    return url


def _describe_transport_error(error: Exception) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "délai d'attente dépassé"
    if isinstance(error, httpx.ConnectError):
        return "connexion impossible"
    if isinstance(error, httpx.DecodingError):
        return "réponse tronquée ou illisible"
    return "connexion interrompue"


def _reason_text(content: bytes) -> bytes:
    if content[:2] != b"\x1f\x8b":
        return content
    return zlib.decompressobj(wbits=31).decompress(content, REFUSAL_BYTES)


def _refusal(answer: Answer) -> HubRefused:
    """The hub's refusal in French: for a refused key (401) or a refused site (403, e.g. one
    the region struck off), the hub's own `detail` as it is; a fixed sentence for a 401
    without one; otherwise the status, with the detail when there is one."""
    status = answer.status_code
    detail = _detail(answer.content)
    if status in SITE_REFUSED and isinstance(detail, str) and detail:
        message = f"La région a refusé la demande : {detail}"
    elif status == 401:
        message = UNKNOWN_SITE
    else:
        message = f"La région a refusé la demande (erreur {status})"
        if isinstance(detail, str):
            message += f" : {detail}" if detail else "."
        else:
            message += "." if detail is None else " : requête invalide"
    return HubRefused(message, status)


def _detail(content: bytes) -> object:
    """The `detail` of an error answer's JSON body; None when there is none or it is
    unreadable (not JSON, cut short, too deep)."""
    try:
        body = json.loads(_reason_text(content))
    except (ValueError, RecursionError, zlib.error):
        return None
    return body.get("detail") if isinstance(body, dict) else None
