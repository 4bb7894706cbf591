"""The site's HTTP client for the region hub (docs/protocol.md), with httpx: one method per
call of the protocol, each returning the parsed document.

Connection errors, timeouts and 5xx answers are retried with exponential back-off (bounded
attempts; the sleep function is injectable so that tests do not wait). Every failure ends in a
French message (HubUnreachable, HubRefused, ProtocolError). What the site does with the
documents (store them, in which order) is the services' business (services/sync.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from mediateur_tui.protocol.documents import dump_gzip_json, load_json
from mediateur_tui.protocol.formats import (
    ACK,
    ATTRIBUTION_ANSWER,
    BENEFICIARY_KEY,
    ENROLMENT,
    REPLICA_PAGE,
)
from mediateur_tui.sync.errors import HubRefused, HubUnreachable, SyncError

log = logging.getLogger(__name__)

DEFAULT_ATTEMPTS = 5
DEFAULT_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
PAGE_LIMIT = 10_000
USER_AGENT = "mediateur-tui/1"


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
        self.sleep = sleep or time.sleep
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
        response = self.request("POST", "/v1/enrolment", json=request, expected=(200, 201))
        return load_json(response.content, ENROLMENT)

    def changes(self, since: int, limit: int = PAGE_LIMIT) -> dict[str, Any]:
        response = self.request(
            "GET", "/v1/replica/changes", params={"since": since, "limit": limit}
        )
        return load_json(response.content, REPLICA_PAGE)

    def post_batch(self, document: dict[str, Any]) -> dict[str, Any]:
        response = self.request(
            "POST",
            "/v1/batches",
            content=dump_gzip_json(document),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
            expected=(200, 201),
        )
        return load_json(response.content, ACK)

    def post_attributions(self, document: dict[str, Any]) -> dict[str, Any]:
        """Posts a pn-attributions/1; returns the region's pn-attribution-answer/1."""
        response = self.request(
            "POST",
            "/v1/attributions",
            content=dump_gzip_json(document),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
            expected=(200,),
        )
        return load_json(response.content, ATTRIBUTION_ANSWER)

    def get_beneficiary_key(self) -> dict[str, Any] | None:
        """The region's pn-beneficiary-key/1 for a distributor site; None for another site
        (403) or a hub that does not hand keys out this way (404)."""
        response = self.request("GET", "/v1/beneficiary-key", expected=(200, 403, 404))
        if response.status_code != 200:
            return None
        return load_json(response.content, BENEFICIARY_KEY)

    def get_ack(self, batch_id: str) -> dict[str, Any] | None:
        """The hub's ack for a batch, or None when it never received the batch (404)."""
        response = self.request("GET", f"/v1/batches/{batch_id}/ack", expected=(200, 404))
        if response.status_code == 404:
            return None
        return load_json(response.content, ACK)

    # --- transport with retries ---------------------------------------------------------------

    def request(
        self, method: str, path: str, *, expected: tuple[int, ...] = (200,), **kwargs: Any
    ) -> httpx.Response:
        """One call, retried on connection errors, timeouts and 5xx with exponential back-off."""
        problem = ""
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.http.request(method, path, **kwargs)
                response.read()
            except (httpx.TransportError, httpx.DecodingError) as error:
                problem = _describe_transport_error(error)
            else:
                if response.status_code in expected:
                    return response
                if response.status_code < 500:
                    raise _refusal(response)
                problem = f"erreur {response.status_code} du serveur de la région"
            log.warning(
                "%s %s: attempt %s/%s failed: %s", method, path, attempt, self.attempts, problem
            )
            if attempt < self.attempts:
                self.sleep(min(self.backoff * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))
        raise HubUnreachable(
            f"La région ({self.base_url}) ne répond pas ({problem}) après {self.attempts} "
            "tentatives. Rien n'est perdu : relancez la synchronisation plus tard."
        )


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


def _refusal(response: httpx.Response) -> HubRefused:
    detail = ""
    try:
        body = response.json()
        if isinstance(body, dict):
            value = body.get("detail")
            if isinstance(value, str):
                detail = value
            elif value is not None:
                detail = "requête invalide"
    except ValueError:
        detail = ""
    status = response.status_code
    if status == 401:
        message = (
            "La région ne reconnaît pas ce poste (clé d'accès refusée) : "
            "il doit être inscrit à nouveau."
        )
    else:
        message = f"La région a refusé la demande (erreur {status})"
        message += f" : {detail}" if detail else "."
    return HubRefused(message, status)
