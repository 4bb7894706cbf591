"""The scan path's one statement (store/scan_lookup.py) gives exactly the facts of the ORM
queries (store/queries.py), on every kind of pass of the demo and on passes taken here, taken
here and refused by the region, taken here provisionally, and unknown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.domain.codes import ALPHABET, DATA_LENGTH, make_code
from mediateur_tui.domain.scan_input import build_payload, parse_scan, signed_message
from mediateur_tui.domain.signatures import sign
from mediateur_tui.services.demo import CATEGORIES, demo_region_key
from mediateur_tui.services.desk import Desk
from mediateur_tui.store import queries
from mediateur_tui.store.answers import Answer, record_answers
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.models import Programme, Redemption
from mediateur_tui.store.scan_lookup import SCAN_STATEMENT, ScanRow, scan_lookup

from .conftest import NOW

WINNER_AT = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)


def normalised(text: str) -> str:
    """The code of a demo input (a bare code or a signed QR payload)."""
    code = parse_scan(text).code
    assert code is not None
    return code


def orm_facts(session: Session, code: str):
    meta = queries.replica_meta(session)
    assert meta is not None
    return (
        queries.pass_facts(session, code, meta.site_id),
        queries.active_local_redemption(session, code),
        queries.replica_state(session),
    )


def looked_up(session: Session, code: str):
    raw = session.connection().connection.driver_connection
    found = scan_lookup(raw, Path(str(session.get_bind().url.database)), code)
    assert found is not None
    return found.facts, found.redeemed_here, found.replica


@pytest.fixture
def codes(demo_db) -> list[str]:
    """Three passes of every demo category, two taken here (one then refused by the region
    for a conflict, the winner named), and two codes the registry does not know."""
    demo = demo_db.demo
    chosen = [normalised(code) for category in CATEGORIES for code in demo.codes[category][:3]]
    desk = Desk(demo_db.engine, clock=fixed_clock(NOW))
    session_id = desk.start_session(demo_db.operator.id, "Atelier", "collectif", "", 60).id
    taken = [normalised(code) for code in demo.codes["valid"][3:5]]
    for code in taken:
        assert desk.redeem(session_id, demo_db.operator.id, code).redeemable
    with Session(demo_db.engine) as session:
        refused = session.exec(select(Redemption).where(Redemption.code == taken[1])).one()
        record_answers(
            session,
            [Answer(refused.id, "refused", "conflict", "FOURMIES-MEDIA", WINNER_AT)],
            NOW,
        )
        session.commit()
    unknown = [make_code(ALPHABET[0] * DATA_LENGTH), make_code(ALPHABET[5] * DATA_LENGTH)]
    return chosen + taken + unknown + _odd_cases(demo_db, desk, session_id)


def _odd_cases(demo_db, desk: Desk, session_id: int) -> list[str]:
    """Codes in the states the demo does not make: taken then cancelled, accepted by the
    region, refused with a winner the replica does not know, taken elsewhere at a site the
    replica does not know, taken here provisionally (a signed QR of a code the replica
    lacks), and a programme accepted at every site ('*')."""
    valid = [normalised(code) for code in demo_db.demo.codes["valid"][5:9]]
    cancelled, accepted, stranger_won, elsewhere = valid
    operator = demo_db.operator.id
    for code in (cancelled, accepted, stranger_won):
        assert desk.redeem(session_id, operator, code).redeemable
    provisional = make_code(ALPHABET[9] * DATA_LENGTH)
    with Session(demo_db.engine) as session:
        programme = session.get(Programme, demo_db.demo.programme)
        assert programme is not None
    signature = sign(
        demo_region_key(), signed_message(programme.id, provisional, programme.valid_until)
    )
    payload = build_payload(programme.id, provisional, programme.valid_until, signature)
    assert desk.redeem(session_id, operator, payload).provisional
    with Session(demo_db.engine) as session:
        ids = {
            row.code: row.id
            for row in session.exec(select(Redemption).where(col(Redemption.code).in_(valid)))
        }
        record_answers(
            session,
            [
                Answer(ids[accepted], "accepted", None, None, None),
                Answer(ids[stranger_won], "refused", "conflict", "SITE-INCONNU", WINNER_AT),
            ],
            NOW,
        )
        session.commit()
    desk.cancel(ids[cancelled], operator, "Erreur de lecture")
    with demo_db.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO remote_redemption (code, site_id, redeemed_on) "
            "VALUES (?, 'AUTRE-INCONNU', '2026-03-08')",
            (elsewhere,),
        )
        connection.exec_driver_sql(
            "INSERT INTO programme_site (programme_id, site_id) VALUES ('LYCEE', '*')"
        )
    return [*valid, provisional]


def test_one_statement_gives_the_facts_of_the_orm_queries(demo_db, codes):
    with Session(demo_db.engine) as session:
        for code in codes:
            assert looked_up(session, code) == orm_facts(session, code), code


def test_the_odd_cases_are_really_there(demo_db, codes):
    """The fixture makes what it says (else the comparison above would prove little)."""
    cancelled, accepted, stranger_won, elsewhere, provisional = codes[-5:]
    with Session(demo_db.engine) as session:
        facts = {code: looked_up(session, code) for code in codes[-5:]}
    assert facts[cancelled][1] is None  # cancelled: no active redemption
    assert facts[accepted][1] is not None and facts[accepted][1].region_refusal is None
    refusal = facts[stranger_won][1].region_refusal
    assert refusal is not None and refusal.winner_site_name == "SITE-INCONNU"
    assert refusal.winner_at == WINNER_AT
    assert facts[elsewhere][0].redeemed_elsewhere.site_name == "AUTRE-INCONNU"
    assert facts[provisional][0] is None and facts[provisional][1] is not None
    lycee = next(code for code in codes if looked_up_programme(demo_db, code) == "LYCEE")
    with Session(demo_db.engine) as session:
        assert looked_up(session, lycee)[0].accepted_here  # by the '*' row


def looked_up_programme(demo_db, code: str) -> str | None:
    with Session(demo_db.engine) as session:
        facts = looked_up(session, code)[0]
    return facts.programme_id if facts else None


def test_without_a_replica_there_is_nothing_to_look_up(tmp_path):
    engine = open_database(tmp_path / "vide.sqlite3")
    try:
        with Session(engine) as session:
            raw = session.connection().connection.driver_connection
            assert scan_lookup(raw, tmp_path / "vide.sqlite3", "X") is None
    finally:
        engine.dispose()


def test_the_row_names_each_column_of_the_statement_in_order(demo_db):
    with Session(demo_db.engine) as session:
        raw = session.connection().connection.driver_connection
        cursor = raw.execute(SCAN_STATEMENT, {"code": "", "refused": "refused"})
        assert [column[0] for column in cursor.description] == list(ScanRow._fields)


def test_the_replica_state_follows_its_row(demo_db):
    """The state read from the row is kept by its values: a change of the row (a sync, an
    import) gives the new state at the next scan."""
    code = normalised(demo_db.demo.codes["valid"][0])
    with Session(demo_db.engine) as session:
        before = looked_up(session, code)[2]
    later = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)
    with demo_db.engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE replica_meta SET updated_at = ?", (later.replace(tzinfo=None).isoformat(" "),)
        )
    with Session(demo_db.engine) as session:
        after = looked_up(session, code)[2]
        assert after == queries.replica_state(session)
        raw = session.connection().connection.driver_connection
        found = scan_lookup(raw, Path(str(session.get_bind().url.database)), code, timedelta(1))
        assert found is not None and found.replica.max_age == timedelta(1)
    assert before.updated_at != later and after.updated_at == later
    assert after.max_age != timedelta(1)
