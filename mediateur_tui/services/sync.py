"""Talking to the region: enrolment, synchronisation (replica, attributions, batches), and the
replica file of the USB-key route.

`synchronise` pulls replica pages from the stored cursor until `more` is false (each page
applied and its cursor stored in one transaction, so a cut loses nothing; the next page is
fetched while one is applied, `_pull`); then, for a
distributor site (a site without the beneficiary key asks for it: the region may have made it a
distributor since its enrolment), sends the carnets it handed out that the region has not
answered yet (the hub is idempotent on each attribution id), stores the verdicts and, when some
were accepted, pulls again (the carnets come attributed). At the first sync of a newly enrolled
laptop it merges what the region holds of the site (services/recovery.py: a lost laptop loses
nothing). It declares every redemption and cancellation not yet declared
(services/declarations.py), then pushes every sealed batch that has no acknowledgement yet and
stores the region's answer; a batch sent earlier without an answer is first asked for with GET
(404: the hub never got it, so it is posted again; the hub is idempotent on the batch id).
Whatever was done before a failure stays done: the next run resumes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlmodel import Session

from mediateur_tui.domain.clock import Clock, system_clock
from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.formatting import (
    acknowledged_passes,
    format_datetime,
    plural,
)
from mediateur_tui.domain.periods import period_label
from mediateur_tui.domain.signatures import key_fingerprint
from mediateur_tui.protocol.documents import dump_json
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.files import read_document_file, write_file
from mediateur_tui.protocol.formats import BENEFICIARY_KEY, ENROLMENT
from mediateur_tui.protocol.instants import iso_instant
from mediateur_tui.protocol.verdicts import refusal_label
from mediateur_tui.services import acks, attribution_sync, batches, declarations, enrolment, replica
from mediateur_tui.services.declarations import DeclarationReport
from mediateur_tui.services.enrolment import Enrolment
from mediateur_tui.services.merge import MergeReport
from mediateur_tui.services.recovery import merge_recovery
from mediateur_tui.services.replica import ReplicaApplied
from mediateur_tui.store import queries
from mediateur_tui.store.answers import mark_reported, site_name, unreported_refusals
from mediateur_tui.store.engine import writer
from mediateur_tui.store.keys import load_beneficiary_key
from mediateur_tui.store.models import Redemption, RegionAnswer
from mediateur_tui.store.sync_state import read_sync_state, sync_state
from mediateur_tui.sync.errors import HubRefused, HubUnreachable, SyncError

if TYPE_CHECKING:
    import httpx

    from mediateur_tui.sync.client import HubClient

Progress = Callable[[int, int], None]  # (changes received so far, cursor)
REQUEST_FILE = Path("inscription") / "demande.json"


@dataclass(frozen=True)
class SyncStatus:
    enrolled: bool
    hub_url: str | None
    region_id: str | None
    site_id: str | None
    region_key_fingerprint: str | None
    replica_cursor: int
    replica_updated_at: datetime | None
    pass_count: int
    pending_batches: int
    pending_declarations: int  # redemptions the region has not been told of yet
    last_sync_at: datetime | None
    last_error: str | None


class SiteSync:
    """The site's side of the sync protocol, for the app and the command line.

    `transport` and `sleep` are for tests (an httpx transport; a sleep that does not wait)."""

    def __init__(
        self,
        engine: Engine,
        data_dir: Path,
        clock: Clock = system_clock,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._engine = engine
        self.data_dir = data_dir
        self.clock = clock
        self.transport = transport
        self.sleep = sleep
        self._running = threading.Lock()

    def status(self) -> SyncStatus:
        with Session(self._engine) as session:
            state = read_sync_state(session)
            meta = queries.replica_meta(session)
            key = meta.region_public_key if meta else None
            status = SyncStatus(
                enrolled=state.enrolled_at is not None,
                hub_url=state.hub_url,
                region_id=meta.region_id if meta else None,
                site_id=meta.site_id if meta else None,
                region_key_fingerprint=key_fingerprint(key) if key else None,
                replica_cursor=state.replica_cursor,
                replica_updated_at=meta.updated_at if meta else None,
                pass_count=meta.pass_count if meta else 0,
                pending_batches=0,
                pending_declarations=0,
                last_sync_at=state.last_sync_at,
                last_error=state.last_error,
            )
        pending = len(batches.list_batches(self._engine, pending_only=True))
        undeclared = declarations.pending_count(self._engine)
        return replace(status, pending_batches=pending, pending_declarations=undeclared)

    @staticmethod
    def hub_address(text: str) -> str:
        """The hub's address as typed, checked: http:// or https:// and a host (SyncError)."""
        from mediateur_tui.sync.client import normalise_hub_url  # httpx: only when used

        return normalise_hub_url(text)

    def enrol(self, hub_url: str, token: str) -> Enrolment:
        try:
            return enrolment.enrol(
                self._engine,
                self.data_dir,
                hub_url,
                token,
                self.clock(),
                transport=self.transport,
                sleep=self.sleep,
            )
        except HubRefused as error:
            if error.status == HTTPStatus.NOT_FOUND:
                raise  # no region's server at this address
            error.field = "token"  # the region answered: the token is what it refused
            raise

    def default_request_path(self) -> Path:
        """Where the app writes the enrolment request by default (and looks for it again)."""
        return self.data_dir / REQUEST_FILE

    def write_enrolment_request(self, token: str, path: Path) -> Path:
        """Enrolment by USB key, step 1: the request file the region imports."""
        request = enrolment.enrolment_request(self._engine, self.data_dir, token)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file(path, dump_json(request))
        return path

    def import_enrolment_answer(self, path: Path) -> Enrolment:
        """Enrolment by USB key, step 2: the region's signed answer file."""
        answer = read_document_file(path, ENROLMENT)
        return enrolment.apply_enrolment(self._engine, self.data_dir, answer, self.clock())

    def sync(self, progress: Progress | None = None) -> SyncReport:
        """Sends the attributions, pulls the replica, declares and pushes the batches; errors
        are in the report (resumable). One sync at a time: another waits for it."""
        with self._running:
            return self._sync(progress)

    def _sync(self, progress: Progress | None) -> SyncReport:
        return synchronise(
            self._engine,
            self.clock,
            progress=progress,
            transport=self.transport,
            sleep=self.sleep,
            data_dir=self.data_dir,
        )

    def sync_if_online(self) -> SyncReport | None:
        """The running app's sync every few minutes: declarations out, the replica in. None
        when this site does not sync online (not enrolled, or enrolled by file), or when a
        sync is already running."""
        with Session(self._engine) as session:
            state = read_sync_state(session)
        if state.enrolled_at is None or not state.hub_url or not state.api_key:
            return None
        if not self._running.acquire(blocking=False):
            return None  # a sync is running (the user's): it does the same
        try:
            return self._sync(None)
        finally:
            self._running.release()

    def export_attributions(self, directory: Path) -> list[Path]:
        """The attributions the region has not answered yet, as files for a USB key."""
        return attribution_sync.export_files(self._engine, self.data_dir, directory, self.clock())

    def import_attribution_answer(self, path: Path) -> attribution_sync.AnswerSummary:
        """The region's answer file to the attributions (made by `import-attributions`)."""
        return attribution_sync.import_answer_file(self._engine, path, self.clock())

    def import_beneficiary_key(self, path: Path) -> None:
        """The region's beneficiary key file, for a site enrolled by USB key."""
        document = read_document_file(path, BENEFICIARY_KEY)
        attribution_sync.store_beneficiary_key(self._engine, self.data_dir, document)

    def import_replica(self, path: Path, site_id: str | None = None) -> ReplicaApplied:
        """Imports a replica snapshot file (USB key)."""
        return replica.import_replica_file(self._engine, path, site_id)


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
            f"Remise n° {self.sequence} ({period_label(self.period)}) : "
            f"{acknowledged_passes(self.accepted, self.accepted_cents, self.refused)}."
        )


@dataclass(frozen=True)
class RefusedLine:
    """A redemption of this site that the region refused, as a sync report says it once."""

    code: str
    redeemed_at: datetime
    reason: str | None
    winner_site_id: str | None
    winner_site_name: str | None
    winner_redeemed_at: datetime | None

    def describe(self) -> str:
        said = (
            f"Refusé par la région : {format_code(self.code)}, encaissé ici le "
            f"{format_datetime(self.redeemed_at)} — {refusal_label(self.reason)}"
        )
        if self.winner_site_name is None:
            return said + "."
        at = format_datetime(self.winner_redeemed_at) if self.winner_redeemed_at else "?"
        return said + f" : payé à {self.winner_site_name}, qui l'a encaissé le {at}."

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "redeemed_at": iso_instant(self.redeemed_at),
            "reason": self.reason,
            "winner": None
            if self.winner_site_id is None
            else {
                "site_id": self.winner_site_id,
                "site_name": self.winner_site_name,
                "redeemed_at": iso_instant(self.winner_redeemed_at)
                if self.winner_redeemed_at
                else None,
            },
        }


@dataclass
class SyncReport:
    refusals: list[RefusedLine] = field(default_factory=list)  # new since the last report
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
    declared: DeclarationReport = field(default_factory=DeclarationReport)
    recovered: MergeReport | None = None  # a new laptop's first sync: what the region gave back
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

    def describe_declarations(self) -> list[str]:
        """What the region gave back to a new laptop, and what was declared, in French."""
        lines = []
        if self.recovered is not None and self.recovered.redemptions_added:
            found = plural(self.recovered.redemptions_added, "encaissement")
            batches_found = plural(self.recovered.batches_added, "remise")
            lines.append(
                f"Reprise auprès de la région : {found} et {batches_found} de ce lieu "
                "retrouvés sur ce poste."
            )
        if self.declared.redemptions or self.declared.cancellations:
            lines.append(self.declared.describe())
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
            "declarations": self.declared.to_json(),
            "recovery": None if self.recovered is None else self.recovered.counts(),
            "refusals": [refused.to_json() for refused in self.refusals],
            "errors": self.errors,
        }


def synchronise(
    engine: Engine,
    clock: Callable[[], datetime],
    *,
    progress: Progress | None = None,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] | None = None,
    attempts: int | None = None,
    page_limit: int | None = None,
    data_dir: Path | None = None,
) -> SyncReport:
    """Pulls the replica, sends the attributions, pushes the batches (see the module's
    docstring). Attributions are signed with the site key: they are sent when `data_dir`,
    where that key lives, is given. `attempts` and `page_limit` default to the client's."""
    from mediateur_tui.sync.client import DEFAULT_ATTEMPTS, PAGE_LIMIT, HubClient  # httpx

    attempts = DEFAULT_ATTEMPTS if attempts is None else attempts
    page_limit = PAGE_LIMIT if page_limit is None else page_limit
    with Session(engine) as session:
        state = read_sync_state(session)
        if state.enrolled_at is not None and not state.hub_url:
            raise SyncError(
                "Ce lieu est inscrit par fichier : il échange avec la région par clé USB "
                "(import-replica, export-batch, import-ack). Pour synchroniser en ligne, "
                "demandez un nouveau jeton à la région."
            )
        if state.enrolled_at is None or not state.api_key or not state.hub_url:
            raise SyncError(
                "Ce poste n'est pas inscrit auprès d'une région : lancez d'abord "
                "« mediateur-tui enrol --hub ADRESSE --token JETON »."
            )
        hub_url, api_key, cursor = state.hub_url, state.api_key, state.replica_cursor
        first_sync = state.last_sync_at is None
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
        if data_dir is not None and first_sync:
            try:
                report.recovered = merge_recovery(engine, client.get_recovery(), clock())
            except UserError as error:  # asked again at the next sync: it is still the first
                report.errors.append(f"Reprise auprès de la région : {error}")
        if data_dir is not None:
            try:
                declarations.declare_pending(
                    engine, data_dir, client.post_declaration, clock, report.declared
                )
            except UserError as error:
                report.errors.append(f"Déclarations : {error}")
        try:
            _push(engine, client, report, clock, data_dir)
        except UserError as error:
            report.errors.append(f"Remises : {error}")
    except BaseException:  # a crash or Ctrl-C: this sync did not happen (the recovery is due)
        report.errors.append("Synchronisation interrompue : relancez-la.")
        raise
    finally:
        client.close()
        report.refusals = take_refusals(engine, clock())
        _record_outcome(engine, clock(), report)
    return report


def take_refusals(engine: Engine, now: datetime) -> list[RefusedLine]:
    """The region's refusals of this site's redemptions that no report has said yet; they
    are said once (marked reported)."""
    with Session(writer(engine)) as session:
        refusals = unreported_refusals(session)
        lines = [_refused_line(session, answer) for answer in refusals]
        mark_reported(session, refusals, now)
        session.commit()
    return lines


def _refused_line(session: Session, answer: RegionAnswer) -> RefusedLine:
    redemption = session.get(Redemption, answer.redemption_id)
    assert redemption is not None  # an answer names a redemption of this site (foreign key)
    return RefusedLine(
        code=redemption.code,
        redeemed_at=redemption.redeemed_at,
        reason=answer.reason,
        winner_site_id=answer.winner_site_id,
        winner_site_name=site_name(session, answer.winner_site_id),
        winner_redeemed_at=answer.winner_redeemed_at,
    )


def _pull(
    engine: Engine,
    client: HubClient,
    report: SyncReport,
    progress: Progress | None,
    page_limit: int,
) -> None:
    """Applies pages from the report's cursor until one says no more follows. While a page
    is applied (SQLite, here), the next one is fetched and parsed (the hub, the network,
    gunzip and JSON, in one other thread): at most one page ahead. Only applying a page moves
    the cursor. A page fetched ahead of one that fails (or of a Ctrl-C) is abandoned, not
    waited for: see `_PageFetch`."""
    cursor = report.cursor
    fetch = _PageFetch(client, cursor, page_limit)
    try:
        while True:
            page = fetch.page()
            following = _following_cursor(page, cursor)
            if following is not None:
                fetch = _PageFetch(client, following, page_limit)
            applied = replica.apply_page(engine, page)
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
            if following != applied.cursor:  # not fetched ahead (or from a wrong cursor)
                fetch.abandon()
                fetch = _PageFetch(client, applied.cursor, page_limit)
            cursor = applied.cursor
    finally:
        fetch.abandon()  # the page fetched ahead, if any; one taken already: no effect


class _PageFetch:
    """One replica page fetched and parsed in a thread of its own, which only fetches: its
    page goes nowhere until `page()` takes it, so the database and the cursor are only ever
    the caller's. Taken, the thread is gone (joined). Abandoned, it is not waited for: its
    request makes no further attempt and waits out no back-off (the client's `abandoned`),
    an attempt already on the wire ends within its own timeouts (meanwhile the caller goes on
    with the same client: httpx's pool is thread-safe), and its answer is dropped with the
    thread. A daemon thread, so that not even the interpreter's exit (the CLI after a Ctrl-C)
    waits for it."""

    def __init__(self, client: HubClient, since: int, limit: int) -> None:
        self._abandoned = threading.Event()
        self._page: dict[str, Any] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._fetch, args=(client, since, limit), name="replica-fetch", daemon=True
        )
        self._thread.start()

    def _fetch(self, client: HubClient, since: int, limit: int) -> None:
        try:
            self._page = client.changes(since, limit, self._abandoned)
        except BaseException as error:  # raised by page(), in the caller's thread
            self._error = error

    def page(self) -> dict[str, Any]:
        """The page, once fetched; raises what fetching it raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._page is not None
        return self._page

    def abandon(self) -> None:
        self._abandoned.set()


def _following_cursor(page: dict[str, Any], cursor: int) -> int | None:
    """The cursor after `page` as it says it, to fetch the next page ahead; None when it says
    none follows or its `until` is not a cursor beyond `cursor` (apply_page then refuses it,
    or says so)."""
    until = page.get("until")
    if page.get("more") is not True or not isinstance(until, int) or isinstance(until, bool):
        return None
    return until if until > cursor else None


def _fetch_beneficiary_key(
    engine: Engine, data_dir: Path, client: HubClient, report: SyncReport
) -> None:
    """A site the region made a distributor after its enrolment gets the key at its sync."""
    if load_beneficiary_key(data_dir) is not None:
        return
    document = client.get_beneficiary_key()
    if document is None:
        return
    attribution_sync.store_beneficiary_key(engine, data_dir, document)
    report.distributor_key_received = True


def _push_attributions(
    engine: Engine,
    data_dir: Path,
    client: HubClient,
    report: SyncReport,
    clock: Callable[[], datetime],
) -> None:
    for document in attribution_sync.pending_documents(engine, data_dir, clock()):
        attribution_sync.mark_sent(engine, document, clock())
        answer = client.post_attributions(document)
        summary = attribution_sync.apply_answer(engine, answer, clock(), document)
        report.attributions_accepted += summary.accepted
        report.attributions_refused += summary.refused
        report.attribution_refusals.extend(summary.messages)


def _push(
    engine: Engine,
    client: HubClient,
    report: SyncReport,
    clock: Callable[[], datetime],
    data_dir: Path | None,
) -> None:
    for info in batches.list_batches(engine, pending_only=True):
        document = batches.batch_document(engine, info.batch_id)
        # Signed with an earlier key (the site was enrolled again): the region may have it
        # from the lost laptop, as signed then; else it is signed again with today's key.
        stale = data_dir is not None and batches.signed_with_an_earlier_key(
            engine, data_dir, info.batch_id
        )
        ack = client.get_ack(info.batch_id) if info.sent_at is not None or stale else None
        if ack is None:
            if stale and data_dir is not None:
                document = batches.sign_again(engine, data_dir, info.batch_id, clock())
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
