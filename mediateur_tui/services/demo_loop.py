"""The site side of the demo with its region (`mediateur-tui --demo`): the demo sites enrol
with the demo hub over HTTP and take their passes through the same services as a real site,
each step at the moment it is dated. The region side is mediateur_tui/demo_region."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.domain.errors import UserError
from mediateur_tui.services.auth import add_operator
from mediateur_tui.services.desk import Desk
from mediateur_tui.services.month_end import MonthEnd
from mediateur_tui.services.sync import SiteSync
from mediateur_tui.store.engine import open_database, writer
from mediateur_tui.store.models import Operator, SyncState
from mediateur_tui.store.sqlite_file import database_path


class DemoStepFailed(UserError):
    """A step of the demo's making went otherwise than planned (a defect, said in French)."""


@contextmanager
def _engine_of(data_dir: Path) -> Iterator[Engine]:
    engine = open_database(database_path(data_dir))
    try:
        yield engine
    finally:
        engine.dispose()


def enrol(data_dir: Path, hub_url: str, token: str, now: datetime) -> None:
    """Enrols the site of `data_dir` (created if needed) and pulls its first replica."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _engine_of(data_dir) as engine:
        SiteSync(engine, data_dir, fixed_clock(now)).enrol(hub_url, token)
    sync(data_dir, now)


def add_operators(data_dir: Path, operators: list[tuple[str, str, str]]) -> None:
    """(name, PIN, role) accounts, as the responsable would create them."""
    with _engine_of(data_dir) as engine:
        for name, pin, role in operators:
            add_operator(engine, name, role, pin)


def sync(data_dir: Path, now: datetime) -> None:
    """Declares, remits and pulls as the app's `s` does, at `now`."""
    with _engine_of(data_dir) as engine:
        report = SiteSync(engine, data_dir, fixed_clock(now)).sync()
    if not report.ok:
        raise DemoStepFailed("Démo : synchronisation refusée — " + " ".join(report.errors))


def take(
    data_dir: Path, operator_name: str, moment: datetime, title: str, kind: str, codes: list[str]
) -> None:
    """One session at `moment` by the operator named, taking `codes` two minutes apart; each
    must be accepted."""
    with _engine_of(data_dir) as engine:
        with Session(engine) as session:
            operator = session.exec(select(Operator).where(Operator.name == operator_name)).one()
        operator_id = operator.id
        assert operator_id is not None  # a stored row
        desk = Desk(engine, fixed_clock(moment))
        session_id = desk.start_session(operator_id, title, kind, "", 90).id
        for step, code in enumerate(codes):
            at = moment + timedelta(minutes=2 * step)
            result = Desk(engine, fixed_clock(at)).redeem(session_id, operator_id, code)
            if not result.redeemable:
                raise DemoStepFailed(f"Démo : pass {code} refusé ({result.message})")
        Desk(engine, fixed_clock(moment + timedelta(minutes=90))).end_session(session_id)


def close_month(data_dir: Path, period: str, now: datetime) -> None:
    with _engine_of(data_dir) as engine:
        MonthEnd(engine, data_dir, fixed_clock(now)).close_month(period)


def point_at_hub(data_dir: Path, hub_url: str) -> None:
    """The demo hub listens on a port of its own each run: the demo site is told which."""
    with _engine_of(data_dir) as engine, Session(writer(engine)) as session:
        state = session.get(SyncState, 1)
        if state is None or state.enrolled_at is None:
            raise DemoStepFailed("Démo : le lieu de démonstration n'est pas inscrit.")
        state.hub_url = hub_url
        session.add(state)
        session.commit()
