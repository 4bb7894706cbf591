"""The SQLite engine: WAL, synchronous=FULL (money is at stake), foreign keys, and migrations."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import OperationalError

if TYPE_CHECKING:
    from alembic.config import Config

DATABASE_FILENAME = "mediateur.sqlite3"
# The newest migration. A test checks it is Alembic's head; a database already there opens
# without loading Alembic, which saves a third of the start-up time.
SCHEMA_REVISION = "0003"
_MIGRATIONS = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_MS = 10_000


def database_path(data_dir: Path) -> Path:
    return data_dir / DATABASE_FILENAME


def database_url(path: Path) -> str:
    return f"sqlite:///{path}"


def make_engine(path: Path) -> Engine:
    """An engine on the SQLite file `path`, with the pragmas every connection needs."""
    engine = create_engine(database_url(path), connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _set_pragmas)
    event.listen(engine, "begin", _begin)
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
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _set_pragmas(dbapi_connection: DBAPIConnection, _record: object) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


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


def open_database(path: Path) -> Engine:
    """Opens (creating if needed) the database file and migrates it to the latest schema."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(path)
    if current_revision(engine) != SCHEMA_REVISION:
        upgrade(engine)
    return engine
