"""What the app reads before the log-in, on a raw `sqlite3` connection: whether the site holds
a replica and an account, and the accounts that can log in.

Like store/scan_lookup.py, it imports no SQLAlchemy: the app opens on its log-in screen without
loading the ORM (services/site.py loads it once the screen is up).
"""

from __future__ import annotations

import sqlite3

SETUP_STATEMENT = """
SELECT EXISTS (SELECT 1 FROM replica_meta), EXISTS (SELECT 1 FROM operator)
"""
# Removed accounts keep their row (the history names them) but cannot log in.
OPERATORS_STATEMENT = """
SELECT id, name, role FROM operator WHERE removed_at IS NULL ORDER BY name
"""


def setup_facts(connection: sqlite3.Connection) -> tuple[bool, bool]:
    """(a replica is there, an account was ever created: removed ones and names only count)."""
    has_replica, has_operators = connection.execute(SETUP_STATEMENT).fetchone()
    return bool(has_replica), bool(has_operators)


def operator_rows(connection: sqlite3.Connection) -> list[tuple[int, str, str]]:
    """(id, name, role) of every account that can log in, by name."""
    return [
        (int(id_), str(name), str(role))
        for id_, name, role in connection.execute(OPERATORS_STATEMENT)
    ]
