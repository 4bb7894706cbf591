"""The journal's file, `mediateur.journal`: one JSON line per audited transaction, appended and
fsync'd after its commit (store/journal.py captures the rows and explains why).

Nothing here needs SQLAlchemy: the quick `check` reads the journal's end (`last_event_id`) to
refuse a database that lost its last transactions, without loading the ORM.
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

from mediateur_tui.store.errors import JournalDamaged

log = logging.getLogger(__name__)

JOURNAL_FILENAME = "mediateur.journal"
_TAIL_BYTES = 256 * 1024  # enough for the last line of any transaction but a huge batch
_AFTER_CUT = b'{"after_cut": true, '  # how a line that follows a cut line starts
_unwritten: list[OSError] = []  # journal lines not written (take_unwritten)


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


def plain(value: Any) -> Any:
    """A JSON value; dates, instants and bytes are tagged so that they come back as such."""
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode("ascii")}
    return value


def typed(value: Any) -> Any:
    if isinstance(value, dict):
        if "datetime" in value:
            return datetime.fromisoformat(value["datetime"])
        if "date" in value:
            return date.fromisoformat(value["date"])
        if "bytes" in value:
            return base64.b64decode(value["bytes"])
    return value


def note_unwritten(error: OSError) -> None:
    """A journal line this process could not write (the database has its transaction)."""
    _unwritten.append(error)


def take_unwritten() -> list[OSError]:
    """The errors of the journal lines this process could not write since the last call."""
    errors = list(_unwritten)
    _unwritten.clear()
    return errors


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


def append_or_note(target: Path, entry: Entry) -> None:
    """`append`, after the transaction's commit: a line that cannot be written (a full disk)
    is logged and noted (take_unwritten), since the database has the transaction and
    `doctor --repair` writes the line again."""
    try:
        append(target, entry)
    except OSError as error:
        log.exception("the journal %s could not be written", target)
        note_unwritten(error)


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
