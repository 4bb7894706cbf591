"""The engine's pragmas hold on every connection, and `writer` takes the write lock at BEGIN."""

from __future__ import annotations

import sqlite3
from contextlib import ExitStack

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from mediateur_tui.store.engine import make_engine, open_database, writer
from mediateur_tui.store.models import Operator
from mediateur_tui.store.sqlite_file import BUSY_TIMEOUT_MS

EXPECTED = {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1}


def _pragmas(connection) -> dict[str, object]:
    return {
        name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
        for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
    }


@pytest.mark.parametrize("opener", [make_engine, open_database], ids=["make_engine", "open"])
def test_every_new_connection_has_the_pragmas(db_path, opener):
    engine = opener(db_path)
    try:
        with ExitStack() as stack:
            # Several connections at once, so that the pool has to open new ones.
            connections = [stack.enter_context(engine.connect()) for _ in range(4)]
            connections.append(stack.enter_context(writer(engine).connect()))
            assert len({id(c.connection.dbapi_connection) for c in connections}) == 5
            for connection in connections:
                assert _pragmas(connection) == {**EXPECTED, "busy_timeout": BUSY_TIMEOUT_MS}
        engine.dispose()  # closes pooled connections: the next ones are brand new
        with engine.connect() as connection:
            assert _pragmas(connection) == {**EXPECTED, "busy_timeout": BUSY_TIMEOUT_MS}
    finally:
        engine.dispose()


def test_the_file_itself_is_in_wal_mode(db_path):
    open_database(db_path).dispose()
    connection = sqlite3.connect(db_path)  # a plain connection, no pragmas of ours
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        connection.close()


def test_foreign_keys_are_enforced(db_path):
    engine = open_database(db_path)
    try:
        with pytest.raises(Exception, match="FOREIGN KEY"), engine.begin() as connection:
            connection.execute(
                text("INSERT INTO carnet (id, programme_id, size) VALUES ('C1', 'NO-SUCH', 5)")
            )
    finally:
        engine.dispose()


def test_writer_takes_the_write_lock_at_begin(db_path):
    """A writer transaction that has only read so far already blocks other writers."""
    engine = open_database(db_path)
    other = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    try:
        with Session(writer(engine)) as session:
            session.exec(select(Operator)).all()  # a read only
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # released once the session ends
        other.execute("ROLLBACK")
        with Session(engine) as session:  # a plain session reads without the write lock
            session.exec(select(Operator)).all()
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
    finally:
        other.close()
        engine.dispose()
