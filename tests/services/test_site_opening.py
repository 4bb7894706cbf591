"""How the app opens its site (services/site.py:open_site_for_app): a database of the current
schema is checked on a raw connection and its services load later; a database to migrate, a
new one or a damaged one goes the way open_site goes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mediateur_tui.domain.errors import UserError
from mediateur_tui.services.setup import SetupState
from mediateur_tui.services.site import open_site_for_app
from mediateur_tui.store.engine import make_engine, upgrade
from mediateur_tui.store.errors import DatabaseDamaged, TailLost
from mediateur_tui.store.journal_file import Entry, append, journal_path
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME, SCHEMA_REVISION


def revision(data_dir: Path) -> str:
    with sqlite3.connect(data_dir / DATABASE_FILENAME) as connection:
        return str(connection.execute("SELECT version_num FROM alembic_version").fetchone()[0])


def test_the_log_in_reads_then_the_services_load_and_log_in(demo_db):
    data_dir = demo_db.path.parent
    site = open_site_for_app(data_dir)
    try:
        assert site.setup_state() == SetupState(has_replica=True, has_operators=True)
        names = [operator.name for operator in site.operators()]
        assert names == sorted(names) and demo_db.operator.name in names
        site.load()
        result = site.accounts.log_in(demo_db.operator.name, demo_db.pin)
        assert result.operator == demo_db.operator
    finally:
        site.close()


def test_a_database_of_an_older_schema_is_migrated(tmp_path):
    engine = make_engine(tmp_path / DATABASE_FILENAME)
    upgrade(engine, "0009")
    engine.dispose()
    assert revision(tmp_path) == "0009"
    open_site_for_app(tmp_path).close()
    assert revision(tmp_path) == SCHEMA_REVISION


def test_a_database_that_lost_its_last_transactions_is_refused(demo_db):
    """Its journal holds an audit event it lacks (its -wal file lost): doctor --repair."""
    lost = {"table": "audit_event", "values": {"id": 999_999, "hash": "x"}}
    append(journal_path(demo_db.path), Entry([lost], []))
    with pytest.raises(TailLost, match="doctor --repair"):
        open_site_for_app(demo_db.path.parent)


def test_a_new_site_is_created_only_when_asked(tmp_path):
    with pytest.raises(UserError, match="Aucune base de données"):
        open_site_for_app(tmp_path / "lieu")
    site = open_site_for_app(tmp_path / "lieu", create=True)
    try:
        assert site.setup_state() == SetupState(has_replica=False, has_operators=False)
    finally:
        site.close()


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (
            b"SQLite format 3\x00" + b"\x01" * 5000,
            "le fichier n'est pas une base de données lisible",
        ),
        (b"bonjour " * 100, "ce n'est pas une base SQLite"),
    ],
)
def test_a_damaged_file_is_refused_in_french(tmp_path, content, said):
    (tmp_path / DATABASE_FILENAME).write_bytes(content)
    with pytest.raises(DatabaseDamaged, match="est endommagée") as refused:
        open_site_for_app(tmp_path)
    assert said in str(refused.value)
