"""One site's services on its data directory: what the app and the command line open.

`open_site` opens (or, for a first start, creates) the site's database; a `Site` bundles every
service bound to it. Nothing above this layer sees the database, the files or the network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlmodel import Session

from mediateur_tui.domain.clock import Clock, system_clock
from mediateur_tui.domain.verdicts import DEFAULT_MAX_REPLICA_AGE
from mediateur_tui.services import doctor, merge
from mediateur_tui.services.activity_export import ActivityExport
from mediateur_tui.services.activity_report import ActivityReports
from mediateur_tui.services.attribution import AttributionDesk, unsent_count
from mediateur_tui.services.auth import Accounts
from mediateur_tui.services.backup import Backups
from mediateur_tui.services.checking import no_database, no_replica
from mediateur_tui.services.dashboard import HomeView, home_stats
from mediateur_tui.services.desk import Desk
from mediateur_tui.services.history import History
from mediateur_tui.services.month_end import MonthEnd
from mediateur_tui.services.preferences import SitePreferences
from mediateur_tui.services.setup import SetupState, setup_state
from mediateur_tui.services.sync import SiteSync
from mediateur_tui.store.audit import verify_chain
from mediateur_tui.store.engine import integrity_problems, open_database
from mediateur_tui.store.errors import DatabaseDamaged
from mediateur_tui.store.queries import replica_meta
from mediateur_tui.store.sqlite_file import database_path

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class AuditCheck:
    events: int  # events checked (up to the first break)
    broken_at: int | None  # the id of the first broken event, or None when intact


class Site:
    """Every service of one site. `transport` and `sleep` are for tests (see SiteSync)."""

    def __init__(
        self,
        engine: Engine,
        data_dir: Path,
        clock: Clock = system_clock,
        max_replica_age: timedelta = DEFAULT_MAX_REPLICA_AGE,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._engine = engine
        self.data_dir = data_dir
        self.clock = clock
        self.desk = Desk(engine, clock, max_replica_age)
        self.accounts = Accounts(engine, clock)
        self.history = History(engine, data_dir, clock)
        self.activity = ActivityExport(engine)
        self.activity_report = ActivityReports(engine, clock)
        self.month_end = MonthEnd(engine, data_dir, clock)
        self.sync = SiteSync(engine, data_dir, clock, transport=transport, sleep=sleep)
        self.backups = Backups(engine, data_dir, clock)
        self.preferences = SitePreferences(data_dir)

    def setup_state(self) -> SetupState:
        """What the data directory still needs before the desk can open."""
        return setup_state(self._engine)

    def has_replica(self) -> bool:
        with Session(self._engine) as session:
            return replica_meta(session) is not None

    def require_replica(self) -> Site:
        """This site, once it holds a replica of the registry (else a UserError)."""
        if not self.has_replica():
            raise no_replica(self.data_dir)
        return self

    def home(self, operator_id: int) -> HomeView:
        """Everything the home screen shows, for the operator logged in."""
        return HomeView(
            stats=home_stats(self._engine, self.clock),
            sync=self.sync.status(),
            open_session=self.desk.open_session(operator_id),
            unsent_attributions=unsent_count(self._engine),
            backup=self.backups.status(),
            distributor=self.attribution_desk().unavailable_reason() is None,
        )

    def attribution_desk(self) -> AttributionDesk:
        """The distributor's desk; it reads the rule files: call it from a thread worker."""
        return AttributionDesk(self._engine, self.data_dir, self.clock)

    def integrity_problems(self) -> list[str]:
        """What `PRAGMA integrity_check` finds in the database file (empty: intact)."""
        return integrity_problems(self._engine)

    def verify_audit(self) -> AuditCheck:
        """Checks the hash chain of the audit log."""
        with Session(self._engine) as session:
            count, broken = verify_chain(session)
        return AuditCheck(count, broken)

    def examine(self) -> doctor.Diagnosis:
        """What `mediateur-tui doctor` finds (the whole file is read: a few seconds)."""
        return doctor.examine(self._engine, database_path(self.data_dir))

    def repair(self) -> doctor.Repair:
        return doctor.repair(self._engine, database_path(self.data_dir))

    def merge_backup(self, path: Path) -> merge.MergeReport:
        """Adds what the backup `path` holds and this site lacks (services/merge.py)."""
        return merge.merge_backup(self._engine, self.data_dir, path, self.clock())

    def close(self) -> None:
        self.desk.close()
        self._engine.dispose()


def open_site(
    data_dir: Path,
    *,
    create: bool = False,
    max_replica_age: timedelta = DEFAULT_MAX_REPLICA_AGE,
    repairing: bool = False,
) -> Site:
    """The site of `data_dir`. Without `create`, its database must exist already (a mistyped
    --data-dir must not make a new, empty site). A database that lost its last transactions
    opens only for `repairing` (doctor)."""
    path = database_path(data_dir)
    if not create and not path.exists():
        raise no_database(data_dir)
    return Site(open_database(path, repairing), data_dir, max_replica_age=max_replica_age)


def examine_site(data_dir: Path) -> tuple[Site | None, doctor.Diagnosis]:
    """`doctor`'s view of `data_dir`: the site opened for repair and what it finds, or no
    site at all when the file is too damaged to open (then only a backup helps)."""
    try:
        site = open_site(data_dir, repairing=True)
    except DatabaseDamaged as error:
        return None, doctor.unopenable(error)
    return site, site.examine()


def has_database(data_dir: Path) -> bool:
    """Whether `data_dir` holds a site's database (an enrolled or demo site)."""
    return database_path(data_dir).exists()
