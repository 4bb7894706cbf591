"""The journal: an append-only, fsync'd copy of every audited transaction, outside the database.

SQLite keeps the latest transactions in `mediateur.sqlite3-wal` until a checkpoint. A crash
followed by the loss of that file (an antivirus, a "backup" that copies only the database)
silently drops them, and the audit chain cannot see a missing tail. So every transaction that
appends an audit event also appends one line to `mediateur.journal`, after its commit, synced to
disk before the caller is told it is done: the rows the transaction wrote (the audit events
among them, with their hashes) and the bulk updates it made (a line that cannot be written, a
full disk, is logged and the command warns: the database has the transaction, and
`doctor --repair` writes the line). `doctor` compares the journal with
the database, and `doctor --repair` writes back what the database lost, rows and audit events
alike, so that the audit chain is whole again.

The rows are captured from the ORM session (objects added or changed, at each flush) of the
site's engines only (an execution option set by store/engine.py); a bulk UPDATE is noted with
`note_update`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, event, inspect
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session, UOWTransaction
from sqlmodel import SQLModel

from mediateur_tui.store.journal_file import Entry, append_or_note, plain, typed
from mediateur_tui.store.models import AuditEvent

JOURNAL_OPTION = "mediateur_journal"  # an engine's execution option: the journal of its database
_ROWS, _UPDATES, _AUDITED = "journal_rows", "journal_updates", "journal_audited"


def audit_events(entry: Entry) -> list[AuditEvent]:
    """The audit events of a journal line, as the database would hold them."""
    return [
        AuditEvent(**{key: typed(value) for key, value in row["values"].items()})
        for row in entry.rows
        if row["table"] == "audit_event"
    ]


def entry_of_events(events: list[AuditEvent]) -> Entry:
    """A line holding only audit events (the database has their rows)."""
    rows = [{"table": "audit_event", "values": _row_values(event)} for event in events]
    return Entry(rows=rows, updates=[])


# --- capture, during the transaction ----------------------------------------------------------


def note_audited(session: Session) -> None:
    """Called by store.audit.append_event: this transaction goes to the journal."""
    session.info[_AUDITED] = True


def note_update(session: Session, table: str, ids: list[Any], values: dict[str, Any]) -> None:
    """A bulk UPDATE this transaction made (rows the ORM does not see)."""
    session.info.setdefault(_UPDATES, []).append(
        {
            "table": table,
            "ids": [plain(value) for value in ids],
            "values": {key: plain(value) for key, value in values.items()},
        }
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
    append_or_note(target, Entry(rows, updates))


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
        column.key: plain(state.attrs[column.key].value)
        for column in state.mapper.columns
        if column.key in state.attrs
    }


# --- writing back what the database lost ------------------------------------------------------


def replay(connection: Connection, entry: Entry) -> None:
    """Writes the entry's rows and updates again, inside the caller's transaction."""
    tables = SQLModel.metadata.tables
    for row in entry.rows:
        table = tables[row["table"]]
        values = {key: typed(value) for key, value in row["values"].items()}
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
        values = {name: typed(value) for name, value in update["values"].items()}
        ids = [typed(value) for value in update["ids"]]
        connection.execute(table.update().where(key.in_(ids)).values(**values))
