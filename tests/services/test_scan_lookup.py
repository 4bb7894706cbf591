"""The scan path's one statement (store/scan_lookup.py) gives exactly the facts of the ORM
queries (store/queries.py), on every kind of pass of the demo and on passes taken here, taken
here and refused by the region, taken here provisionally, and unknown."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.domain.codes import ALPHABET, DATA_LENGTH, make_code
from mediateur_tui.domain.scan_input import parse_scan
from mediateur_tui.services.demo import CATEGORIES
from mediateur_tui.services.desk import Desk
from mediateur_tui.store import queries
from mediateur_tui.store.answers import Answer, record_answers
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.models import Redemption
from mediateur_tui.store.scan_lookup import scan_lookup

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
    found = scan_lookup(session.connection(), code)
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
    return chosen + taken + unknown


def test_one_statement_gives_the_facts_of_the_orm_queries(demo_db, codes):
    with Session(demo_db.engine) as session:
        for code in codes:
            assert looked_up(session, code) == orm_facts(session, code), code


def test_the_statement_sees_what_the_orm_sees_of_a_region_refusal(demo_db, codes):
    refused = codes[-3]
    with Session(demo_db.engine) as session:
        facts, here, _ = looked_up(session, refused)
    assert facts is not None and facts.redeemed_here is here
    assert here is not None and here.region_refusal is not None
    assert here.region_refusal.winner_at == WINNER_AT


def test_without_a_replica_there_is_nothing_to_look_up(tmp_path):
    engine = open_database(tmp_path / "vide.sqlite3")
    try:
        with Session(engine) as session:
            assert scan_lookup(session.connection(), "X") is None
    finally:
        engine.dispose()
