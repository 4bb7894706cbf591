"""The partial unique index: at most one active (not cancelled) redemption per pass code."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from mediateur_tui.domain.verdicts import Verdict
from mediateur_tui.store.models import Redemption

from .helpers import NOW


def _redemption(code: str, session_id: int, operator_id: int, minutes: int = 0) -> Redemption:
    return Redemption(
        id=uuid.uuid4().hex,
        code=code,
        session_id=session_id,
        operator_id=operator_id,
        redeemed_at=NOW + timedelta(minutes=minutes),
        value_cents=1000,
        input_method="scan",
        raw_input=code,
    )


@pytest.fixture
def desk_session(demo_db):
    operator_id = demo_db.operator_ids["Camille Martin"]
    session = demo_db.desk.start_session(operator_id, "Atelier", "collectif", "", 120)
    return session.id, operator_id


def _active(engine, code: str) -> list[Redemption]:
    with Session(engine) as session:
        return session.exec(
            select(Redemption).where(Redemption.code == code, Redemption.cancelled_at.is_(None))
        ).all()


def test_a_second_active_redemption_is_refused_by_the_database(demo_db, desk_session):
    code = demo_db.plain_valid_codes(1)[0]
    with Session(demo_db.engine) as session:
        first = _redemption(code, *desk_session)
        session.add(first)
        session.commit()
        first_id = first.id
    with Session(demo_db.engine) as session:
        session.add(_redemption(code, *desk_session, minutes=1))
        with pytest.raises(IntegrityError, match=r"UNIQUE constraint failed: redemption\.code"):
            session.commit()
    assert [row.id for row in _active(demo_db.engine, code)] == [first_id]


def test_raw_sql_cannot_bypass_the_index(demo_db, desk_session):
    code = demo_db.plain_valid_codes(1)[0]
    session_id, operator_id = desk_session
    insert = text(
        "INSERT INTO redemption (id, code, session_id, operator_id, redeemed_at, value_cents, "
        "input_method, raw_input) VALUES (:id, :code, :session_id, :operator_id, "
        "'2026-11-28 10:00:00.000000', 1000, 'scan', :code)"
    )
    params = {"code": code, "session_id": session_id, "operator_id": operator_id}
    with demo_db.engine.begin() as connection:
        connection.execute(insert, {**params, "id": "a"})
    with pytest.raises(IntegrityError), demo_db.engine.begin() as connection:
        connection.execute(insert, {**params, "id": "b"})


def test_after_cancelling_a_new_redemption_is_allowed(demo_db, desk_session):
    code = demo_db.plain_valid_codes(1)[0]
    with Session(demo_db.engine) as session:
        first = _redemption(code, *desk_session)
        session.add(first)
        session.commit()
        first.cancelled_at = NOW + timedelta(minutes=5)
        session.add(first)
        session.commit()
    with Session(demo_db.engine) as session:
        second = _redemption(code, *desk_session, minutes=10)
        session.add(second)
        session.commit()  # allowed: the first one is cancelled
        second_id = second.id
    # …and the index still guards the new active one.
    with Session(demo_db.engine) as session:
        session.add(_redemption(code, *desk_session, minutes=11))
        with pytest.raises(IntegrityError):
            session.commit()
    assert [row.id for row in _active(demo_db.engine, code)] == [second_id]
    with Session(demo_db.engine) as session:
        all_rows = session.exec(select(Redemption).where(Redemption.code == code)).all()
    assert len(all_rows) == 2


def test_cancel_then_redeem_again_through_the_desk(demo_db, desk_session):
    session_id, operator_id = desk_session
    desk = demo_db.desk
    code = demo_db.plain_valid_codes(1)[0]
    assert desk.redeem(session_id, operator_id, code).verdict is Verdict.VALID
    assert desk.redeem(session_id, operator_id, code).verdict is Verdict.REDEEMED_HERE
    line = desk.last_active_redemption(session_id)
    assert line is not None and line.code == code
    desk.cancel(line.id, operator_id, "erreur de saisie")
    assert desk.check(code).verdict is Verdict.VALID
    assert desk.redeem(session_id, operator_id, code).verdict is Verdict.VALID
    assert len(_active(demo_db.engine, code)) == 1
