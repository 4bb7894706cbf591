"""End-to-end fixtures: a region hub made with the `mediateur-hub` commands and served by a real
`mediateur-hub serve` process on 127.0.0.1 (SQLite, or PostgreSQL), and sites made with the
`mediateur-tui` commands in their own data directories.

The commands run in this process (their `main`, with the arguments a person would type); the
hub server is a separate process. A month can only be closed once it is over, so the sites
take passes in the PREVIOUS month, through the desk service with a fixed clock; the programme
is valid from the start of that month to well after today, because the hub (on its own real
clock) compares the day of each redemption with the programme's dates.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from hub.postgres import Cluster
from hub.server import HubProcess
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from mediateur_tui.cli import main as site_main
from mediateur_tui.domain.beneficiaries import Identity
from mediateur_tui.domain.clock import Clock, fixed_clock, system_clock
from mediateur_tui.domain.formatting import LOCAL_TZ, local_date
from mediateur_tui.domain.periods import period_bounds, previous_period
from mediateur_tui.domain.verdicts import CheckResult
from mediateur_tui.hub.cli import main as hub_main
from mediateur_tui.hub.database import make_engine, read_session
from mediateur_tui.hub.models import HubBatch, HubChange, HubLine, HubPass, hub_registry
from mediateur_tui.services.attribution import RequestForm
from mediateur_tui.services.auth import log_in
from mediateur_tui.services.desk import Desk
from mediateur_tui.services.month_end import MonthEnd
from mediateur_tui.services.sync import SiteSync
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.models import AckLine, Batch, Carnet, PassRecord, RemoteRedemption
from mediateur_tui.store.sync_state import read_sync_state

REGION_ID = "HDF"
PROGRAMME = "HDFNUM"
SITE_A, SITE_A_NAME = "AVESNES-EPN", "EPN d'Avesnes-sur-Helpe"
SITE_B, SITE_B_NAME = "FOURMIES-MEDIA", "Médiathèque de Fourmies"
SITE_C, SITE_C_NAME = "LILLE-TIERS-LIEU", "Tiers-lieu de Lille"

# The month the sites close: the one before today, in France.
PERIOD = previous_period(datetime.now(UTC))
PERIOD_START = local_date(period_bounds(PERIOD)[0])
VALID_UNTIL = local_date(datetime.now(UTC)) + timedelta(days=90)


def in_period(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of PERIOD, given in French time (as the médiateur's wall clock shows it)."""
    moment = datetime.combine(PERIOD_START.replace(day=day), time(hour, minute), tzinfo=LOCAL_TZ)
    return moment.astimezone(UTC)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every end-to-end test is `slow` (`-m "not slow"` leaves them out of a quick run)."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch, tmp_path):
    """No test reads or writes a real hub or data directory, or a PIN from the environment."""
    for name in ("MEDIATEUR_HUB_DIR", "MEDIATEUR_HUB_DB", "MEDIATEUR_DATA_DIR", "MEDIATEUR_PIN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


# --- a beneficiary, as a distributor's desk sees her ---------------------------------------

JEANNE = Identity("Dupont", "Jeanne", date(1958, 3, 14))


def request_for(identity: Identity, accompanied: bool) -> RequestForm:
    return RequestForm(
        identity=identity,
        received_on=local_date(datetime.now(UTC)),
        category="senior",
        postcode="59610",
        accompanied=accompanied,
        proofs=frozenset({"residence", "age_proof"}),
        proof_dates={},
    )


# --- running the commands -------------------------------------------------------------------


@dataclass(frozen=True)
class Output:
    code: int
    out: str
    err: str


@dataclass
class Console:
    """Runs a command's `main` in this process and returns its exit code and output."""

    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch

    def run(
        self,
        main: Callable[[list[str]], int],
        argv: list[str],
        pin: str | None,
        new_pin: str | None = None,
    ) -> Output:
        self.capsys.readouterr()  # what came before is not this command's output
        with self.monkeypatch.context() as patch:
            if pin is not None:
                patch.setenv("MEDIATEUR_PIN", pin)
            if new_pin is not None:
                patch.setenv("MEDIATEUR_NEW_PIN", new_pin)
            code = main(argv)
        out, err = self.capsys.readouterr()
        return Output(code, out, err)


@pytest.fixture
def console(capsys, monkeypatch) -> Console:
    return Console(capsys, monkeypatch)


# --- the region -----------------------------------------------------------------------------


@dataclass
class Region:
    """A hub directory (region key) and its database, driven by `mediateur-hub` commands."""

    folder: Path
    database_url: str
    console: Console
    servers: list[HubProcess] = field(default_factory=list)

    def hub(self, *args: str) -> Output:
        return self.console.run(
            hub_main, [*args, "--dir", str(self.folder), "--db", self.database_url], None
        )

    def ok(self, *args: str) -> str:
        result = self.hub(*args)
        assert result.code == 0, result.err
        return result.out

    def init(self) -> None:
        self.ok("init", "--region-id", REGION_ID)

    def issue(self, carnets: int, size: int = 5) -> dict[str, list[str]]:
        """Mints carnets of the programme; returns their codes (from the printer's CSV)."""
        return {
            carnet: [row["code"].replace("-", "") for row in rows]
            for carnet, rows in self.issue_printed(carnets, size).items()
        }

    def issue_printed(self, carnets: int, size: int = 5) -> dict[str, list[dict[str, str]]]:
        """Mints carnets of the programme; returns the printer's CSV rows (code, qr_payload…)
        of each carnet."""
        out = self.ok(
            "issue",
            "--programme",
            PROGRAMME,
            "--carnets",
            str(carnets),
            "--size",
            str(size),
            "--valid-from",
            PERIOD_START.isoformat(),
            "--valid-until",
            VALID_UNTIL.isoformat(),
        )
        found = re.search(r"Fichier pour l'imprimeur : (.+)$", out, re.MULTILINE)
        assert found, out
        printed: dict[str, list[dict[str, str]]] = {}
        with Path(found.group(1)).open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter=";"):
                printed.setdefault(row["carnet"], []).append(row)
        return printed

    def attribute(self, carnet: str, beneficiary: str) -> None:
        self.ok("attribute", carnet, "--beneficiary", beneficiary, "--on", PERIOD_START.isoformat())

    def enrol_site(self, site_id: str, name: str, distributor: bool = False) -> str:
        """A one-time enrolment token for the site (a distributor of carnets, or not)."""
        flags = ["--distributeur"] if distributor else []
        out = self.ok("enrol-site", "--site-id", site_id, "--name", name, "--no-qr", *flags)
        found = re.search(r"^ {4}(\S+)$", out, re.MULTILINE)
        assert found, out
        return found.group(1)

    def serve(self) -> HubProcess:
        server = HubProcess.start(self.folder, self.database_url)
        self.servers.append(server)
        return server

    @cached_property
    def engine(self) -> Engine:
        """The hub's database, for the test to look at (never to write)."""
        return make_engine(self.database_url)

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        if "engine" in self.__dict__:
            self.engine.dispose()

    # --- what the hub holds -------------------------------------------------------------------

    def line_ids(self) -> list[str]:
        """The redemption id of every line the hub keeps (one entry per stored line)."""
        with read_session(self.engine) as session:
            return list(session.exec(select(HubLine.redemption_id)).all())

    def batches(self) -> list[HubBatch]:
        with read_session(self.engine) as session:
            return list(session.exec(select(HubBatch)).all())

    def pass_codes(self) -> set[str]:
        with read_session(self.engine) as session:
            return set(session.exec(select(HubPass.code)).all())

    def changes(self) -> list[tuple[int, dict[str, Any]]]:
        """The change log: (sequence number, change), in order."""
        with read_session(self.engine) as session:
            rows = session.exec(select(HubChange.seq, HubChange.body).order_by(HubChange.seq))
            return [(seq, json.loads(body)) for seq, body in rows.all()]

    def table_counts(self) -> dict[str, int]:
        """Row count of every hub table: what "the database is untouched" compares."""
        with read_session(self.engine) as session:
            return {
                table.name: session.exec(select(func.count()).select_from(table)).one()
                for table in hub_registry.metadata.sorted_tables
            }


def _make_region(tmp_path: Path, console: Console, database_url: str | None) -> Region:
    folder = tmp_path / "region"
    url = database_url or f"sqlite:///{folder / 'hub.sqlite3'}"
    return Region(folder=folder, database_url=url, console=console)


@pytest.fixture
def region(tmp_path, console) -> Iterator[Region]:
    """An empty region on SQLite (not initialised yet)."""
    made = _make_region(tmp_path, console, None)
    yield made
    made.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_region(request, tmp_path, console) -> Iterator[Region]:
    """An empty region on SQLite, then on PostgreSQL."""
    url = None
    if request.param == "postgresql":
        cluster: Cluster = request.getfixturevalue("postgres_cluster")
        url = cluster.new_database()
    made = _make_region(tmp_path, console, url)
    yield made
    made.close()


# --- sites ----------------------------------------------------------------------------------


# The commands a responsable runs (--operator and the PIN); on a site with no account, anyone.
RESPONSABLE_COMMANDS = {
    ("close-month",),
    ("export-batch",),
    ("import-ack",),
    ("import-replica",),
    ("enrol",),
    ("operator", "add"),
    ("attribution", "export"),
    ("attribution", "import-answer"),
    ("attribution", "import-key"),
}
DEFAULT_RESPONSABLE = ("Karim Benali", "--role", "responsable")
DEFAULT_RESPONSABLE_PIN = "5678"


@dataclass
class SiteDir:
    """A site's data directory, driven by `mediateur-tui` commands and by its services."""

    data_dir: Path
    console: Console
    _engines: list[Engine] = field(default_factory=list)
    responsable: tuple[str, str] | None = None  # (name, PIN) of the site's first account

    def cli(self, *args: str, pin: str | None = None) -> Output:
        """Runs `mediateur-tui ARGS`. A responsable's command runs as the site's responsable
        (once it has one); `operator add … pin=P` gives the new account the PIN P."""
        argv, new_pin = [*args, "--data-dir", str(self.data_dir)], None
        if args[:2] == ("operator", "add"):
            new_pin, pin = pin, None
            if self.responsable is None and "responsable" not in args:
                self.ok("operator", "add", *DEFAULT_RESPONSABLE, pin=DEFAULT_RESPONSABLE_PIN)
        if self.responsable is not None and (
            args[:1] in RESPONSABLE_COMMANDS or args[:2] in RESPONSABLE_COMMANDS
        ):
            argv += ["--operator", self.responsable[0]]
            pin = pin or self.responsable[1]
        result = self.console.run(site_main, argv, pin, new_pin)
        if args[:2] == ("operator", "add") and "responsable" in args and result.code == 0:
            self.responsable = self.responsable or (args[2], new_pin or "")
        return result

    def ok(self, *args: str, pin: str | None = None) -> str:
        result = self.cli(*args, pin=pin)
        assert result.code == 0, result.out + result.err
        return result.out

    @property
    def engine(self) -> Engine:
        if not self._engines:
            self._engines.append(open_database(self.data_dir / "mediateur.sqlite3"))
        return self._engines[0]

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()

    # --- at the desk, at a given time ---------------------------------------------------------

    def redeem(self, operator: str, pin: str, codes: list[str], at: datetime) -> list[CheckResult]:
        """Logs in and takes `codes` in one new session, with the clock at `at`."""
        clock = fixed_clock(at)
        login = log_in(self.engine, operator, pin, clock=clock)
        assert login.ok, login.message
        assert login.operator is not None
        desk = Desk(self.engine, clock=clock)
        session = desk.start_session(
            login.operator.id, "Atelier démarches en ligne", "collectif", "messagerie", 120
        )
        results = [desk.redeem(session.id, login.operator.id, code) for code in codes]
        desk.end_session(session.id)
        return results

    def month_end(self, clock: Clock = system_clock) -> MonthEnd:
        return MonthEnd(self.engine, self.data_dir, clock=clock)

    def sync_service(self, sleeps: list[float] | None = None) -> SiteSync:
        """The sync service; its retries do not wait (their delays go to `sleeps`)."""
        recorded = sleeps if sleeps is not None else []
        return SiteSync(self.engine, self.data_dir, sleep=recorded.append)

    # --- what the site holds ------------------------------------------------------------------

    def cursor(self) -> int:
        with Session(self.engine) as session:
            return read_sync_state(session).replica_cursor

    def api_key(self) -> str:
        with Session(self.engine) as session:
            key = read_sync_state(session).api_key
        assert key
        return key

    def pass_codes(self) -> list[str]:
        with Session(self.engine) as session:
            return list(session.exec(select(PassRecord.code)).all())

    def carnet_count(self) -> int:
        with Session(self.engine) as session:
            return session.exec(select(func.count()).select_from(Carnet)).one()

    def remote_redemptions(self) -> dict[str, tuple[str, date]]:
        with Session(self.engine) as session:
            rows = session.exec(select(RemoteRedemption)).all()
            return {row.code: (row.site_id, row.redeemed_on) for row in rows}

    def batch(self, batch_id: str) -> Batch:
        with Session(self.engine) as session:
            row = session.get(Batch, batch_id)
        assert row is not None
        return row

    def ack_lines(self, batch_id: str) -> dict[str, AckLine]:
        """The stored verdicts of a batch, by code."""
        with Session(self.engine) as session:
            rows = session.exec(select(AckLine).where(AckLine.batch_id == batch_id)).all()
            return {row.code: row for row in rows}


@pytest.fixture
def make_site(tmp_path, console) -> Iterator[Callable[[str], SiteDir]]:
    """Makes site data directories (not created on disk: the first command does it)."""
    made: list[SiteDir] = []

    def make(name: str) -> SiteDir:
        site = SiteDir(tmp_path / "sites" / name, console)
        made.append(site)
        return site

    yield make
    for site in made:
        site.close()


def ack_document(site: SiteDir, batch_id: str) -> dict[str, Any]:
    document = site.batch(batch_id).ack_document
    assert document is not None
    return json.loads(document)
