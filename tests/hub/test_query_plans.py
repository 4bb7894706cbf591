"""No statement of the hub's everyday work reads a large table whole.

A region holds millions of passes, used passes, lines and changes: a statement that scans one
of those tables costs seconds at that scale while a small test database answers it at once.
So every statement the hub sends while it takes declarations, batches, cancellations, replica
pages and a site's recovery is captured where SQLite receives it (a trace callback on each of
the engine's connections: the hub also runs statements on the DB-API connection directly) and
explained by SQLite: none may SCAN a table that grows with the region (a SEARCH through a key
or an index is what scales).
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import make_url

from mediateur_tui.hub.declarations import receive_declaration, site_recovery
from mediateur_tui.hub.intake import receive_batch
from mediateur_tui.hub.replica import changes_page, last_sequence

from .helpers import SITE_A, SITE_B, World, cancellation, line, make_batch, make_declaration

AT = "2026-11-12T09:30:00Z"
# The tables whose rows grow with the passes issued, the lines received or the changes made.
GROWING = {
    "hub_pass",
    "hub_carnet",
    "hub_revocation",
    "hub_used_pass",
    "hub_line",
    "hub_batch",
    "hub_batch_session",
    "hub_declared_line",
    "hub_change",
}


def test_everyday_statements_search_the_growing_tables_never_scan_them(
    sqlite_world: World,
) -> None:
    world = sqlite_world
    hub, site_a, site_b = world.hub, world.sites[SITE_A], world.sites[SITE_B]
    statements: list[str] = []  # as SQLite ran them, their parameters written in

    def trace(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.set_trace_callback(statements.append)

    hub.engine.dispose()  # every connection from now on is a new one, traced
    event.listen(hub.engine, "connect", trace)
    codes = world.fresh
    declared = [line(code, AT) for code in codes[:4]]
    receive_declaration(hub, make_declaration(site_a, declared), SITE_A)  # claims four passes
    receive_declaration(
        hub, make_declaration(site_a, [], [cancellation(declared[3]["id"])]), SITE_A
    )
    first = make_batch(site_a, [*declared, line(codes[4], AT)])  # adopts three, one cancelled
    receive_batch(hub, first, SITE_A)
    replayed = make_batch(site_b, [first["redemptions"][4], line(codes[5], AT)])
    receive_batch(hub, replayed, SITE_B)  # a replay of another site's id, and a new line
    receive_declaration(
        hub, make_declaration(site_b, [], [cancellation(first["redemptions"][4]["id"])]), SITE_B
    )
    changes_page(hub, 0, limit=3)
    changes_page(hub, last_sequence(hub) - 2, compact=True)
    site_recovery(hub, SITE_A)
    hub.engine.dispose()

    explained = [s for s in statements if s.lstrip().upper().startswith(_EXPLAINED)]
    assert any(s.startswith("UPDATE hub_used_pass") for s in explained)  # the adoption
    assert any('FROM "hub_pass"' in s for s in explained)  # the reconciliation's reads
    database = make_url(hub.settings.database_url).database
    assert database is not None
    explain = sqlite3.connect(database)
    try:
        scans = {
            statement: detail
            for statement in explained
            for detail in _plan(explain, statement)
            if _scanned_table(detail) in GROWING
        }
    finally:
        explain.close()
    assert scans == {}


_EXPLAINED = ("SELECT", "UPDATE", "DELETE", "WITH", "INSERT INTO")


def _plan(connection: sqlite3.Connection, statement: str) -> list[str]:
    rows = connection.execute(f"EXPLAIN QUERY PLAN {statement}").fetchall()
    return [row[3] for row in rows]


def _scanned_table(detail: str) -> str | None:
    """The table a plan step reads whole ("SCAN hub_line", "SCAN hub_line USING INDEX …")."""
    words = detail.split()
    return words[1] if len(words) > 1 and words[0] == "SCAN" else None
