"""What a migration that drops an index of a large table sets on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection


@contextmanager
def pages_freed_unzeroed(connection: Connection) -> Iterator[None]:
    """SQLite built with SECURE_DELETE (Debian's) zeroes every page a dropped index frees,
    through the WAL: about 600 MB for an index of 10,000,000 rows. Within this block the
    pages only go to the free list; the connection's setting comes back after it."""
    if connection.dialect.name != "sqlite":
        yield
        return
    secure_delete = connection.exec_driver_sql("PRAGMA secure_delete").scalar()
    connection.exec_driver_sql("PRAGMA secure_delete=OFF")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA secure_delete={int(secure_delete)}")
