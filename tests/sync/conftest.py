"""Fixtures for the site side of the sync protocol: real SQLite files in tmp_path."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.domain.pins import hash_pin
from mediateur_tui.services.auth import create_operator
from mediateur_tui.services.desk import Desk
from mediateur_tui.services.replica import apply_snapshot
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.keys import load_or_create_site_key
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME
from mediateur_tui.store.sync_state import sync_state

from .region import SITE_ID, Region

# The site's clock in these tests: 10 March 2026 (the replica was generated on 1 March).
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
OPERATOR, PIN = "Camille Martin", "1234"


@pytest.fixture
def region() -> Region:
    region = Region()
    region.standard()
    return region


@dataclass
class Site:
    """A site's data directory: database, site key, one operator."""

    data_dir: Path
    engine: Engine
    operator_id: int

    @property
    def path(self) -> Path:
        return self.data_dir / DATABASE_FILENAME

    def desk(self, moment: datetime = NOW) -> Desk:
        return Desk(self.engine, clock=fixed_clock(moment))

    def session(self, moment: datetime = NOW, title: str = "Atelier courriel") -> int:
        return self.desk(moment).start_session(self.operator_id, title, "collectif", "", 120).id

    def redeem(self, text: str, moment: datetime, session_id: int | None = None):
        session_id = session_id or self.session(moment)
        return self.desk(moment).redeem(session_id, self.operator_id, text)

    def set_enrolment(self, hub_url: str | None, api_key: str = "cle-api") -> None:
        """Records an enrolment with `hub_url` as `enrol` would (without the network)."""
        with Session(self.engine) as session:
            state = sync_state(session)
            state.hub_url, state.api_key, state.enrolled_at = hub_url, api_key, NOW
            session.add(state)
            session.commit()

    def dump(self) -> dict[str, list[tuple]]:
        """Every row of every table (but the migration version), to compare states."""
        with self.engine.connect() as connection:
            tables = [
                row[0]
                for row in connection.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                )
                if row[0] != "alembic_version"
            ]
            return {
                table: sorted(connection.execute(text(f'SELECT * FROM "{table}"')).all(), key=repr)
                for table in tables
            }


def make_site(
    data_dir: Path, region: Region, site_id: str = SITE_ID, with_operator: bool = True
) -> Site:
    """A site that imported the region's snapshot (trusting its key) and has a site key, and
    (`with_operator`) an account, OPERATOR (operator_id 0 without one)."""
    engine = open_database(data_dir / DATABASE_FILENAME)
    apply_snapshot(engine, region.snapshot(), site_id)
    load_or_create_site_key(data_dir)
    if not with_operator:
        return Site(data_dir=data_dir, engine=engine, operator_id=0)
    with Session(engine) as session:
        operator = create_operator(session, OPERATOR, "responsable", hash_pin(PIN))
        session.commit()
        operator_id = operator.id
    return Site(data_dir=data_dir, engine=engine, operator_id=operator_id)


@pytest.fixture
def site(tmp_path, region) -> Site:
    """A site with a replica of 3 carnets (30 passes) of the standard region."""
    for _ in range(3):
        region.carnet()
    site = make_site(tmp_path / "site", region)
    yield site
    site.engine.dispose()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / DATABASE_FILENAME
