"""No statement of the hub's everyday work reads a large table whole, on SQLite and PostgreSQL.

A region holds millions of passes, used passes, lines and changes: a statement that scans one
of those tables costs seconds at that scale while a small test database answers it at once.
So every statement the hub sends while it takes declarations, batches, cancellations and
attributions, serves replica pages, a site's recovery and its statement, and issues carnets is
planned by the database itself, on every connection the engine opens (the hub also runs
statements on the DB-API connection directly):

- SQLite: each statement is captured where SQLite receives it (a trace callback) and explained;
  none may SCAN a table that grows with the region, nor SEARCH it by a column of few values
  alone (a category, a month). A SEARCH through a key, or through an index that narrows to a
  site, a pass or a window, is what scales.
- PostgreSQL: auto_explain sends the plan of each statement as it ran, sequential scans priced
  out (`enable_seqscan = off`), so a table read whole is one that no index could serve; none
  may read a growing table sequentially, or through an index without a condition.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from datetime import date
from typing import Any

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from mediateur_tui.domain.rulebooks import default_rulebooks
from mediateur_tui.hub.attributions import receive_attributions
from mediateur_tui.hub.database import Hub
from mediateur_tui.hub.declarations import receive_declaration, site_recovery
from mediateur_tui.hub.errors import HubError
from mediateur_tui.hub.intake import receive_batch
from mediateur_tui.hub.received import received_lines
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


def test_everyday_statements_search_the_growing_tables_never_scan_them(world: World) -> None:
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

    plans = _plans_during(hub, everyday_work)
    assert any(s.startswith("UPDATE hub_used_pass") for s in plans)  # the adoption
    assert any('FROM "hub_pass"' in s for s in plans)  # the reconciliation's reads
    assert _whole_reads(plans) == {}


def test_attributions_and_issues_read_a_window_not_a_whole_category(world: World) -> None:
    """An experiment's quota sums its category's attributions within its window, and a new
    issue checks whether its programme's end of validity may still change."""
    hub = world.hub
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

    plans = _plans_during(hub, attribution_work)
    assert any("sum(hub_attribution.passes)" in s for s in plans)  # the quota
    assert any("LIMIT" in s and "programme_id =" in s for s in plans)  # the issue's check
    assert _whole_reads(plans) == {}


def test_a_sites_recovery_and_statement_read_its_month_not_its_years(world: World) -> None:
    """A site that has run for years has declared years of lines, which its batches have
    brought since, and sent years of batches: its recovery and its list of lines received read
    only the declared lines no batch has brought yet, its statement only the month's batches."""
    hub, site_a = world.hub, world.sites[SITE_A]
    declared = [line(code, AT) for code in world.fresh[:3]]
    receive_declaration(hub, make_declaration(site_a, declared), SITE_A)
    receive_batch(hub, make_batch(site_a, declared[:1]), SITE_A)

    def site_reads() -> None:
        recovery = site_recovery(hub, SITE_A)
        assert len(recovery["declared"]["redemptions"]) == 2
        assert len(received_lines(hub, SITE_A, None)) == 3
        assert len(build_statement(hub, SITE_A, "2026-11").lines) == 1

    plans = _plans_during(hub, site_reads)
    assert _indexes_read(plans, "hub_declared_line") == {"ix_hub_declared_line_outstanding"}
    assert _indexes_read(plans, "hub_batch") == {"ix_hub_batch_site_id_period"}
    assert _whole_reads(plans) == {}


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
    assert _whole_read("Seq Scan on hub_pass") == "hub_pass"
    assert _whole_read("Index Scan on hub_change without a condition") == "hub_change"
    whole_index = "Index Scan using ix_hub_declared_line_outstanding on hub_declared_line"
    assert _whole_read(f"{whole_index} without a condition") == "hub_declared_line"
    assert _whole_read(whole_index) is None
    assert _whole_read("Index Only Scan on hub_used_pass") is None
    assert _whole_read("Bitmap Heap Scan on hub_batch") is None
    assert _whole_read("Seq Scan on hub_region") is None


def test_a_table_sqlite_names_by_its_alias_is_still_known() -> None:
    explain = sqlite3.connect(":memory:")
    try:
        explain.execute("CREATE TABLE hub_line (code TEXT, site_id TEXT)")
        aliased = "SELECT l.code AS code FROM hub_line AS l WHERE l.site_id = 'A'"
        assert _sqlite_steps(explain, aliased) == ["SCAN hub_line"]
    finally:
        explain.close()


def test_a_postgresql_plan_tells_an_ordered_read_of_everything_from_a_limited_one() -> None:
    def index_scan(table: str, **condition: str) -> dict[str, Any]:
        return {"Node Type": "Index Scan", "Relation Name": table, **condition}

    everything = {"Node Type": "Sort", "Plans": [index_scan("hub_change")]}
    assert _postgres_scans(everything) == ["Index Scan on hub_change without a condition"]
    latest = {"Node Type": "Limit", "Plans": [index_scan("hub_change")]}
    assert _postgres_scans(latest) == ["Index Scan on hub_change"]
    joined = {
        "Node Type": "Nested Loop",
        "Plans": [
            {"Node Type": "Seq Scan", "Relation Name": "hub_used_pass"},
            index_scan("hub_pass", **{"Index Cond": "(code = hub_used_pass.code)"}),
        ],
    }
    assert _postgres_scans(joined) == ["Seq Scan on hub_used_pass", "Index Scan on hub_pass"]
    bitmap = {
        "Node Type": "Bitmap Heap Scan",
        "Relation Name": "hub_batch",
        "Plans": [
            {
                "Node Type": "Bitmap Index Scan",
                "Index Name": "ix_hub_batch_site_id_period",
                "Index Cond": "((site_id)::text = 'A'::text)",
            }
        ],
    }
    steps = [
        "Bitmap Heap Scan on hub_batch",
        "Bitmap Index Scan using ix_hub_batch_site_id_period on hub_batch",
    ]
    assert _postgres_scans(bitmap) == steps
    assert _indexes_read({"statement": steps}, "hub_batch") == {"ix_hub_batch_site_id_period"}
    # A partial index read with no condition (WHERE batch_id IS NULL, every site): the whole
    # index, even through a BitmapAnd and under a Limit.
    outstanding = {
        "Node Type": "Bitmap Index Scan",
        "Index Name": "ix_hub_declared_line_outstanding",
    }
    both = {"Node Type": "BitmapAnd", "Plans": [outstanding, {**outstanding, "Index Cond": "x"}]}
    limited = {
        "Node Type": "Limit",
        "Plans": [
            {"Node Type": "Bitmap Heap Scan", "Relation Name": "hub_declared_line", "Plans": [both]}
        ],
    }
    whole = "Bitmap Index Scan using ix_hub_declared_line_outstanding on hub_declared_line"
    assert _postgres_scans(limited) == [
        "Bitmap Heap Scan on hub_declared_line",
        f"{whole} without a condition",
        whole,
    ]
    assert _whole_read(f"{whole} without a condition") == "hub_declared_line"
    below_a_write = {
        "Node Type": "ModifyTable",
        "Relation Name": "hub_used_pass",
        "Plans": [{"Node Type": "Result"}],
    }
    assert _postgres_scans(below_a_write) == ["ModifyTable on hub_used_pass"]


_EXPLAINED = ("SELECT", "UPDATE", "DELETE", "WITH", "INSERT INTO")
# Columns whose values are few: a search by them alone reads a share of the table that grows
# with the region (a category's attributions of every year, a month's batches of every site).
_FEW_VALUES = {"category", "period", "programme_id", "verdict", "kind"}
# PostgreSQL's plans of every statement, sent to the client as notices; with sequential scans
# priced out, a table read whole is one no index could serve.
_POSTGRES_SESSION = (
    "LOAD 'auto_explain'",
    "SET auto_explain.log_min_duration = 0",
    "SET auto_explain.log_nested_statements = on",
    "SET auto_explain.log_format = json",
    "SET auto_explain.log_level = notice",
    "SET client_min_messages = notice",
    "SET enable_seqscan = off",
)


def _plans_during(hub: Hub, work: Callable[[], None]) -> dict[str, list[str]]:
    """Each statement that read or wrote rows while `work` ran, with the steps of its plan:
    SQLite's EXPLAIN QUERY PLAN details ("SEARCH hub_pass USING …"), or PostgreSQL's scans of a
    table ("Seq Scan on hub_pass", "Index Scan using hub_pass_pkey on hub_pass", and "…
    without a condition")."""
    if hub.engine.dialect.name == "postgresql":
        return _postgres_plans_during(hub, work)
    return _sqlite_plans_during(hub, work)


def _sqlite_plans_during(hub: Hub, work: Callable[[], None]) -> dict[str, list[str]]:
    """Statements captured where SQLite receives them (parameters written in), on every
    connection the engine opens meanwhile, then explained."""
    statements: list[str] = []

    def trace(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.set_trace_callback(statements.append)

    _run_on_new_connections(hub, trace, work)
    database = make_url(hub.settings.database_url).database
    assert database is not None
    explain = sqlite3.connect(database)
    try:
        return {
            statement: _sqlite_steps(explain, statement)
            for statement in statements
            if statement.lstrip().upper().startswith(_EXPLAINED)
        }
    finally:
        explain.close()


def _sqlite_steps(explain: sqlite3.Connection, statement: str) -> list[str]:
    """SQLite's plan steps, each table named as itself (SQLite names an aliased table by its
    alias: "SCAN l" for `hub_line AS l`)."""
    aliases = {
        alias: table
        for table, alias in re.findall(r'"?(\w+)"? AS "?(\w+)"?', statement)
        if table in GROWING
    }
    steps = []
    for row in explain.execute(f"EXPLAIN QUERY PLAN {statement}"):
        words = row[3].split(" ")
        if len(words) > 1 and words[1] in aliases:
            words[1] = aliases[words[1]]
        steps.append(" ".join(words))
    return steps


def _postgres_plans_during(hub: Hub, work: Callable[[], None]) -> dict[str, list[str]]:
    """Plans as PostgreSQL executed them (auto_explain), on every connection the engine opens
    meanwhile: COPY and the statements run on the DB-API connection included."""
    plans: dict[str, list[str]] = {}

    def record(notice: psycopg.errors.Diagnostic) -> None:
        text = notice.message_primary or ""
        if "plan:" in text:
            plan = json.loads(text.split("plan:", 1)[1])
            plans[plan["Query Text"]] = _postgres_scans(plan["Plan"])

    def explain_all(dbapi_connection: psycopg.Connection, _record: object) -> None:
        dbapi_connection.add_notice_handler(record)
        with dbapi_connection.cursor() as cursor:
            for setting in _POSTGRES_SESSION:
                cursor.execute(setting)
        dbapi_connection.commit()  # a SET rolled back with the pool's reset would be undone

    _run_on_new_connections(hub, explain_all, work)
    return plans


def _run_on_new_connections(hub: Hub, on_connect: Callable[..., None], work: Callable[[], None]):
    hub.engine.dispose()  # every connection from now on is a new one
    event.listen(hub.engine, "connect", on_connect)
    try:
        work()
    finally:
        hub.engine.dispose()
        event.remove(hub.engine, "connect", on_connect)


def _postgres_scans(
    node: dict[str, Any], limited: bool = False, heap: str | None = None
) -> list[str]:
    """The scans of tables in a PostgreSQL plan, as "<Node Type> [using <index>] on <table>",
    an index scan with no condition said so ("… without a condition"): an ordered one reads the
    whole index unless a Limit above stops it, a bitmap one always does (its bitmap is built
    before any row is read). A bitmap index scan is named with the table of the bitmap heap
    scan above it, through any BitmapAnd or BitmapOr."""
    kind = node["Node Type"]
    limited = limited or kind == "Limit"
    table = node.get("Relation Name", heap if kind == "Bitmap Index Scan" else None)
    scans = []
    if table is not None:
        index = f" using {node['Index Name']}" if "Index Name" in node else ""
        step = f"{kind}{index} on {table}"
        unconditioned = kind in _INDEX_SCANS and "Index Cond" not in node
        whole = unconditioned and (kind == "Bitmap Index Scan" or not limited)
        scans.append(f"{step} without a condition" if whole else step)
    below = node.get("Relation Name", heap) if kind.startswith("Bitmap") else None
    for child in node.get("Plans", []):
        scans += _postgres_scans(child, limited, below)
    return scans


_INDEX_SCANS = ("Index Scan", "Index Only Scan", "Bitmap Index Scan")
_POSTGRES_STEP = re.compile(
    r"((?:Bitmap \w+|Seq|Index|Index Only) Scan)(?: using \w+)? on (\w+)( without a condition)?"
)
# An index a plan step reads, and its table: SQLite's "SEARCH hub_batch USING INDEX ix_…",
# PostgreSQL's "Index Scan using ix_… on hub_batch".
_INDEX_READ = re.compile(
    r"(?:(?:SEARCH|SCAN) (\w+) USING (?:COVERING )?INDEX (\w+))|(?:using (\w+) on (\w+))"
)


def _indexes_read(plans: dict[str, list[str]], table: str) -> set[str]:
    """The indexes of `table` the plans read, its primary key's left out."""
    names = set()
    for steps in plans.values():
        for step in steps:
            found = _INDEX_READ.search(step)
            if found is None:
                continue
            sqlite_table, sqlite_index, postgres_index, postgres_table = found.groups()
            if table in (sqlite_table, postgres_table):
                names.add(sqlite_index or postgres_index)
    return {
        name
        for name in names
        if not name.startswith("sqlite_autoindex_") and not name.endswith("_pkey")
    }


def _whole_reads(plans: dict[str, list[str]]) -> dict[str, str]:
    """Each statement with a plan step that reads a growing table whole, or by a column of
    few values alone, and that step."""
    return {
        statement: step
        for statement, steps in plans.items()
        for step in steps
        if _whole_read(step, _reads_one_row(statement)) is not None
    }


def _reads_one_row(statement: str) -> bool:
    """An existence check: a SEARCH stops at its first row (a SCAN may read all before it)."""
    return re.search(r"\bLIMIT (1|\$\d+::INTEGER)\b", statement) is not None


def _whole_read(step: str, one_row: bool = False) -> str | None:
    """The growing table a plan step reads whole (SQLite: "SCAN hub_line", "SCAN hub_line
    USING INDEX …"; PostgreSQL: "Seq Scan on hub_line", "Index Scan [using …] on hub_line
    without a condition", "Bitmap Index Scan using … on hub_line without a condition") or,
    unless the statement wants `one_row`, by columns of few values alone (SQLite: "SEARCH …
    (category=?)"); else None."""
    postgres = _POSTGRES_STEP.fullmatch(step)
    if postgres is not None:
        kind, table, unconditioned = postgres.groups()
        whole = kind == "Seq Scan" or unconditioned is not None
        return table if whole and table in GROWING else None
    words = step.split()
    if len(words) < 2 or words[1] not in GROWING:
        return None
    if words[0] == "SCAN":
        return words[1]
    if words[0] == "SEARCH" and step.endswith(")") and not one_row:
        terms = step[step.rindex("(") + 1 : -1].split(" AND ")
        columns = {re.split("[=<>]", term, maxsplit=1)[0] for term in terms}
        return words[1] if columns <= _FEW_VALUES else None
    return None
