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
_unwritten: list[OSError] = []  # journal lines not written (take_unwritten)
_AFTER_CUT = b'{"after_cut": true, '  # how a line that follows a cut line starts


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
    except OSError as error:
        # The database has the transaction; `doctor --repair` writes the journal line again.
        # The command says so when it ends (take_unwritten).
        log.exception("the journal %s could not be written", target)
        _unwritten.append(error)


def take_unwritten() -> list[OSError]:
    """The errors of the journal lines this process could not write since the last call."""
    errors = list(_unwritten)
    _unwritten.clear()
    return errors


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
    """Appends one line and syncs it to disk (the file is readable by its owner only).

    The line is written whole, however many writes it takes. When the file does not end with
    a newline (a line cut by a crash or a full disk), the entry starts on a line of its own and
    says so (`after_cut`): the cut line before it is then known for what it is, not damage."""
    line = json.dumps({"rows": entry.rows, "updates": entry.updates}, ensure_ascii=False)
    descriptor = os.open(target, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        size = os.fstat(descriptor).st_size
        if size and os.pread(descriptor, 1, size - 1) != b"\n":
            line = "\n" + _AFTER_CUT.decode("ascii") + line[1:]  # {"after_cut": true, "rows"…
        _write_all(descriptor, line.encode("utf-8") + b"\n")
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_all(descriptor: int, data: bytes) -> None:
    """os.write until every byte is written (a write may take only part of them)."""
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


@dataclass(frozen=True)
class Contents:
    """What the journal holds: its readable entries, in file order, and its cut lines."""

    entries: list[Entry]
    cut_lines: int  # lines cut by a crash or a full disk, left out of `entries`


def contents(target: Path) -> Contents:
    """Every readable line, and how many were cut. A cut line is the last line of the file
    when it has no newline, or an unreadable line an `after_cut` entry follows (even one cut
    itself); any other unreadable line is damage (JournalDamaged)."""
    try:
        data = target.read_bytes()
    except FileNotFoundError:
        return Contents([], 0)
    pieces = data.split(b"\n")  # the last piece is empty, or a line without its newline
    entries, cut = [], 0
    for index, raw in enumerate(pieces):
        found = _parsed(raw)
        if found is not None:
            entries.append(found)
        elif not raw.strip():
            continue  # an empty line (a newline written alone before a full disk)
        elif _is_cut(pieces, index):
            cut += 1
        else:
            raise JournalDamaged(target)
    return Contents(entries, cut)


def _is_cut(pieces: list[bytes], index: int) -> bool:
    """Whether the unreadable line `index` was cut: the last, or one an `after_cut` follows."""
    return index == len(pieces) - 1 or pieces[index + 1].startswith(_AFTER_CUT)


def read(target: Path) -> Iterator[Entry]:
    """Every readable line, in the order of their audit events (cut lines are left out: their
    transactions' callers were never told they were done, and the database has them).

    Processes append their lines after their commits, so two of them may append in the other
    order than they committed; the ids of the events (given inside the write lock) say the
    order of the commits."""
    yield from sorted(contents(target).entries, key=_first_event_id)


def rewrite_without_cuts(target: Path) -> None:
    """Writes the journal again without its cut lines (the readable ones as they were),
    through a temporary file renamed over it, so that a crash leaves one or the other."""
    pieces = target.read_bytes().split(b"\n")
    kept = b"".join(raw + b"\n" for raw in pieces if _parsed(raw) is not None)
    temporary = target.with_name(f".{target.name}.reecriture")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        _write_all(descriptor, kept)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, target)
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


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
    pieces = tail.split(b"\n")  # the last piece is empty, or a line cut by a crash
    first = 1 if size > _TAIL_BYTES else 0  # the first piece may start in the middle of a line
    for index in range(len(pieces) - 2, first - 1, -1):
        found = _parsed(pieces[index])
        if found is None:
            if pieces[index].strip() and not _is_cut(pieces, index):
                raise JournalDamaged(target)
            continue
        ids = _event_ids(found)
        if ids:
            return ids[-1]
    if size <= _TAIL_BYTES:
        return None
    ids = [event_id for entry in read(target) for event_id in _event_ids(entry)]
    return ids[-1] if ids else None


def _event_ids(entry: Entry) -> list[int]:
    return [row["values"]["id"] for row in entry.rows if row["table"] == "audit_event"]


def _parsed(raw: bytes) -> Entry | None:
    """The entry of a line; None when it is unreadable."""
    try:
        document = json.loads(raw.decode("utf-8"))
        return Entry(rows=document["rows"], updates=document.get("updates", []))
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None


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
