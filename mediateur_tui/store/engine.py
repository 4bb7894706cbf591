"""The SQLite engine: WAL, synchronous=FULL (money is at stake), foreign keys, and migrations.

A damaged file is refused before the first write of a process (`PRAGMA quick_check`, once per
database and process), and every SQLite error the engine meets is said in French (store/errors.py):
busy (after waiting BUSY_TIMEOUT_MS for the other writer), disk full, damaged file, disk error.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, ExceptionContext
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import OperationalError

from mediateur_tui.store.errors import (
    TailLost,
    short_problem,
)
from mediateur_tui.store.journal import JOURNAL_OPTION
from mediateur_tui.store.journal_file import journal_path
from mediateur_tui.store.sqlite_file import (
    BUSY_TIMEOUT_MS,
    SCHEMA_REVISION,
    check_before_first_write,
    check_file,
    lost_its_tail,
    opened,
    owner_only,
    set_pragmas,
    store_error,
)

if TYPE_CHECKING:
    from alembic.config import Config

_MIGRATIONS = Path(__file__).parent / "migrations"


def database_url(path: Path) -> URL:
    """The SQLAlchemy URL of the file `path`, built rather than parsed: a folder's name may
    hold « ? » or « # »."""
    return URL.create("sqlite", database=str(path))


def database_file(engine: Engine) -> Path:
    """The SQLite file of an engine of make_engine."""
    return Path(str(engine.url.database))


def make_engine(path: Path) -> Engine:
    """An engine on the SQLite file `path`, with the pragmas every connection needs."""
    opened(path)
    engine = create_engine(
        database_url(path),
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000},
        execution_options={JOURNAL_OPTION: str(journal_path(path))},
    )
    event.listen(engine, "connect", _set_pragmas)
    event.listen(engine, "begin", _begin)
    event.listen(engine, "handle_error", _said_in_french)
    return engine


def writer(engine: Engine) -> Engine:
    """The same engine, but its transactions take the write lock at BEGIN (BEGIN IMMEDIATE).

    Use it for read-then-write transactions (a redemption, the audit chain) so that two
    processes cannot both read the same state and then both write.
    """
    return engine.execution_options(sqlite_immediate=True)


def _begin(connection: Connection) -> None:
    # pysqlite's own transaction handling is switched off in _set_pragmas; we issue BEGIN.
    immediate = connection.get_execution_options().get("sqlite_immediate", False)
    if immediate:
        _check_once(connection)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _check_once(connection: Connection) -> None:
    """Before this process writes to a database for the first time: is the file sound?"""
    raw = connection.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)  # the pysqlite driver's
    check_before_first_write(raw, database_file(connection.engine))


def _said_in_french(context: ExceptionContext) -> None:
    """Raises the French StoreError of a SQLite error (the others go on as they are)."""
    error = context.original_exception
    if not isinstance(error, sqlite3.Error) or isinstance(error, sqlite3.IntegrityError):
        return
    path = Path(str(context.engine.url.database)) if context.engine else Path("?")
    french = store_error(path, error)
    if french is not None:
        raise french from error


def integrity_problems(engine: Engine) -> list[str]:
    """Every problem `PRAGMA integrity_check` finds (empty when the file is sound)."""
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("PRAGMA integrity_check").fetchall()
    problems = [str(row[0]) for row in rows]
    return [] if problems == ["ok"] else [short_problem(problem) for problem in problems]


def _set_pragmas(dbapi_connection: DBAPIConnection, _record: object) -> None:
    assert isinstance(dbapi_connection, sqlite3.Connection)  # the pysqlite driver's
    set_pragmas(dbapi_connection)


def behind_its_journal(engine: Engine) -> bool:
    """Whether the database lacks the last audit event of its journal (store/sqlite_file.py)."""
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        return lost_its_tail(raw, database_file(engine))


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Brings the schema to `revision` (the latest by default)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision, or None for a new (or pre-Alembic) file."""
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except OperationalError:
        return None


def open_database(path: Path, repairing: bool = False) -> Engine:
    """Opens (creating if needed) the database file and migrates it to the latest schema.

    A file that lost its last transactions is refused (TailLost), unless `repairing` (doctor,
    which writes them back)."""
    check_file(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    owner_only(path)
    engine = make_engine(path)
    if current_revision(engine) != SCHEMA_REVISION:
        upgrade(engine)
    if not repairing and behind_its_journal(engine):
        engine.dispose()
        raise TailLost(path)
    return engine
