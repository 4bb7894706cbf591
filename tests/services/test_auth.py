"""PIN log-in with lock-out (docs/passes.md), on a real demo database."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import Session, select

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.services.auth import log_in
from mediateur_tui.store.audit import verify_chain
from mediateur_tui.store.models import AuditEvent, Operator

from .conftest import NOW


def wrong_pin(pin: str) -> str:
    return pin[:-1] + ("0" if pin[-1] != "0" else "1")


def operator_row(demo_db) -> Operator:
    with Session(demo_db.engine) as session:
        return session.get(Operator, demo_db.operator.id)


def test_right_pin_logs_in(demo_db):
    result = log_in(demo_db.engine, demo_db.operator.name, demo_db.pin, fixed_clock(NOW))
    assert result.ok
    assert result.message == ""
    assert result.operator == demo_db.operator
    assert result.operator.role == "mediateur"
    with Session(demo_db.engine) as session:
        events = session.exec(select(AuditEvent)).all()
        assert [event.kind for event in events] == ["login"]
        assert events[0].operator_id == demo_db.operator.id
        assert verify_chain(session) == (1, None)


def test_each_responsable_pin_is_checked_separately(demo_db):
    karim = next(op for op in demo_db.demo.operators if op["role"] == "responsable")
    clock = fixed_clock(NOW)
    assert log_in(demo_db.engine, karim["name"], karim["pin"], clock).operator.role == (
        "responsable"
    )
    assert not log_in(demo_db.engine, karim["name"], demo_db.pin, clock).ok


def test_wrong_pin_counts_the_attempts_left(demo_db):
    clock = fixed_clock(NOW)
    bad = wrong_pin(demo_db.pin)
    for left in (4, 3, 2, 1):
        result = log_in(demo_db.engine, demo_db.operator.name, bad, clock)
        assert not result.ok
        assert result.operator is None
        assert f"Encore {left} essai(s)" in result.message
        assert "Code PIN incorrect" in result.message
    assert operator_row(demo_db).failed_attempts == 4
    # A success resets the count.
    assert log_in(demo_db.engine, demo_db.operator.name, demo_db.pin, clock).ok
    row = operator_row(demo_db)
    assert row.failed_attempts == 0
    assert row.last_failure_at is None
    result = log_in(demo_db.engine, demo_db.operator.name, bad, clock)
    assert "Encore 4 essai(s)" in result.message


def test_five_failures_lock_the_account_until_the_lockout_ends(demo_db):
    name, pin, bad = demo_db.operator.name, demo_db.pin, wrong_pin(demo_db.pin)
    for minute in range(5):
        result = log_in(demo_db.engine, name, bad, fixed_clock(NOW + timedelta(minutes=minute)))
    assert "bloqué 15 minutes" in result.message
    last_failure = NOW + timedelta(minutes=4)
    assert operator_row(demo_db).last_failure_at == last_failure

    for later in (0, 1, 14):  # minutes after the 5th failure: locked, even with the right PIN
        locked = log_in(
            demo_db.engine, name, pin, fixed_clock(last_failure + timedelta(minutes=later))
        )
        assert not locked.ok
        assert "Compte bloqué" in locked.message
    still = log_in(demo_db.engine, name, pin, fixed_clock(last_failure + timedelta(minutes=14)))
    assert not still.ok
    assert "Compte bloqué" in still.message
    # The lock-out message shows, in French local time, when to try again (UTC+1 in March).
    assert "11:19" in still.message and "10/03/2026" in still.message
    assert operator_row(demo_db).failed_attempts == 5  # refused tries while locked don't count

    unlocked = log_in(demo_db.engine, name, pin, fixed_clock(last_failure + timedelta(minutes=16)))
    assert unlocked.ok, unlocked.message
    assert operator_row(demo_db).failed_attempts == 0

    with Session(demo_db.engine) as session:
        events = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [event.kind for event in events] == ["login_failed"] * 5 + ["login"]
        assert json.loads(events[4].details) == {"attempts": 5}
        assert verify_chain(session) == (6, None)


def test_after_the_lockout_a_wrong_pin_starts_a_new_count(demo_db):
    name, bad = demo_db.operator.name, wrong_pin(demo_db.pin)
    for _ in range(5):
        log_in(demo_db.engine, name, bad, fixed_clock(NOW))
    result = log_in(demo_db.engine, name, bad, fixed_clock(NOW + timedelta(minutes=16)))
    assert "Encore 4 essai(s)" in result.message
    assert operator_row(demo_db).failed_attempts == 1


def test_unknown_operator(demo_db):
    result = log_in(demo_db.engine, "Personne Inconnue", demo_db.pin, fixed_clock(NOW))
    assert not result.ok
    assert result.message == "Opérateur inconnu."
    with Session(demo_db.engine) as session:
        assert session.exec(select(AuditEvent)).all() == []
