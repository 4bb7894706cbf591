"""The site's SQLite file as SQLite sees it, without SQLAlchemy: its name, its pragmas, its
errors said in French, the checks made before opening it, and a raw connection.

store/engine.py builds the SQLAlchemy engine on these; the quick `check` (services/checking.py)
uses `connect` alone, so that checking a pass does not load the ORM.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

from mediateur_tui.protocol.files import create_private, keep_private
from mediateur_tui.store import journal_file
from mediateur_tui.store.errors import (
    DatabaseBusy,
    DatabaseDamaged,
    DiskError,
    DiskFull,
    StoreError,
    TailLost,
)
from mediateur_tui.store.journal_file import journal_path

DATABASE_FILENAME = "mediateur.sqlite3"
# The newest migration. A test checks it is Alembic's head; a database already there opens
# without loading Alembic, which saves a third of the start-up time.
SCHEMA_REVISION = "0011"
BUSY_TIMEOUT_MS = 10_000
SQLITE_HEADER = b"SQLite format 3\x00"
NO_ROOM_BYTES = 256 * 1024  # less than this free, and an I/O error is a full disk
_opened: set[str] = set()  # databases SQLite has opened in this process
_checked: set[str] = set()  # databases that passed quick_check in this process


def database_path(data_dir: Path) -> Path:
    return data_dir / DATABASE_FILENAME


def opened(path: Path) -> None:
    """Notes that SQLite opens `path` in this process (see check_file)."""
    _opened.add(str(path.absolute()))


def file_uri(path: Path, mode: str) -> str:
    """The SQLite URI of `path` opened in `mode` ("ro", "rw"): a folder's name may hold
    « # », « % » or « ? », which a URI must escape."""
    return f"{path.absolute().as_uri()}?mode={mode}"


def connect(path: Path) -> sqlite3.Connection:
    """A raw connection to the existing database `path`, with the site's pragmas. It may be
    used from any thread, one at a time (the caller serialises)."""
    opened(path)
    try:
        connection = sqlite3.connect(
            file_uri(path, "rw"),
            uri=True,
            timeout=BUSY_TIMEOUT_MS / 1000,
            check_same_thread=False,
        )
        set_pragmas(connection)
    except sqlite3.Error as error:
        raise store_error(path, error) or DiskError(path, str(error)) from error
    return connection


@contextmanager
def reading(path: Path) -> Iterator[sqlite3.Connection]:
    """A raw connection to the existing database `path` for a few statements, closed after
    them; SQLite's errors are raised as their French StoreError."""
    connection = connect(path)
    try:
        with said_in_french(path):
            yield connection
    finally:
        connection.close()


def owner_only(path: Path) -> None:
    """The database holds the site's access key and the PIN hashes, its journal the same
    rows: mode 0600. A new database is created so (SQLite gives its -wal and -shm files the
    mode of the database); an existing one, copied by hand, is set back to it."""
    create_private(path)
    for file in (Path(f"{path}-wal"), Path(f"{path}-shm"), journal_path(path)):
        keep_private(file)


def opens_as_it_is(path: Path) -> bool:
    """What store/engine.py's `open_database` checks of the existing database `path`, on a raw
    connection: False when its schema is older (a migration is due: `open_database` makes it);
    a file that is not the site's, or damaged, is refused (DatabaseDamaged), and so is one
    that lost its last transactions (TailLost). Its mode is set back to the owner's."""
    check_file(path)
    owner_only(path)
    try:
        with reading(path) as connection:
            if schema_revision(connection) != SCHEMA_REVISION:
                return False
            if lost_its_tail(connection, path):
                raise TailLost(path)
    except sqlite3.Error as error:
        raise DatabaseDamaged(path, str(error)) from error
    return True


def schema_revision(connection: sqlite3.Connection) -> str | None:
    """The database's schema revision, or None for a new (or pre-Alembic) file."""
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return None
        raise
    return None if row is None else str(row[0])


def lost_its_tail(connection: sqlite3.Connection, path: Path) -> bool:
    """Whether the database lacks the last audit event of its journal (its last transactions were
    lost). The journal is read first: a line is appended after its commit, so whatever the
    journal holds when it is read, a sound database holds too, whoever writes meanwhile."""
    event_id = journal_file.last_event_id(journal_path(path))
    if event_id is None:
        return False
    stored = connection.execute("SELECT hash FROM audit_event WHERE id = ?", (event_id,)).fetchone()
    return stored is None  # a different event there: `audit verify` and `doctor` say so


def check_before_first_write(connection: sqlite3.Connection, path: Path) -> None:
    """Before this process writes to the database `path` for the first time: is the file
    sound? Raises DatabaseDamaged with the first problem `PRAGMA quick_check` finds."""
    if str(path) in _checked:
        return
    try:
        problems = [row[0] for row in connection.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.DatabaseError as error:
        # busy, or the disk failing, is said as such; otherwise a page so damaged that
        # quick_check cannot read it
        raise store_error(path, error) or DatabaseDamaged(path, str(error)) from error
    if problems != ["ok"]:
        raise DatabaseDamaged(path, problems[0])
    _checked.add(str(path))


@contextmanager
def said_in_french(path: Path) -> Iterator[None]:
    """SQLite's errors on the file `path` raised as their French StoreError (the others as
    they are), for the statements run on a raw connection."""
    try:
        yield
    except sqlite3.Error as error:
        raise_in_french(path, error)


def raise_in_french(path: Path, error: sqlite3.Error) -> NoReturn:
    """Raises the French StoreError of `error` on the file `path`, or `error` itself."""
    french = store_error(path, error)
    if french is None:
        raise error
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


def _has_content(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except FileNotFoundError:
        return False


def set_pragmas(dbapi_connection: sqlite3.Connection) -> None:
    """The pragmas of every connection to the site's database; pysqlite's own transaction
    handling off (BEGIN is issued explicitly)."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
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
