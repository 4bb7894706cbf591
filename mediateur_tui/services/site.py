"""One site's services on its data directory: what the app and the command line open.

`open_site` opens (or, for a first start, creates) the site's database; a `Site` bundles every
service bound to it. Nothing above this layer sees the database, the files or the network.

The app opens with `open_site_for_app`: a database of the current schema is checked on a raw
connection and its services (SQLAlchemy, SQLModel and the tables: about half the start-up) are
loaded at the first one used. What the log-in screen reads (`setup_state`, `operators`) needs
none of them; the app loads them in a thread worker once that screen is up (`load`), while the
PIN is typed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from mediateur_tui.domain.clock import Clock, system_clock
from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.verdicts import DEFAULT_MAX_REPLICA_AGE
from mediateur_tui.services.checking import no_database, no_replica
from mediateur_tui.services.operators import OperatorInfo, read_operators
from mediateur_tui.services.preferences import SitePreferences
from mediateur_tui.services.setup import SetupState, setup_state
from mediateur_tui.store.errors import DatabaseDamaged
from mediateur_tui.store.sqlite_file import database_path, opens_as_it_is

if TYPE_CHECKING:
    import httpx
    from sqlalchemy import Engine

    from mediateur_tui.services import doctor, merge
    from mediateur_tui.services.activity_export import ActivityExport
    from mediateur_tui.services.activity_report import ActivityReports
    from mediateur_tui.services.attribution import AttributionDesk
    from mediateur_tui.services.auth import Accounts
    from mediateur_tui.services.backup import Backups
    from mediateur_tui.services.dashboard import HomeView
    from mediateur_tui.services.desk import Desk
    from mediateur_tui.services.history import History
    from mediateur_tui.services.month_end import MonthEnd
    from mediateur_tui.services.sync import SiteSync


@dataclass(frozen=True)
class AuditCheck:
    events: int  # events checked (up to the first break)
    broken_at: int | None  # the id of the first broken event, or None when intact


@dataclass(frozen=True)
class _Services:
    """The services on the ORM's engine, made together at the first one asked for."""

    engine: Engine
    desk: Desk
    accounts: Accounts
    history: History
    activity: ActivityExport
    activity_report: ActivityReports
    month_end: MonthEnd
    sync: SiteSync
    backups: Backups


class Site:
    """Every service of one site. `engine`: the site's database opened by `open_database`, or
    None to open it at the first service used. `transport` and `sleep` are for tests (see
    SiteSync)."""

    def __init__(
        self,
        engine: Engine | None,
        data_dir: Path,
        clock: Clock = system_clock,
        max_replica_age: timedelta = DEFAULT_MAX_REPLICA_AGE,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.clock = clock
        self.max_replica_age = max_replica_age
        self.preferences = SitePreferences(data_dir)
        self._database = database_path(data_dir)
        self._engine = engine
        self._transport = transport
        self._sleep = sleep
        self._services: _Services | None = None
        self._loading = threading.Lock()
        self._closed = False

    def load(self) -> None:
        """Loads the ORM and the services (about 300 ms of imports): from a thread worker."""
        self._loaded()

    def _loaded(self) -> _Services:
        with self._loading:
            if self._closed:  # a worker still running as the app quits: never reopen
                raise UserError("Les données du lieu sont fermées : relancez l'application.")
            if self._services is None:
                self._services = self._make_services()
            return self._services

    def _make_services(self) -> _Services:
        from mediateur_tui.services.activity_export import ActivityExport
        from mediateur_tui.services.activity_report import ActivityReports
        from mediateur_tui.services.auth import Accounts
        from mediateur_tui.services.backup import Backups
        from mediateur_tui.services.desk import Desk
        from mediateur_tui.services.history import History
        from mediateur_tui.services.month_end import MonthEnd
        from mediateur_tui.services.sync import SiteSync
        from mediateur_tui.store.engine import open_database

        engine = self._engine if self._engine is not None else open_database(self._database)
        data_dir, clock = self.data_dir, self.clock
        return _Services(
            engine=engine,
            desk=Desk(engine, clock, self.max_replica_age),
            accounts=Accounts(engine, clock),
            history=History(engine, data_dir, clock),
            activity=ActivityExport(engine),
            activity_report=ActivityReports(engine, clock),
            month_end=MonthEnd(engine, data_dir, clock),
            sync=SiteSync(engine, data_dir, clock, transport=self._transport, sleep=self._sleep),
            backups=Backups(engine, data_dir, clock),
        )

    @property
    def desk(self) -> Desk:
        return self._loaded().desk

    @property
    def accounts(self) -> Accounts:
        return self._loaded().accounts

    @property
    def history(self) -> History:
        return self._loaded().history

    @property
    def activity(self) -> ActivityExport:
        return self._loaded().activity

    @property
    def activity_report(self) -> ActivityReports:
        return self._loaded().activity_report

    @property
    def month_end(self) -> MonthEnd:
        return self._loaded().month_end

    @property
    def sync(self) -> SiteSync:
        return self._loaded().sync

    @property
    def backups(self) -> Backups:
        return self._loaded().backups

    def setup_state(self) -> SetupState:
        """What the data directory still needs before the desk can open (without the ORM)."""
        return setup_state(self._database)

    def operators(self) -> list[OperatorInfo]:
        """The accounts that can log in, by name (without the ORM)."""
        return read_operators(self._database)

    def has_replica(self) -> bool:
        return self.setup_state().has_replica

    def require_replica(self) -> Site:
        """This site, once it holds a replica of the registry (else a UserError)."""
        if not self.has_replica():
            raise no_replica(self.data_dir)
        return self

    def home(self, operator_id: int) -> HomeView:
        """Everything the home screen shows, for the operator logged in."""
        from mediateur_tui.services.attribution import unsent_count
        from mediateur_tui.services.dashboard import HomeView, home_stats

        engine = self._loaded().engine
        return HomeView(
            stats=home_stats(engine, self.clock),
            sync=self.sync.status(),
            open_session=self.desk.open_session(operator_id),
            unsent_attributions=unsent_count(engine),
            backup=self.backups.status(),
            distributor=self.attribution_desk().unavailable_reason() is None,
        )

    def attribution_desk(self) -> AttributionDesk:
        """The distributor's desk; it reads the rule files: call it from a thread worker."""
        from mediateur_tui.services.attribution import AttributionDesk

        return AttributionDesk(self._loaded().engine, self.data_dir, self.clock)

    def integrity_problems(self) -> list[str]:
        """What `PRAGMA integrity_check` finds in the database file (empty: intact)."""
        from mediateur_tui.store.engine import integrity_problems

        return integrity_problems(self._loaded().engine)

    def verify_audit(self) -> AuditCheck:
        """Checks the hash chain of the audit log."""
        from sqlmodel import Session

        from mediateur_tui.store.audit import verify_chain

        with Session(self._loaded().engine) as session:
            count, broken = verify_chain(session)
        return AuditCheck(count, broken)

    def examine(self) -> doctor.Diagnosis:
        """What `mediateur-tui doctor` finds (the whole file is read: a few seconds)."""
        from mediateur_tui.services import doctor

        return doctor.examine(self._loaded().engine, self._database)

    def repair(self) -> doctor.Repair:
        from mediateur_tui.services import doctor

        return doctor.repair(self._loaded().engine, self._database)

    def merge_backup(self, path: Path) -> merge.MergeReport:
        """Adds what the backup `path` holds and this site lacks (services/merge.py)."""
        from mediateur_tui.services import merge

        return merge.merge_backup(self._loaded().engine, self.data_dir, path, self.clock())

    def close(self) -> None:
        with self._loading:
            services, self._services = self._services, None
            self._closed = True
        if services is not None:
            services.desk.close()
            services.engine.dispose()
        elif self._engine is not None:
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
    from mediateur_tui.store.engine import open_database

    path = database_path(data_dir)
    if not create and not path.exists():
        raise no_database(data_dir)
    return Site(open_database(path, repairing), data_dir, max_replica_age=max_replica_age)


def open_site_for_app(
    data_dir: Path, *, create: bool = False, max_replica_age: timedelta = DEFAULT_MAX_REPLICA_AGE
) -> Site:
    """The site of `data_dir` as `open_site` opens it, but without the ORM when its database
    is there with the current schema (checked on a raw connection: the file, its schema, its
    last transactions); a new site, or one to migrate, is opened by `open_site`."""
    path = database_path(data_dir)
    if path.exists() and opens_as_it_is(path):
        return Site(None, data_dir, max_replica_age=max_replica_age)
    return open_site(data_dir, create=create, max_replica_age=max_replica_age)


def examine_site(data_dir: Path) -> tuple[Site | None, doctor.Diagnosis]:
    """`doctor`'s view of `data_dir`: the site opened for repair and what it finds, or no
    site at all when the file is too damaged to open (then only a backup helps)."""
    from mediateur_tui.services import doctor

    try:
        site = open_site(data_dir, repairing=True)
    except DatabaseDamaged as error:
        return None, doctor.unopenable(error)
    return site, site.examine()


def has_database(data_dir: Path) -> bool:
    """Whether `data_dir` holds a site's database (an enrolled or demo site)."""
    return database_path(data_dir).exists()
