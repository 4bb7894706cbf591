"""A redemption written on the raw connection (store/raw_rows.py) is stored and journaled
exactly as the ORM stores and journals the same redemption: same text in every column, same
journal line, and the journal's replay of it gives the same rows again."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlmodel import Session, select

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.domain.codes import make_code
from mediateur_tui.domain.scan_input import build_payload, signed_message
from mediateur_tui.domain.signatures import sign
from mediateur_tui.services.demo import demo_region_key
from mediateur_tui.services.desk import Desk
from mediateur_tui.store import journal
from mediateur_tui.store.audit import append_event
from mediateur_tui.store.engine import open_database, writer
from mediateur_tui.store.journal_file import contents, journal_path
from mediateur_tui.store.models import DeskSession, Programme, Redemption, RefusedScan
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME

from .conftest import NOW

TABLES = ("desk_session", "redemption", "audit_event", "refused_scan")


def copy_of(database: Path, folder: Path) -> Path:
    """A copy of the site's database and journal in `folder`, as they are now."""
    folder.mkdir()
    target = folder / DATABASE_FILENAME
    with sqlite3.connect(database) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    if journal_path(database).exists():
        shutil.copyfile(journal_path(database), journal_path(target))
    return target


def stored(database: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(database) as connection:
        return {
            table: connection.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
            for table in TABLES
        }


def last_entry(database: Path) -> journal.Entry:
    return contents(journal_path(database)).entries[-1]


def redeem_through_the_orm(database: Path, session_id: int, operator_id: int, taken: Redemption):
    """The same redemption as `taken`, written by the ORM as the desk wrote it before."""
    engine = open_database(database)
    try:
        with Session(writer(engine)) as session:
            journal.note_row(session, session.get(DeskSession, session_id))
            copy = Redemption(**taken.model_dump())
            session.add(copy)
            session.flush()
            details = {"id": copy.id, "code": copy.code, "value_cents": copy.value_cents}
            if copy.provisional:
                details["provisional"] = True
            append_event(session, copy.redeemed_at, "redemption", operator_id, details)
            session.commit()
    finally:
        engine.dispose()


def provisional_payload(demo_db) -> str:
    """A QR payload the region signed for a pass the replica does not list yet."""
    with Session(demo_db.engine) as session:
        programme = session.get(Programme, demo_db.demo.programme)
    code = make_code("000000000000")
    signature = sign(demo_region_key(), signed_message(programme.id, code, programme.valid_until))
    return build_payload(programme.id, code, programme.valid_until, signature)


@pytest.mark.parametrize("kind", ["bare code", "QR payload", "provisional"])
def test_the_raw_redemption_is_the_orm_redemption(demo_db, tmp_path, kind):
    desk = Desk(demo_db.engine, clock=fixed_clock(NOW))
    operator = demo_db.operator.id
    session_id = desk.start_session(operator, "Atelier", "collectif", "courriel", 90).id
    entries = demo_db.demo.codes["valid"]
    text = {
        "bare code": next(entry for entry in entries if not entry.startswith("PN1:")),
        "QR payload": next(entry for entry in entries if entry.startswith("PN1:")),
        "provisional": provisional_payload(demo_db),
    }[kind]
    before = copy_of(demo_db.path, tmp_path / "before")

    scanned = desk.record_scan(session_id, operator, text)

    assert scanned.line is not None and scanned.result.provisional is (kind == "provisional")
    with Session(demo_db.engine) as session:
        taken = session.get(Redemption, scanned.line.id)
    orm = copy_of(before, tmp_path / "orm")
    redeem_through_the_orm(orm, session_id, operator, taken)
    assert stored(demo_db.path) == stored(orm)
    assert last_entry(demo_db.path) == last_entry(orm)
    # The journal's line writes the same rows back into the database as it was before.
    replayed = open_database(before)
    try:
        with replayed.begin() as connection:
            journal.replay(connection, last_entry(demo_db.path))
    finally:
        replayed.dispose()
    assert stored(before) == stored(demo_db.path)


def test_a_refused_scan_is_stored_as_the_orm_stores_it(demo_db, tmp_path):
    desk = Desk(demo_db.engine, clock=fixed_clock(NOW))
    operator = demo_db.operator.id
    session_id = desk.start_session(operator, "Atelier", "collectif", "", 60).id
    before = copy_of(demo_db.path, tmp_path / "before")

    scanned = desk.record_scan(session_id, operator, demo_db.demo.codes["revoked"][0])

    assert scanned.line is None and not scanned.result.redeemable
    with Session(demo_db.engine) as session:
        (refusal,) = session.exec(select(RefusedScan)).all()
    engine = open_database(before)
    try:
        with Session(writer(engine)) as session:
            session.add(RefusedScan(**refusal.model_dump(exclude={"id"})))
            session.commit()
    finally:
        engine.dispose()
    assert stored(before) == stored(demo_db.path)
    assert contents(journal_path(before)) == contents(journal_path(demo_db.path))  # no line
