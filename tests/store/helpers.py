"""Shared helpers for the store tests (importable by spawned worker processes too)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.services.auth import list_operators
from mediateur_tui.services.demo import MAIN_PROGRAMME, build_demo
from mediateur_tui.services.desk import Desk
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME

# A fixed moment: every demo category (valid, grace, expired…) is relative to it.
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def plain_valid_codes(engine: Engine, count: int | None = None) -> list[str]:
    """Bare codes of attributed main-programme passes with no revocation, remote or local use,
    outside the demo's category carnets: each one is `valid` until it is redeemed."""
    sql = text(
        """
        SELECT p.code FROM pass p JOIN carnet c ON c.id = p.carnet_id
        WHERE p.programme_id = :programme AND c.attributed_on IS NOT NULL
          AND c.id > 'C0000016'
          AND p.code NOT IN (SELECT code FROM revocation)
          AND p.code NOT IN (SELECT code FROM remote_redemption)
          AND p.code NOT IN (SELECT code FROM redemption WHERE cancelled_at IS NULL)
        ORDER BY c.id, p.code
        LIMIT :limit
        """
    )
    limit = -1 if count is None else count  # SQLite: a negative LIMIT means no limit
    with engine.connect() as connection:
        rows = connection.execute(sql, {"programme": MAIN_PROGRAMME, "limit": limit})
        return [row[0] for row in rows]


def raw_rows(path: Path, sql: str, *params) -> list[tuple]:
    """Rows read with a plain sqlite3 connection (independent of the app's engine)."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


@dataclass
class DemoDatabase:
    path: Path
    data_dir: Path
    engine: Engine
    codes: dict[str, list[str]]
    operator_ids: dict[str, int]  # name -> id
    desk: Desk

    def plain_valid_codes(self, count: int | None = None) -> list[str]:
        return plain_valid_codes(self.engine, count)


def make_demo_database(data_dir: Path, passes: int = 200) -> DemoDatabase:
    path = data_dir / DATABASE_FILENAME
    engine = open_database(path)
    result = build_demo(engine, data_dir, NOW, passes=passes)
    operators = {operator.name: operator.id for operator in list_operators(engine)}
    return DemoDatabase(
        path=path,
        data_dir=data_dir,
        engine=engine,
        codes=result.codes,
        operator_ids=operators,
        desk=Desk(engine, clock=fixed_clock(NOW)),
    )
