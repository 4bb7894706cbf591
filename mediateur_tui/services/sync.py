"""Talking to the region: enrolment, synchronisation (replica and batches), replica files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlmodel import Session

from mediateur_tui.domain.clock import Clock, system_clock
from mediateur_tui.domain.signatures import key_fingerprint
from mediateur_tui.protocol.documents import dump_json
from mediateur_tui.protocol.formats import ENROLMENT
from mediateur_tui.store import queries
from mediateur_tui.sync import batches, client, enrolment, replica
from mediateur_tui.sync.client import Progress, SyncReport
from mediateur_tui.sync.enrolment import Enrolment
from mediateur_tui.sync.files import read_document_file
from mediateur_tui.sync.replica import ReplicaApplied
from mediateur_tui.sync.state import read_sync_state


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
        self.engine = engine
        self.data_dir = data_dir
        self.clock = clock
        self.transport = transport
        self.sleep = sleep

    def status(self) -> SyncStatus:
        with Session(self.engine) as session:
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
                last_sync_at=state.last_sync_at,
                last_error=state.last_error,
            )
        pending = len(batches.list_batches(self.engine, pending_only=True))
        return replace(status, pending_batches=pending)

    def enrol(self, hub_url: str, token: str) -> Enrolment:
        return enrolment.enrol(
            self.engine,
            self.data_dir,
            hub_url,
            token,
            self.clock(),
            transport=self.transport,
            sleep=self.sleep,
        )

    def write_enrolment_request(self, token: str, path: Path) -> Path:
        """Enrolment by USB key, step 1: the request file the region imports."""
        request = enrolment.enrolment_request(self.engine, self.data_dir, token)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(dump_json(request))
        return path

    def import_enrolment_answer(self, path: Path) -> Enrolment:
        """Enrolment by USB key, step 2: the region's signed answer file."""
        answer = read_document_file(path, ENROLMENT)
        return enrolment.apply_enrolment(self.engine, self.data_dir, answer, self.clock())

    def sync(self, progress: Progress | None = None) -> SyncReport:
        """Sends the attributions, pulls the replica and pushes the batches; errors are in
        the report (resumable)."""
        return client.synchronise(
            self.engine,
            self.clock,
            progress=progress,
            transport=self.transport,
            sleep=self.sleep,
            data_dir=self.data_dir,
        )

    def import_replica(self, path: Path, site_id: str | None = None) -> ReplicaApplied:
        """Imports a replica snapshot file (USB key)."""
        return replica.apply_snapshot(self.engine, replica.read_replica_file(path), site_id)
