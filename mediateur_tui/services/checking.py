"""Checking a pass without recording anything, on a raw SQLite connection.

The verdict of a scan is one statement (store/scan_lookup.py) and the pure `decide`
(domain/verdicts.py). `ScanChecker` runs them on a connection of its own, without SQLAlchemy:
`mediateur-tui check` opens one with `open_checker` and loads nothing of the ORM, and the desk
keeps one for its every scan (services/desk.py); a redemption runs the same `verdict` inside
its write transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from mediateur_tui.domain.clock import Clock, system_clock
from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.keyboard import Typing
from mediateur_tui.domain.scan_input import parse_scan
from mediateur_tui.domain.verdicts import DEFAULT_MAX_REPLICA_AGE, CheckResult, decide
from mediateur_tui.store.errors import DatabaseDamaged, TailLost
from mediateur_tui.store.scan_lookup import scan_lookup
from mediateur_tui.store.sqlite_file import (
    SCHEMA_REVISION,
    check_before_first_write,
    check_file,
    connect,
    database_path,
    lost_its_tail,
    said_in_french,
    schema_revision,
    store_error,
)

T = TypeVar("T")
NO_REPLICA_TO_REDEEM = "Aucune réplique du registre : importez-la avant d'encaisser."


def no_database(data_dir: Path) -> UserError:
    # The demo lives in a `demo` sub-folder (cli/data_dir.py): a newcomer who tried it and
    # forgot `--demo` is told where it is.
    demo = data_dir / "demo"
    if database_path(demo).exists():
        return UserError(
            f"Aucune base de données dans {data_dir}, mais la démo est dans {demo} : "
            "ajoutez --demo juste après mediateur-tui "
            "(par exemple « mediateur-tui --demo check CODE »)."
        )
    return UserError(
        f"Aucune base de données dans {data_dir}. Pour essayer : « mediateur-tui demo init », "
        "puis ajoutez --demo aux commandes (par exemple « mediateur-tui --demo check CODE ») ; "
        "pour le lieu : "
        "inscrivez-le (mediateur-tui enrol) ou importez une réplique du registre "
        "(mediateur-tui import-replica)."
    )


def no_replica(data_dir: Path) -> UserError:
    return UserError(f"La base de {data_dir} ne contient pas de réplique du registre.")


def verdict(
    connection: sqlite3.Connection,
    path: Path,
    text: str,
    now: datetime,
    max_age: timedelta = DEFAULT_MAX_REPLICA_AGE,
    typing: Typing = Typing.UNKNOWN,
) -> CheckResult:
    """The verdict on the scan `text` (which came by `typing`), read on `connection` (in its
    current transaction)."""
    scan = parse_scan(text, typing)
    found = scan_lookup(connection, path, scan.code, max_age)
    if found is None:
        raise UserError(NO_REPLICA_TO_REDEEM)
    # A code the replica does not list may still have been taken here provisionally.
    taken = found.redeemed_here if found.facts is None else None
    return decide(scan, found.facts, found.replica, now, redeemed_here=taken)


class ScanChecker:
    """Verdicts on one database, from any thread (one statement at a time)."""

    def __init__(
        self,
        path: Path,
        clock: Clock = system_clock,
        max_replica_age: timedelta = DEFAULT_MAX_REPLICA_AGE,
        connection: sqlite3.Connection | None = None,
    ) -> None:
        self._path = path
        self.clock = clock
        self.max_replica_age = max_replica_age
        self._connection = connection  # opened at the first check when not given
        self._closed = False
        self._lock = threading.Lock()

    def check(self, text: str, typing: Typing = Typing.UNKNOWN) -> CheckResult:
        with self._lock:
            connection = self._open()
            now = self.clock()
            return verdict(connection, self._path, text, now, self.max_replica_age, typing)

    def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work` in one write transaction on the checker's connection (BEGIN IMMEDIATE, so
        the verdict it reads is still true when it writes), committed when it returns, rolled
        back when it raises."""
        with self._lock:
            connection = self._open()
            with said_in_french(self._path):
                check_before_first_write(connection, self._path)
                connection.execute("BEGIN IMMEDIATE")
                try:
                    value = work(connection)
                    connection.execute("COMMIT")
                except BaseException:
                    self._roll_back(connection)
                    raise
            return value

    def _roll_back(self, connection: sqlite3.Connection) -> None:
        """Ends the failed transaction; a connection that cannot is closed (the next call
        opens a new one) rather than left inside it for every later check."""
        try:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
        except sqlite3.Error:
            connection.close()
            self._connection = None

    def _open(self) -> sqlite3.Connection:
        if self._closed:
            raise UserError("Le poste se ferme : la lecture n'a pas été vérifiée.")
        if self._connection is None:
            self._connection = connect(self._path)
        return self._connection

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def open_checker(
    data_dir: Path,
    max_replica_age: timedelta = DEFAULT_MAX_REPLICA_AGE,
    clock: Clock = system_clock,
) -> ScanChecker:
    """The checker of the site of `data_dir`, which must hold a replica. A database of an
    older schema is migrated first (through the full site, the only time the ORM loads); one
    that lost its last transactions is refused, as the desk would refuse it."""
    path = database_path(data_dir)
    if not path.exists():
        raise no_database(data_dir)
    check_file(path)
    connection = connect(path)
    try:
        if schema_revision(connection) != SCHEMA_REVISION:
            connection.close()
            from mediateur_tui.services.site import open_site  # Alembic and the ORM: only here

            open_site(data_dir).close()
            connection = connect(path)
        if lost_its_tail(connection, path):
            raise TailLost(path)
        if connection.execute("SELECT 1 FROM replica_meta").fetchone() is None:
            raise no_replica(data_dir)
    except sqlite3.Error as error:
        connection.close()
        raise store_error(path, error) or DatabaseDamaged(path, str(error)) from error
    except BaseException:
        connection.close()
        raise
    return ScanChecker(path, clock, max_replica_age, connection)
