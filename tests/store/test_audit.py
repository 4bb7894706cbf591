"""The hash-chained audit log: intact after real activity, and any edit or deletion is found."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import text
from sqlmodel import Session

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.domain.verdicts import Verdict
from mediateur_tui.services.auth import log_in
from mediateur_tui.store.audit import GENESIS_HASH, _event_hash, verify_chain
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.models import AuditEvent

from .helpers import NOW


def _verify(engine) -> tuple[int, int | None]:
    with Session(engine) as session:
        return verify_chain(session)


def _events(engine) -> list[tuple]:
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT id, kind, operator_id, details FROM audit_event ORDER BY id")
        ).all()


@pytest.fixture
def busy_db(demo_db):
    """A demo database after logins (good and bad), redemptions, refusals and cancellations."""
    clock = fixed_clock(NOW)
    assert log_in(demo_db.engine, "Camille Martin", "1234", clock).ok
    assert not log_in(demo_db.engine, "Karim Benali", "0000", clock).ok
    assert log_in(demo_db.engine, "Karim Benali", "5678", clock).ok
    camille = demo_db.operator_ids["Camille Martin"]
    desk = demo_db.desk
    session_id = desk.start_session(camille, "Atelier", "collectif", "", 120).id
    for text_input in demo_db.codes["valid"][:4] + demo_db.codes["grace"][:2]:
        assert desk.redeem(session_id, camille, text_input).redeemable
    assert desk.redeem(session_id, camille, demo_db.codes["revoked"][0]).verdict is Verdict.REVOKED
    lines = desk.session_redemptions(session_id)
    desk.cancel(lines[1].id, camille, "double saisie")
    desk.cancel(lines[4].id, camille, "erreur de pass")
    assert desk.redeem(session_id, camille, demo_db.codes["valid"][1]).redeemable
    return demo_db


def test_the_chain_is_intact_after_real_activity(busy_db):
    events = _events(busy_db.engine)
    kinds = [kind for _, kind, _, _ in events]
    assert kinds == (
        ["login", "login_failed", "login", "session_started"]
        + ["redemption"] * 6
        + ["cancellation"] * 2
        + ["redemption"]
    )
    assert _verify(busy_db.engine) == (len(events), None)
    with busy_db.engine.connect() as connection:
        first = connection.execute(
            text("SELECT previous_hash FROM audit_event ORDER BY id LIMIT 1")
        ).scalar_one()
        redemption_ids = set(connection.execute(text("SELECT id FROM redemption")).scalars())
    assert first == GENESIS_HASH
    audited = {json.loads(d)["id"] for _, kind, _, d in events if kind == "redemption"}
    assert audited == redemption_ids


def test_an_empty_chain_is_intact(db_path):
    engine = open_database(db_path)
    try:
        assert _verify(engine) == (0, None)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "column, value",
    [
        ("details", '{"id": "forged", "code": "X", "value_cents": 1000}'),
        ("kind", "login"),
        ("operator_id", 99),
        ("at", "2026-11-27 10:00:00.000000"),
    ],
)
def test_editing_a_middle_event_is_detected(busy_db, column, value):
    events = _events(busy_db.engine)
    target = events[5][0]
    with busy_db.engine.begin() as connection:
        connection.execute(
            text(f"UPDATE audit_event SET {column} = :value WHERE id = :id"),
            {"value": value, "id": target},
        )
    assert _verify(busy_db.engine) == (5, target)


def test_editing_the_last_event_is_detected(busy_db):
    last = _events(busy_db.engine)[-1][0]
    with busy_db.engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_event SET details = replace(details, '1000', '2000') WHERE id = :i"),
            {"i": last},
        )
    assert _verify(busy_db.engine)[1] == last


def test_deleting_a_middle_event_is_detected(busy_db):
    events = _events(busy_db.engine)
    deleted, following = events[4][0], events[5][0]
    with busy_db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": deleted})
    assert _verify(busy_db.engine) == (4, following)


def test_rehashing_an_edited_event_breaks_the_next_link(busy_db):
    """Even a forger who recomputes the edited event's own hash is caught at the next event."""
    events = _events(busy_db.engine)
    target, following = events[3][0], events[4][0]
    with Session(busy_db.engine) as session:
        event = session.get(AuditEvent, target)
        previous_hash, at, kind, operator_id = (
            event.previous_hash,
            event.at,
            event.kind,
            event.operator_id,
        )
    forged = '{"code": "X", "id": "forged", "value_cents": 1000}'
    with busy_db.engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_event SET details = :details, hash = :hash WHERE id = :id"),
            {
                "details": forged,
                "hash": _event_hash(previous_hash, at, kind, operator_id, forged),
                "id": target,
            },
        )
    assert _verify(busy_db.engine) == (4, following)


def test_the_chain_survives_a_reopen_in_another_time_zone(busy_db, monkeypatch):
    """Hashes cover UTC instants, so the machine's time zone does not matter."""
    count = len(_events(busy_db.engine))
    busy_db.engine.dispose()
    monkeypatch.setenv("TZ", "Pacific/Noumea")
    time.tzset()
    try:
        engine = open_database(busy_db.path)
        try:
            assert _verify(engine) == (count, None)
        finally:
            engine.dispose()
    finally:
        monkeypatch.undo()
        time.tzset()
