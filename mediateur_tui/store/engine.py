"""The SQLite engine: WAL, synchronous=FULL (money is at stake), foreign keys, and migrations.

A damaged file is refused before the first write of a process (`PRAGMA quick_check`, once per
database and process), and every SQLite error the engine meets is said in French (store/errors.py):
busy (after waiting BUSY_TIMEOUT_MS for the other writer), disk full, damaged file, disk error.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.engine.interfaces import DBAPIConnection, DBAPICursor
from sqlalchemy.exc import OperationalError

from mediateur_tui.protocol.files import create_private, keep_private
from mediateur_tui.store import journal_file
from mediateur_tui.store.errors import (
    DatabaseBusy,
    DatabaseDamaged,
    DiskError,
    DiskFull,
    StoreError,
    TailLost,
    short_problem,
)
from mediateur_tui.store.journal import JOURNAL_OPTION
from mediateur_tui.store.journal_file import journal_path

if TYPE_CHECKING:
    from alembic.config import Config

DATABASE_FILENAME = "mediateur.sqlite3"
# The newest migration. A test checks it is Alembic's head; a database already there opens
# without loading Alembic, which saves a third of the start-up time.
SCHEMA_REVISION = "0007"
_MIGRATIONS = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_MS = 10_000
SQLITE_HEADER = b"SQLite format 3\x00"
NO_ROOM_BYTES = 256 * 1024  # less than this free, and an I/O error is a full disk
_checked: set[str] = set()  # databases that passed quick_check in this process
_opened: set[str] = set()  # databases SQLite has opened in this process


def database_path(data_dir: Path) -> Path:
    return data_dir / DATABASE_FILENAME


def database_url(path: Path) -> str:
    return f"sqlite:///{path}"


def make_engine(path: Path) -> Engine:
    """An engine on the SQLite file `path`, with the pragmas every connection needs."""
    _opened.add(str(path.absolute()))
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
    path = str(connection.engine.url.database)
    if path in _checked:
        return
    problems = [row[0] for row in connection.exec_driver_sql("PRAGMA quick_check").fetchall()]
    if problems != ["ok"]:
        raise DatabaseDamaged(Path(path), problems[0])
    _checked.add(path)


def behind_its_journal(engine: Engine) -> bool:
    """Whether the database lacks the last audit event of its journal (its last transactions were
    lost). The journal is read first: a line is appended after its commit, so whatever the
    journal holds when it is read, a sound database holds too, whoever writes meanwhile."""
    target = journal_path(Path(str(engine.url.database)))
    event_id = journal_file.last_event_id(target)
    if event_id is None:
        return False
    with engine.connect() as connection:
        stored = connection.exec_driver_sql(
            "SELECT hash FROM audit_event WHERE id = ?", (event_id,)
        ).scalar()
    return stored is None  # a different event there: `audit verify` and `doctor` say so


def _said_in_french(context: ExceptionContext) -> None:
    """Raises the French StoreError of a SQLite error (the others go on as they are)."""
    error = context.original_exception
    if not isinstance(error, sqlite3.Error) or isinstance(error, sqlite3.IntegrityError):
        return
    path = Path(str(context.engine.url.database)) if context.engine else Path("?")
    french = store_error(path, error)
    if french is not None:
        raise french from error


def store_error(path: Path, error: sqlite3.Error) -> StoreError | None:
    """The French StoreError of a SQLite error on the file `path`, if it is one of them."""
    name = getattr(error, "sqlite_errorname", "")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return DatabaseBusy(path, BUSY_TIMEOUT_MS / 1000)
    if name == "SQLITE_FULL" or (name.startswith("SQLITE_IOERR") and _no_room_left(path)):
        return DiskFull(path)
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return DatabaseDamaged(path, str(error))
    if name.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM")):
        return DiskError(path, str(error))
    return None


def _no_room_left(path: Path) -> bool:
    """Whether the disk of `path` is full: some file systems (tmpfs, some USB keys) make
    SQLite say "disk I/O error" rather than "database or disk is full"."""
    try:
        usage = os.statvfs(path.parent)
    except OSError:
        return False
    return usage.f_bavail * usage.f_frsize < NO_ROOM_BYTES


def check_file(path: Path) -> None:
    """Refuses a database file that cannot be the site's: not SQLite, or empty (with no
    write-ahead log) when its journal shows the site recorded things.

    Only before SQLite opens the file in this process: closing any other descriptor of the
    file would drop the POSIX locks SQLite holds on it, and another process could then
    checkpoint and cut the write-ahead log under this one's feet."""
    if str(path.absolute()) in _opened:
        return
    try:
        with path.open("rb") as stream:
            header = stream.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as error:
        raise DiskError(path, error.strerror or str(error)) from error
    if not header and not _has_content(Path(f"{path}-wal")):
        if _has_content(journal_path(path)):
            raise DatabaseDamaged(path, "fichier vide, alors que le journal du lieu n'est pas vide")
        return
    if header and header != SQLITE_HEADER:
        raise DatabaseDamaged(path, "ce n'est pas une base SQLite")


def _owner_only(path: Path) -> None:
    """The database holds the site's access key and the PIN hashes, its journal the same
    rows: mode 0600. A new database is created so (SQLite gives its -wal and -shm files the
    mode of the database); an existing one, copied by hand, is set back to it."""
    create_private(path)
    for file in (Path(f"{path}-wal"), Path(f"{path}-shm"), journal_path(path)):
        keep_private(file)


def _has_content(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except FileNotFoundError:
        return False


def integrity_problems(engine: Engine) -> list[str]:
    """Every problem `PRAGMA integrity_check` finds (empty when the file is sound)."""
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("PRAGMA integrity_check").fetchall()
    problems = [str(row[0]) for row in rows]
    return [] if problems == ["ok"] else [short_problem(problem) for problem in problems]


def _set_pragmas(dbapi_connection: DBAPIConnection, _record: object) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _switch_to_wal(cursor: DBAPICursor) -> None:
    """`PRAGMA journal_mode=WAL`, tried again while another process holds the new file: the
    switch of a new database does not wait for a lock as other statements do."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.01
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if getattr(error, "sqlite_errorname", "") != "SQLITE_BUSY":
                raise
            if time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


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
    _owner_only(path)
    engine = make_engine(path)
    if current_revision(engine) != SCHEMA_REVISION:
        upgrade(engine)
    if not repairing and behind_its_journal(engine):
        engine.dispose()
        raise TailLost(path)
    return engine
