"""The site's HTTP client for the region hub (docs/protocol.md), with httpx (the enrolment,
which uses it, is in enrolment.py).

- `synchronise`: pulls replica pages from the stored cursor until `more` is false (each page
  applied and its cursor stored in one transaction, so a cut loses nothing); then, for a
  distributor site (a site without the beneficiary key asks for it: the region may have made
  it a distributor since its enrolment), sends the carnets it handed out that the region has
  not answered yet (the hub is idempotent on each attribution id), stores the verdicts and, when
  some were accepted, pulls again (the carnets come attributed); then pushes every sealed batch
  that has no acknowledgement yet and stores the region's answer; a batch sent earlier without
  an answer is first asked for with GET (404: the hub never got it, so it is posted again; the
  hub is idempotent on the batch id).

Connection errors, timeouts and 5xx answers are retried with exponential back-off (bounded
attempts; the sleep function is injectable so that tests do not wait). Every failure ends in a
French message, and whatever was done before it stays done: the next run resumes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Engine
from sqlmodel import Session

from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.formatting import format_euros
from mediateur_tui.protocol.documents import dump_gzip_json, load_json
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import (
    ACK,
    ATTRIBUTION_ANSWER,
    BENEFICIARY_KEY,
    ENROLMENT,
    REPLICA_PAGE,
)
from mediateur_tui.store.engine import writer
from mediateur_tui.sync import acks, attributions, batches
from mediateur_tui.sync.errors import HubRefused, HubUnreachable, SyncError
from mediateur_tui.sync.keys import (
    load_beneficiary_key,
)
from mediateur_tui.sync.replica import apply_page
from mediateur_tui.sync.state import read_sync_state, sync_state

log = logging.getLogger(__name__)

DEFAULT_ATTEMPTS = 5
DEFAULT_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
PAGE_LIMIT = 10_000
USER_AGENT = "mediateur-tui/1"

Progress = Callable[[int, int], None]  # (changes received so far, cursor)


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

    def __exit__(self, *_exc) -> None:
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
        self, method: str, path: str, *, expected: tuple[int, ...] = (200,), **kwargs
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


# --- enrolment ------------------------------------------------------------------------------


# --- synchronisation ------------------------------------------------------------------------


@dataclass(frozen=True)
class SentBatch:
    batch_id: str
    period: str
    sequence: int
    accepted: int
    accepted_cents: int
    refused: int

    def describe(self) -> str:
        return (
            f"Remise n° {self.sequence} ({batches.period_label(self.period)}) : "
            f"{self.accepted} accepté(s) ({format_euros(self.accepted_cents)}), "
            f"{self.refused} refusé(s)."
        )


@dataclass
class SyncReport:
    changes: int = 0  # replica changes received
    pages: int = 0
    cursor: int = 0
    pass_count: int = 0
    replica_updated_at: datetime | None = None
    batches: list[SentBatch] = field(default_factory=list)
    distributor_key_received: bool = False  # the region made this site a distributor
    attributions_accepted: int = 0
    attributions_refused: int = 0
    attribution_refusals: list[str] = field(default_factory=list)  # the region's messages
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def describe_attributions(self) -> list[str]:
        """The region's answer to the carnets handed out, in French (empty when none sent)."""
        lines = []
        if self.distributor_key_received:
            lines.append(
                "Clé bénéficiaires reçue de la région : ce lieu peut maintenant remettre des "
                "carnets (touche a à l'accueil)."
            )
        if not self.attributions_accepted and not self.attributions_refused:
            return lines
        lines += [
            f"Attributions de carnets : {self.attributions_accepted} acceptée(s) par la région, "
            f"{self.attributions_refused} refusée(s)."
        ]
        lines += [f"  Refusée — {message}" for message in self.attribution_refusals]
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "replica": {
                "changes": self.changes,
                "pages": self.pages,
                "cursor": self.cursor,
                "pass_count": self.pass_count,
                "updated_at": self.replica_updated_at.isoformat()
                if self.replica_updated_at
                else None,
            },
            "batches": [
                {
                    "batch_id": sent.batch_id,
                    "period": sent.period,
                    "sequence": sent.sequence,
                    "accepted": sent.accepted,
                    "accepted_cents": sent.accepted_cents,
                    "refused": sent.refused,
                }
                for sent in self.batches
            ],
            "attributions": {
                "distributor_key_received": self.distributor_key_received,
                "accepted": self.attributions_accepted,
                "refused": self.attributions_refused,
                "refusals": self.attribution_refusals,
            },
            "errors": self.errors,
        }


def synchronise(
    engine: Engine,
    clock: Callable[[], datetime],
    *,
    progress: Progress | None = None,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] | None = None,
    attempts: int = DEFAULT_ATTEMPTS,
    page_limit: int = PAGE_LIMIT,
    data_dir: Path | None = None,
) -> SyncReport:
    """Pulls the replica, sends the attributions, pushes the batches (see the module's
    docstring). Attributions are signed with the site key: they are sent when `data_dir`,
    where that key lives, is given."""
    with Session(engine) as session:
        state = read_sync_state(session)
        if state.enrolled_at is not None and not state.hub_url:
            raise SyncError(
                "Ce lieu est inscrit par fichier : il échange avec la région par clé USB "
                "(import-replica, export-batch, import-ack). Pour synchroniser en ligne, "
                "demandez un nouveau jeton à la région."
            )
        if state.enrolled_at is None or not state.api_key:
            raise SyncError(
                "Ce poste n'est pas inscrit auprès d'une région : lancez d'abord "
                "« mediateur-tui enrol --hub ADRESSE --token JETON »."
            )
        hub_url, api_key, cursor = state.hub_url, state.api_key, state.replica_cursor
    report = SyncReport(cursor=cursor)
    client = HubClient(hub_url, api_key, transport=transport, sleep=sleep, attempts=attempts)
    try:
        try:
            _pull(engine, client, report, progress, page_limit)
        except HubUnreachable as error:
            report.errors.append(f"Réplique : {error}")
            return report  # the hub is out of reach: pushing would only wait again
        except UserError as error:
            report.errors.append(f"Réplique : {error}")
        if data_dir is not None:
            try:
                _fetch_beneficiary_key(engine, data_dir, client, report)
                _push_attributions(engine, data_dir, client, report, clock)
                if report.attributions_accepted and not report.errors:
                    # The carnets the region just attributed: redeemable here at once.
                    _pull(engine, client, report, progress, page_limit)
            except UserError as error:
                report.errors.append(f"Attributions : {error}")
        try:
            _push(engine, client, report, clock)
        except UserError as error:
            report.errors.append(f"Remises : {error}")
    finally:
        client.close()
        _record_outcome(engine, clock(), report)
    return report


def _pull(
    engine: Engine,
    client: HubClient,
    report: SyncReport,
    progress: Progress | None,
    page_limit: int,
) -> None:
    cursor = report.cursor
    while True:
        page = client.changes(cursor, page_limit)
        applied = apply_page(engine, page)
        report.pages += 1
        report.changes += applied.changes
        report.cursor = applied.cursor
        report.pass_count = applied.pass_count
        report.replica_updated_at = applied.updated_at
        if progress is not None:
            progress(report.changes, applied.cursor)
        if not applied.more:
            return
        if applied.cursor <= cursor:
            raise ProtocolError(
                "La région annonce d'autres changements mais sa page n'avance pas : "
                "synchronisation de la réplique interrompue."
            )
        cursor = applied.cursor


def _fetch_beneficiary_key(
    engine: Engine, data_dir: Path, client: HubClient, report: SyncReport
) -> None:
    """A site the region made a distributor after its enrolment gets the key at its sync."""
    if load_beneficiary_key(data_dir) is not None:
        return
    document = client.get_beneficiary_key()
    if document is None:
        return
    attributions.store_beneficiary_key(engine, data_dir, document)
    report.distributor_key_received = True


def _push_attributions(
    engine: Engine,
    data_dir: Path,
    client: HubClient,
    report: SyncReport,
    clock: Callable[[], datetime],
) -> None:
    for document in attributions.pending_documents(engine, data_dir, clock()):
        attributions.mark_sent(engine, document, clock())
        answer = client.post_attributions(document)
        summary = attributions.apply_answer(engine, answer, clock(), document)
        report.attributions_accepted += summary.accepted
        report.attributions_refused += summary.refused
        report.attribution_refusals.extend(summary.messages)


def _push(
    engine: Engine, client: HubClient, report: SyncReport, clock: Callable[[], datetime]
) -> None:
    for info in batches.list_batches(engine, pending_only=True):
        document = batches.batch_document(engine, info.batch_id)
        ack = client.get_ack(info.batch_id) if info.sent_at is not None else None
        if ack is None:
            batches.mark_sent(engine, info.batch_id, clock())
            ack = client.post_batch(document)
        summary = acks.import_ack(engine, ack, clock(), expected_batch_id=info.batch_id)
        report.batches.append(
            SentBatch(
                batch_id=info.batch_id,
                period=info.period,
                sequence=info.sequence,
                accepted=summary.accepted,
                accepted_cents=summary.accepted_cents,
                refused=summary.refused,
            )
        )


def _record_outcome(engine: Engine, now: datetime, report: SyncReport) -> None:
    with Session(writer(engine)) as session:
        state = sync_state(session)
        state.last_error = "\n".join(report.errors) or None
        if report.ok:
            state.last_sync_at = now
        session.add(state)
        session.commit()
