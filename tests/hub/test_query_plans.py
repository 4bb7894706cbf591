"""No statement of the hub's everyday work reads a large table whole.

A region holds millions of passes, used passes, lines and changes: a statement that scans one
of those tables costs seconds at that scale while a small test database answers it at once.
So every statement the hub sends while it takes declarations, batches, cancellations, replica
pages and a site's recovery is captured where SQLite receives it (a trace callback on each of
the engine's connections: the hub also runs statements on the DB-API connection directly) and
explained by SQLite: none may SCAN a table that grows with the region, nor SEARCH it by a
column of few values alone (a category, a month): a SEARCH through a key, or an index that
narrows to a site, a pass or a window, is what scales. Attributions and issues are explained
the same way.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from mediateur_tui.domain.rulebooks import default_rulebooks
from mediateur_tui.hub.attributions import receive_attributions
from mediateur_tui.hub.database import Hub
from mediateur_tui.hub.declarations import receive_declaration, site_recovery
from mediateur_tui.hub.errors import HubError
from mediateur_tui.hub.intake import receive_batch
from mediateur_tui.hub.registry import ProgrammeSpec, issue
from mediateur_tui.hub.replica import changes_page, last_sequence
from mediateur_tui.hub.statement import build_statement

from .helpers import (
    LYCEE,
    PROGRAMME,
    SITE_A,
    SITE_B,
    World,
    attribution,
    cancellation,
    enrol,
    line,
    lycee_book,
    make_attributions,
    make_batch,
    make_declaration,
    reference,
)

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
    "hub_attribution",
}


def test_everyday_statements_search_the_growing_tables_never_scan_them(
    sqlite_world: World,
) -> None:
    world = sqlite_world
    hub, site_a, site_b = world.hub, world.sites[SITE_A], world.sites[SITE_B]
    codes = world.fresh

    def everyday_work() -> None:
        declared = [line(code, AT) for code in codes[:4]]
        receive_declaration(hub, make_declaration(site_a, declared), SITE_A)  # claims four
        receive_declaration(
            hub, make_declaration(site_a, [], [cancellation(declared[3]["id"])]), SITE_A
        )
        first = make_batch(site_a, [*declared, line(codes[4], AT)])  # adopts three
        receive_batch(hub, first, SITE_A)
        replayed = make_batch(site_b, [first["redemptions"][4], line(codes[5], AT)])
        receive_batch(hub, replayed, SITE_B)  # a replay of another site's id, and a new line
        cancelled = cancellation(first["redemptions"][4]["id"])
        receive_declaration(hub, make_declaration(site_b, [], [cancelled]), SITE_B)
        changes_page(hub, 0, limit=3)
        changes_page(hub, last_sequence(hub) - 2, compact=True)
        site_recovery(hub, SITE_A)
        build_statement(hub, SITE_A, "2026-11")

    statements = _statements_during(hub, everyday_work)
    assert any(s.startswith("UPDATE hub_used_pass") for s in statements)  # the adoption
    assert any('FROM "hub_pass"' in s for s in statements)  # the reconciliation's reads
    assert _whole_reads(hub, statements) == {}


def test_attributions_and_issues_read_a_window_not_a_whole_category(
    sqlite_world: World,
) -> None:
    """An experiment's quota sums its category's attributions within its window, and a new
    issue checks whether its programme's end of validity may still change."""
    hub = sqlite_world.hub
    distributor = enrol(hub, "LE-CATEAU-PIMMS", "PIMMS", distributor=True)
    carnets = [c.id for c in issue(hub, ProgrammeSpec(id=PROGRAMME), carnets=2, size=10).carnets]
    books = [*default_rulebooks()[:-1], lycee_book()]

    def lycee(carnet_id: str, number: int) -> dict[str, Any]:
        return attribution(
            [carnet_id], reference(number), 10, category="lycee", received_on="2022-03-01",
            establishment=LYCEE, attributed_at="2022-03-01T09:00:00Z",
        )  # fmt: skip

    def attribution_work() -> None:
        items = [lycee(carnet_id, n) for n, carnet_id in enumerate(carnets)]
        answer = receive_attributions(hub, make_attributions(distributor, items), None, books)
        assert [r["verdict"] for r in answer["results"]] == ["accepted", "accepted"]
        with pytest.raises(HubError, match="ne peut plus changer"):
            issue(hub, ProgrammeSpec(id=PROGRAMME, valid_until=date(2027, 6, 30)), 1, 10)

    statements = _statements_during(hub, attribution_work)
    assert any("sum(hub_attribution.passes)" in s for s in statements)  # the quota
    assert any("LIMIT 1" in s and "programme_id" in s for s in statements)  # the issue's check
    assert _whole_reads(hub, statements) == {}


def test_the_check_tells_a_search_by_a_category_alone_from_one_by_a_window() -> None:
    """Guards the tests above: the plan steps they refuse and those they let through."""
    assert _whole_read("SCAN hub_pass") == "hub_pass"
    assert _whole_read("SCAN hub_line USING INDEX ix_hub_line_site_id") == "hub_line"
    weak = "SEARCH hub_attribution USING INDEX ix_hub_attribution_category (category=?)"
    assert _whole_read(weak) == "hub_attribution"
    assert _whole_read(weak, one_row=True) is None
    assert _whole_read("SCAN hub_pass", one_row=True) == "hub_pass"
    window = (
        "SEARCH hub_attribution USING INDEX ix_hub_attribution_category_received_on "
        "(category=? AND received_on>? AND received_on<?)"
    )
    assert _whole_read(window) is None
    assert _whole_read("SEARCH hub_pass USING INDEX sqlite_autoindex_hub_pass_1 (code=?)") is None
    assert _whole_read("SCAN region_keys") is None  # not a table that grows


_EXPLAINED = ("SELECT", "UPDATE", "DELETE", "WITH", "INSERT INTO")
# Columns whose values are few: a search by them alone reads a share of the table that grows
# with the region (a category's attributions of every year, a month's batches of every site).
_FEW_VALUES = {"category", "period", "programme_id", "verdict", "kind"}


def _statements_during(hub: Hub, work: Callable[[], None]) -> list[str]:
    """The statements SQLite received while `work` ran (parameters written in) that read or
    write rows, captured on every connection the engine opened meanwhile."""
    statements: list[str] = []

    def trace(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.set_trace_callback(statements.append)

    hub.engine.dispose()  # every connection from now on is a new one, traced
    event.listen(hub.engine, "connect", trace)
    try:
        work()
    finally:
        hub.engine.dispose()
        event.remove(hub.engine, "connect", trace)
    return [s for s in statements if s.lstrip().upper().startswith(_EXPLAINED)]


def _whole_reads(hub: Hub, statements: list[str]) -> dict[str, str]:
    """Each statement whose plan reads a growing table whole, or by a column of few values
    alone, with that plan step."""
    database = make_url(hub.settings.database_url).database
    assert database is not None
    explain = sqlite3.connect(database)
    try:
        return {
            statement: detail
            for statement in statements
            for detail in _plan(explain, statement)
            if _whole_read(detail, _reads_one_row(statement)) is not None
        }
    finally:
        explain.close()


def _plan(connection: sqlite3.Connection, statement: str) -> list[str]:
    rows = connection.execute(f"EXPLAIN QUERY PLAN {statement}").fetchall()
    return [row[3] for row in rows]


def _reads_one_row(statement: str) -> bool:
    """An existence check: a SEARCH stops at its first row (a SCAN may read all before it)."""
    return re.search(r"\bLIMIT 1\b", statement) is not None


def _whole_read(detail: str, one_row: bool = False) -> str | None:
    """The growing table a plan step reads whole ("SCAN hub_line", "SCAN hub_line USING
    INDEX …") or, unless the statement wants `one_row`, by columns of few values alone
    ("SEARCH … (category=?)"); else None."""
    words = detail.split()
    if len(words) < 2 or words[1] not in GROWING:
        return None
    if words[0] == "SCAN":
        return words[1]
    if words[0] == "SEARCH" and detail.endswith(")") and not one_row:
        terms = detail[detail.rindex("(") + 1 : -1].split(" AND ")
        columns = {re.split("[=<>]", term, maxsplit=1)[0] for term in terms}
        return words[1] if columns <= _FEW_VALUES else None
    return None
