"""Rows read and written on a raw sqlite3 connection exactly as the ORM stores them.

The desk's redemption is its hot path (services/desk.py): a Session, its unit of work and the
journal's capture at each flush cost several times SQLite's own work. There the rows are
written with plain statements, each value through its column's own SQLAlchemy type (so the
stored text is the ORM's, to the microsecond and the time zone), and the journal line holds
them as store/journal.py captures the ORM's: `journal.replay` writes them back unchanged.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlmodel import SQLModel

from mediateur_tui.store.journal_file import plain

_DIALECT = SQLiteDialect_pysqlite()
Processor = Callable[[Any], Any] | None


def insert(connection: sqlite3.Connection, instance: SQLModel) -> dict[str, Any]:
    """Inserts the row of `instance` (a table model, defaults filled by its constructor);
    its values, the integer key SQLite gave included."""
    table = _table_of(type(instance))
    values = {column.key: getattr(instance, column.key) for column in table.columns}
    names, processors, statement = _insert_of(table)
    pairs = zip(names, processors, strict=True)
    cursor = connection.execute(statement, [_through(bind, values[name]) for name, bind in pairs])
    [key] = table.primary_key.columns
    if values[key.key] is None:
        values[key.key] = cursor.lastrowid
    return values


def read(connection: sqlite3.Connection, model: type[SQLModel], key: Any) -> dict[str, Any] | None:
    """The values of the row of `model` whose primary key is `key`, typed as the ORM reads
    them; None when there is none."""
    table = _table_of(model)
    names, processors, statement = _select_of(table)
    row = connection.execute(statement, (key,)).fetchone()
    if row is None:
        return None
    return {
        name: _through(processor, value)
        for name, processor, value in zip(names, processors, row, strict=True)
    }


def journal_row(model: type[SQLModel], values: dict[str, Any]) -> dict[str, Any]:
    """A row of a journal line (store/journal.py's format)."""
    table = _table_of(model)
    return {"table": table.name, "values": {name: plain(value) for name, value in values.items()}}


def _through(processor: Processor, value: Any) -> Any:
    return value if processor is None or value is None else processor(value)


@cache
def _table_of(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]  # set by SQLModel for table=True
    assert isinstance(table, Table)
    return table


@cache
def _insert_of(table: Table) -> tuple[list[str], list[Processor], str]:
    names = [column.key for column in table.columns]
    processors: list[Processor] = [
        column.type.dialect_impl(_DIALECT).bind_processor(_DIALECT) for column in table.columns
    ]
    columns = ", ".join(column.name for column in table.columns)
    marks = ", ".join("?" for _ in names)
    return names, processors, f"INSERT INTO {table.name} ({columns}) VALUES ({marks})"


@cache
def _select_of(table: Table) -> tuple[list[str], list[Processor], str]:
    names = [column.key for column in table.columns]
    processors: list[Processor] = [
        column.type.dialect_impl(_DIALECT).result_processor(_DIALECT, None)
        for column in table.columns
    ]
    columns = ", ".join(column.name for column in table.columns)
    [key] = table.primary_key.columns
    return names, processors, f"SELECT {columns} FROM {table.name} WHERE {key.name} = ?"
