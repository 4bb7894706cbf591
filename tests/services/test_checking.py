"""The quick check (services/checking.py): the verdicts of the ORM's facts on every kind of
demo pass, from two threads at once, the French refusals of a database it cannot trust, and
no SQLAlchemy loaded."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import Session

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.scan_input import parse_scan
from mediateur_tui.domain.verdicts import decide
from mediateur_tui.services.checking import open_checker
from mediateur_tui.services.demo import CATEGORIES
from mediateur_tui.store import queries
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.errors import DatabaseDamaged, TailLost
from mediateur_tui.store.journal_file import Entry, append, journal_path
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME

from .conftest import NOW


def orm_verdict(demo_db, text: str):
    """The verdict decided on the ORM queries' facts (store/queries.py), the reference."""
    scan = parse_scan(text)
    with Session(demo_db.engine) as session:
        meta = queries.replica_meta(session)
        assert meta is not None and scan.code is not None
        facts = queries.pass_facts(session, scan.code, meta.site_id)
        state = queries.replica_state(session)
    return decide(scan, facts, state, NOW)


def test_the_quick_check_gives_the_orm_verdict_on_every_kind_of_pass(demo_db):
    texts = [text for category in CATEGORIES for text in demo_db.demo.codes[category][:3]]
    checker = open_checker(demo_db.path.parent, clock=fixed_clock(NOW))
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:  # the desk checks from its workers
            quick = list(pool.map(checker.check, texts))
    finally:
        checker.close()
    assert [result.verdict for result in quick] == [orm_verdict(demo_db, t).verdict for t in texts]
    assert len({result.verdict for result in quick}) >= len(CATEGORIES) - 1


def test_no_database_is_said_and_none_is_created(tmp_path):
    with pytest.raises(UserError, match="Aucune base de données"):
        open_checker(tmp_path)
    assert not (tmp_path / DATABASE_FILENAME).exists()


def test_a_database_without_a_replica_is_said(tmp_path):
    open_database(tmp_path / DATABASE_FILENAME).dispose()
    with pytest.raises(UserError, match="ne contient pas de réplique"):
        open_checker(tmp_path)


def test_a_database_that_lost_its_last_transactions_is_refused(demo_db):
    append(journal_path(demo_db.path), Entry([_event(999_999)], []))
    with pytest.raises(TailLost):
        open_checker(demo_db.path.parent)


def test_garbage_in_place_of_the_database_is_refused_in_french(tmp_path):
    (tmp_path / DATABASE_FILENAME).write_bytes(b"ceci n'est pas une base" * 100)
    with pytest.raises(DatabaseDamaged):
        open_checker(tmp_path)


def test_a_damaged_page_is_said_in_french_at_the_check(demo_db, tmp_path):
    folder = tmp_path / "abimee"
    folder.mkdir()
    demo_db.engine.dispose()
    copy = folder / DATABASE_FILENAME
    shutil.copyfile(demo_db.path, copy)
    if (wal := demo_db.path.with_name(f"{DATABASE_FILENAME}-wal")).exists():
        shutil.copyfile(wal, folder / wal.name)
    checker = open_checker(folder, clock=fixed_clock(NOW))
    checker.close()
    _damage_the_pass_table(copy)
    checker = open_checker(folder, clock=fixed_clock(NOW))
    try:
        with pytest.raises(DatabaseDamaged):
            for text in demo_db.demo.codes["valid"]:
                checker.check(text)
    finally:
        checker.close()


def test_the_quick_check_loads_no_sqlalchemy():
    code = (
        "import sys, mediateur_tui.services.checking\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'sqlalchemy', 'sqlmodel', 'alembic', 'httpx', 'textual'}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"


def _event(event_id: int) -> dict[str, object]:
    return {"table": "audit_event", "values": {"id": event_id, "hash": "x"}}


def _damage_the_pass_table(path) -> None:
    """Overwrites the root page of the pass table with garbage (the file's header stays)."""
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        root = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'pass'"
        ).fetchone()[0]
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    connection.close()
    with path.open("r+b") as stream:
        stream.seek((root - 1) * page_size)
        stream.write(b"\xff" * page_size)
