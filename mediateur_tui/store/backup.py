"""Copies of the database for backups: SQLite's online backup API, which copies a consistent
state while the app goes on writing (in WAL mode a reader blocks no writer), and the facts a
copy is checked against when it is read back.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlmodel import Session

from mediateur_tui.store.audit import verify_chain
from mediateur_tui.store.engine import database_url
from mediateur_tui.store.errors import short_problem
from mediateur_tui.store.sqlite_file import file_uri, said_in_french

_COUNTS = {
    "redemptions": "SELECT COUNT(*) FROM redemption",
    "sessions": "SELECT COUNT(*) FROM desk_session",
    "operators": "SELECT COUNT(*) FROM operator",
    "audit_events": "SELECT COUNT(*) FROM audit_event",
    "batches": "SELECT COUNT(*) FROM batch",
}


def copy_database(engine: Engine, target: Path) -> None:
    """Copies the database of `engine` into the new file `target`, whole and consistent, as a
    single file (no -wal beside it). A StoreError in French when it cannot."""
    raw = engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        with said_in_french(target), closing(sqlite3.connect(target)) as destination:
            source.backup(destination)
            destination.execute("PRAGMA journal_mode=DELETE")
    finally:
        raw.close()


def examine_copy(path: Path) -> tuple[list[str], dict[str, Any] | None]:
    """(problems, facts) of a database copy: SQLite's integrity check, then the audit chain.
    The facts: its schema revision, site id, row counts (_COUNTS) and last audit hash; none
    when the copy is damaged."""
    try:
        with closing(sqlite3.connect(file_uri(path, "ro"), uri=True)) as db:
            rows = db.execute("PRAGMA integrity_check").fetchall()
            if [row[0] for row in rows] != ["ok"]:
                return [short_problem(str(row[0])) for row in rows[:3]], None
            counts = {name: db.execute(sql).fetchone()[0] for name, sql in _COUNTS.items()}
            revision = db.execute("SELECT version_num FROM alembic_version").fetchone()
            site = db.execute("SELECT site_id FROM replica_meta").fetchone()
            last = db.execute("SELECT hash FROM audit_event ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.DatabaseError as error:
        return [short_problem(str(error))], None
    broken = _broken_audit_event(path)
    if broken is not None:
        return [f"journal d'audit altéré à l'événement n° {broken}"], None
    facts = {
        "schema_revision": revision[0] if revision else None,
        "site_id": site[0] if site else None,
        "last_audit_hash": last[0] if last else None,
        **counts,
    }
    return [], facts


def _broken_audit_event(path: Path) -> int | None:
    engine = create_engine(database_url(path))  # a plain engine: a copy is only read
    try:
        with Session(engine) as session:
            return verify_chain(session)[1]
    finally:
        engine.dispose()
