"""PIN log-in with lock-out (docs/passes.md), on a real demo database."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import Session, select

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.domain.formatting import format_until
from mediateur_tui.services.auth import LoginResult, list_operators, log_in, unlock_operator
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
        # Each try while locked is refused, and in the audit log.
        kinds = ["login_failed"] * 5 + ["login_locked"] * 4 + ["login"]
        assert [event.kind for event in events] == kinds
        assert json.loads(events[4].details) == {"attempts": 5}
        assert verify_chain(session) == (10, None)


def fail(demo_db, times: int, at) -> str:
    """`times` wrong PINs at `at`; the last answer."""
    message = ""
    for _ in range(times):
        message = log_in(
            demo_db.engine, demo_db.operator.name, wrong_pin(demo_db.pin), fixed_clock(at)
        ).message
    return message


def right(demo_db, at) -> LoginResult:
    return log_in(demo_db.engine, demo_db.operator.name, demo_db.pin, fixed_clock(at))


def test_after_the_lockout_each_wrong_pin_locks_again(demo_db):
    fail(demo_db, 5, NOW)
    later = NOW + timedelta(minutes=16)
    message = fail(demo_db, 1, later)
    assert "Compte bloqué 15 minutes après 6 erreurs. Encore 4 erreur(s)" in message
    assert operator_row(demo_db).failed_attempts == 6
    assert not right(demo_db, later + timedelta(minutes=14)).ok
    assert right(demo_db, later + timedelta(minutes=15)).ok


def test_ten_failures_lock_until_a_responsable_unlocks(demo_db, tmp_path):
    fail(demo_db, 5, NOW)
    for lockout in range(1, 6):  # then one more try at the end of each lock-out
        fail(demo_db, 1, NOW + timedelta(minutes=16 * lockout))
    assert operator_row(demo_db).failed_attempts == 10
    for later in (timedelta(hours=2), timedelta(days=400)):  # a clock moved ahead
        locked = right(demo_db, NOW + later)
        assert not locked.ok
        assert "un ou une responsable doit le débloquer" in locked.message
    karim = next(op for op in list_operators(demo_db.engine) if op.role == "responsable")
    unlock_operator(demo_db.engine, demo_db.operator.name, karim, fixed_clock(NOW))
    assert right(demo_db, NOW + timedelta(minutes=40)).ok
    with Session(demo_db.engine) as session:
        unlocked = session.exec(
            select(AuditEvent).where(AuditEvent.kind == "operator_unlocked")
        ).one()
        assert unlocked.operator_id == karim.id


def test_a_clock_put_back_never_locks_longer_than_fifteen_minutes(demo_db):
    """Five wrong PINs with the clock set a year ahead, then the clock corrected."""
    fail(demo_db, 5, NOW + timedelta(days=365))
    locked = right(demo_db, NOW)
    assert not locked.ok
    assert format_until(NOW + timedelta(minutes=15)) in locked.message  # not in a year
    assert right(demo_db, NOW + timedelta(minutes=15)).ok


def test_a_clock_moved_ahead_clears_only_the_short_lock(demo_db):
    fail(demo_db, 5, NOW)
    assert not right(demo_db, NOW + timedelta(minutes=1)).ok
    assert right(demo_db, NOW + timedelta(minutes=16)).ok  # as if 16 minutes had passed


def test_unknown_operator(demo_db):
    result = log_in(demo_db.engine, "Personne Inconnue", demo_db.pin, fixed_clock(NOW))
    assert not result.ok
    assert result.message == "Opérateur inconnu."
    with Session(demo_db.engine) as session:  # someone guessing names is on record too
        (event,) = session.exec(select(AuditEvent)).all()
    assert (event.kind, event.operator_id) == ("login_failed", None)
    assert json.loads(event.details) == {"name": "Personne Inconnue", "known": False}
