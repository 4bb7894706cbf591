"""The journal: an append-only, fsync'd copy of every audited transaction, outside the database.

SQLite keeps the latest transactions in `mediateur.sqlite3-wal` until a checkpoint. A crash
followed by the loss of that file (an antivirus, a "backup" that copies only the database)
silently drops them, and the audit chain cannot see a missing tail. So every transaction that
appends an audit event also appends one line to `mediateur.journal`, after its commit, synced to
disk before the caller is told it is done: the rows the transaction wrote (the audit events
among them, with their hashes) and the bulk updates it made. `doctor` compares the journal with
the database, and `doctor --repair` writes back what the database lost, rows and audit events
alike, so that the audit chain is whole again.

The rows are captured from the ORM session (objects added or changed, at each flush) of the
site's engines only (an execution option set by store/engine.py); a bulk UPDATE is noted with
`note_update`.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, event, inspect
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session, UOWTransaction
from sqlmodel import SQLModel

from mediateur_tui.store.errors import JournalDamaged
from mediateur_tui.store.models import AuditEvent

log = logging.getLogger(__name__)

JOURNAL_FILENAME = "mediateur.journal"
JOURNAL_OPTION = "mediateur_journal"  # an engine's execution option: the journal of its database
_ROWS, _UPDATES, _AUDITED = "journal_rows", "journal_updates", "journal_audited"
_TAIL_BYTES = 256 * 1024  # enough for the last line of any transaction but a huge batch


def journal_path(database: Path) -> Path:
    return database.with_name(JOURNAL_FILENAME)


@dataclass(frozen=True)
class Entry:
    """One line: what one audited transaction wrote."""

    rows: list[dict[str, Any]]  # {"table": name, "values": {column: value}}, in flush order
    updates: list[dict[str, Any]]  # {"table", "ids": [primary keys], "values": {column: value}}

    @property
    def event_hashes(self) -> list[str]:
        return [row["values"]["hash"] for row in self.rows if row["table"] == "audit_event"]

    def audit_events(self) -> list[AuditEvent]:
        """The audit events of this transaction, as the database would hold them."""
        return [
            AuditEvent(**{key: _typed(value) for key, value in row["values"].items()})
            for row in self.rows
            if row["table"] == "audit_event"
        ]

    @classmethod
    def of_events(cls, events: list[AuditEvent]) -> Entry:
        """A line holding only audit events (the database has their rows)."""
        rows = [{"table": "audit_event", "values": _row_values(event)} for event in events]
        return cls(rows=rows, updates=[])


# --- capture, during the transaction ----------------------------------------------------------


def note_audited(session: Session) -> None:
    """Called by store.audit.append_event: this transaction goes to the journal."""
    session.info[_AUDITED] = True


def note_update(session: Session, table: str, ids: list[Any], values: dict[str, Any]) -> None:
    """A bulk UPDATE this transaction made (rows the ORM does not see)."""
    session.info.setdefault(_UPDATES, []).append(
        {"table": table, "ids": [_plain(value) for value in ids], "values": _plain_dict(values)}
    )


def note_row(session: Session, instance: SQLModel) -> None:
    """A row this transaction relies on without changing it (the session of a redemption),
    written back with it if the database loses both."""
    if _journal_of(session) is not None:
        row = {"table": _table(instance).name, "values": _row_values(instance)}
        session.info.setdefault(_ROWS, []).append(row)


def _journal_of(session: Session) -> Path | None:
    bind = session.get_bind()
    target = bind.get_execution_options().get(JOURNAL_OPTION)
    return Path(target) if target else None


@event.listens_for(Session, "after_flush")
def _capture_rows(session: Session, _flush: UOWTransaction) -> None:
    if _journal_of(session) is None:
        return
    rows = session.info.setdefault(_ROWS, [])
    for instance in [*session.new, *session.dirty]:
        if isinstance(instance, SQLModel):
            rows.append({"table": _table(instance).name, "values": _row_values(instance)})


@event.listens_for(Session, "after_commit")
def _append_entry(session: Session) -> None:
    rows, updates = session.info.pop(_ROWS, []), session.info.pop(_UPDATES, [])
    if not session.info.pop(_AUDITED, False):
        return
    target = _journal_of(session)
    if target is None:
        return
    try:
        append(target, Entry(rows, updates))
    except OSError:
        # The database has the transaction; `doctor --repair` writes the journal line again.
        log.exception("the journal %s could not be written", target)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    for key in (_ROWS, _UPDATES, _AUDITED):
        session.info.pop(key, None)


def _table(instance: SQLModel) -> Table:
    table = inspect(instance).mapper.local_table
    assert isinstance(table, Table)
    return table


def _row_values(instance: SQLModel) -> dict[str, Any]:
    state = inspect(instance)
    return {
        column.key: _plain(state.attrs[column.key].value)
        for column in state.mapper.columns
        if column.key in state.attrs
    }


def _plain_dict(values: dict[str, Any]) -> dict[str, Any]:
    return {key: _plain(value) for key, value in values.items()}


def _plain(value: Any) -> Any:
    """A JSON value; dates, instants and bytes are tagged so that they come back as such."""
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode("ascii")}
    return value


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        if "datetime" in value:
            return datetime.fromisoformat(value["datetime"])
        if "date" in value:
            return date.fromisoformat(value["date"])
        if "bytes" in value:
            return base64.b64decode(value["bytes"])
    return value


# --- the file ---------------------------------------------------------------------------------


def append(target: Path, entry: Entry) -> None:
    """Appends one line and syncs it to disk (the file is readable by its owner only)."""
    line = json.dumps({"rows": entry.rows, "updates": entry.updates}, ensure_ascii=False)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(descriptor, line.encode("utf-8") + b"\n")
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read(target: Path) -> Iterator[Entry]:
    """Every complete line, in the order of their audit events (a last line cut by a crash is
    left out: its transaction's caller was never told it was done, and the database has it).

    Processes append their lines after their commits, so two of them may append in the other
    order than they committed; the ids of the events (given inside the write lock) say the
    order of the commits."""
    try:
        stream = target.open("rb")
    except FileNotFoundError:
        return
    with stream:
        entries = [_entry(raw, target) for raw in stream if raw.endswith(b"\n")]
    yield from sorted(entries, key=_first_event_id)


def _first_event_id(entry: Entry) -> int:
    return min(_event_ids(entry), default=0)


def last_event_id(target: Path) -> int | None:
    """The id of the last audit event of the journal's last line (reading only the end of
    the file): the database must hold it, since lines are appended after commits."""
    try:
        with target.open("rb") as stream:
            size = stream.seek(0, os.SEEK_END)
            stream.seek(max(0, size - _TAIL_BYTES))
            tail = stream.read()
    except FileNotFoundError:
        return None
    pieces = tail.split(b"\n")
    complete = pieces[:-1]  # the last piece is empty, or a line cut by a crash
    if size > _TAIL_BYTES:
        complete = complete[1:]  # the first piece may start in the middle of a line
    for raw in reversed(complete):
        ids = _event_ids(_entry(raw, target))
        if ids:
            return ids[-1]
    if size <= _TAIL_BYTES:
        return None
    ids = [event_id for entry in read(target) for event_id in _event_ids(entry)]
    return ids[-1] if ids else None


def _event_ids(entry: Entry) -> list[int]:
    return [row["values"]["id"] for row in entry.rows if row["table"] == "audit_event"]


def _entry(raw: bytes, target: Path) -> Entry:
    try:
        document = json.loads(raw.decode("utf-8"))
        return Entry(rows=document["rows"], updates=document.get("updates", []))
    except (ValueError, KeyError, TypeError, RecursionError) as error:
        raise JournalDamaged(target) from error


# --- writing back what the database lost ------------------------------------------------------


def replay(connection: Connection, entry: Entry) -> None:
    """Writes the entry's rows and updates again, inside the caller's transaction."""
    tables = SQLModel.metadata.tables
    for row in entry.rows:
        table = tables[row["table"]]
        values = {key: _typed(value) for key, value in row["values"].items()}
        keys = [column.name for column in table.primary_key.columns]
        statement = insert(table).values(**values)
        changed = {key: value for key, value in values.items() if key not in keys}
        if changed:
            statement = statement.on_conflict_do_update(index_elements=keys, set_=changed)
        else:
            statement = statement.on_conflict_do_nothing(index_elements=keys)
        connection.execute(statement)
    for update in entry.updates:
        table = tables[update["table"]]
        [key] = list(table.primary_key.columns)
        values = {name: _typed(value) for name, value in update["values"].items()}
        ids = [_typed(value) for value in update["ids"]]
        connection.execute(table.update().where(key.in_(ids)).values(**values))
