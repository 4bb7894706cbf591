"""Migration 0002 (sync with the region) on a database that has lived under 0001."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from mediateur_tui.store.engine import alembic_config, make_engine, open_database, upgrade

ROWS_0001 = [
    "INSERT INTO operator (id, name, role, pin_hash, failed_attempts) "
    "VALUES (7, 'Léa', 'mediateur', 'x', 0)",
    "INSERT INTO desk_session (id, title, kind, themes, duration_minutes, operator_id, "
    "started_at) VALUES (3, 'Atelier', 'collectif', '', 120, 7, '2026-11-28 08:00:00.000000')",
    "INSERT INTO redemption (id, code, session_id, operator_id, redeemed_at, value_cents, "
    "input_method, raw_input, cancelled_at) VALUES ('r1', 'C1', 3, 7, "
    "'2026-11-28 08:30:00.000000', 1000, 'scan', 'C1', '2026-11-28 08:40:00.000000')",
    "INSERT INTO redemption (id, code, session_id, operator_id, redeemed_at, value_cents, "
    "input_method, raw_input) VALUES ('r2', 'C1', 3, 7, '2026-11-28 08:45:00.000000', 1000, "
    "'scan', 'C1')",
    "INSERT INTO cancellation (redemption_id, reason, operator_id, cancelled_at) "
    "VALUES ('r1', 'erreur', 7, '2026-11-28 08:40:00.000000')",
    "INSERT INTO refused_scan (at, session_id, operator_id, raw_input, code, verdict, message) "
    "VALUES ('2026-11-28 08:50:00.000000', 3, 7, 'x', NULL, 'malformed', 'm')",
]


def _rows(engine, sql: str) -> list[tuple]:
    with engine.connect() as connection:
        return connection.execute(text(sql)).all()


def test_0002_keeps_cancellations_and_adds_the_sync_columns(db_path):
    """Rebuilding `redemption` (batch mode) would fail on the cancellations' foreign key: the
    migration adds its columns in place instead."""
    engine = make_engine(db_path)
    upgrade(engine, "0001")
    with engine.begin() as connection:
        for sql in ROWS_0001:
            connection.execute(text(sql))
    engine.dispose()

    engine = open_database(db_path)
    try:
        assert _rows(engine, "SELECT id, provisional, batch_id FROM redemption ORDER BY id") == [
            ("r1", 0, None),
            ("r2", 0, None),
        ]
        assert _rows(engine, "SELECT redemption_id FROM cancellation") == [("r1",)]
        assert _rows(engine, "SELECT batch_id FROM refused_scan") == [(None,)]
        assert _rows(engine, "PRAGMA foreign_key_check") == []
        foreign = _rows(engine, "PRAGMA foreign_key_list(redemption)")
        assert ("batch", "batch_id", "batch_id") in {(row[2], row[3], row[4]) for row in foreign}

        command.downgrade(alembic_config(engine), "0001")  # and back, data intact
        assert _rows(engine, "SELECT count(*) FROM cancellation") == [(1,)]
        upgrade(engine)
        assert _rows(engine, "SELECT count(*) FROM redemption") == [(2,)]
        index = _rows(
            engine, "SELECT sql FROM sqlite_master WHERE name = 'uq_redemption_active_code'"
        )
        assert index[0][0].upper().endswith("WHERE CANCELLED_AT IS NULL")
    finally:
        engine.dispose()
