"""Migrations: a new file gets the whole schema, old files keep their data, models match."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import timedelta

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from migration_checks import revision_of, schema_diff
from sqlalchemy import Column, MetaData, String, inspect, text
from sqlmodel import Session, SQLModel, select

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.domain.pins import hash_pin
from mediateur_tui.domain.verdicts import Verdict
from mediateur_tui.services.desk import Desk
from mediateur_tui.store import models  # noqa: F401  registers the tables
from mediateur_tui.store.audit import append_event, verify_chain
from mediateur_tui.store.engine import alembic_config, make_engine, open_database, upgrade
from mediateur_tui.store.errors import DatabaseDamaged
from mediateur_tui.store.sqlite_file import SCHEMA_REVISION

from .helpers import NOW

SCRIPTS = ScriptDirectory.from_config(alembic_config(None))
HEAD = SCRIPTS.get_current_head()
ALL_REVISIONS = [script.revision for script in SCRIPTS.walk_revisions()]


def test_there_is_one_linear_history():
    assert len(SCRIPTS.get_heads()) == 1
    # walk_revisions goes from head down to base; revisions are numbered in order
    assert [f"{number:04d}" for number in range(len(ALL_REVISIONS), 0, -1)] == ALL_REVISIONS


def test_schema_revision_constant_is_alembics_head():
    # open_database skips Alembic when the file is at SCHEMA_REVISION: a new migration
    # must move the constant, or existing databases would never be upgraded.
    assert SCHEMA_REVISION == HEAD


def test_a_database_behind_the_latest_revision_is_upgraded_on_open(tmp_path, monkeypatch):
    path = tmp_path / "old.sqlite3"
    upgrade(make_engine(path), "0001")
    monkeypatch.setattr("mediateur_tui.store.engine.SCHEMA_REVISION", "9999")
    upgraded = []
    monkeypatch.setattr(
        "mediateur_tui.store.engine.upgrade", lambda engine: upgraded.append(engine)
    )
    open_database(path)
    assert len(upgraded) == 1


def test_open_database_on_a_new_file_creates_every_table(tmp_path):
    path = tmp_path / "not" / "yet" / "there.sqlite3"
    engine = open_database(path)
    try:
        assert path.exists()
        tables = set(inspect(engine).get_table_names())
        assert tables == set(SQLModel.metadata.tables) | {"alembic_version"}
        assert revision_of(engine) == HEAD
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(db_path):
    """A model changed without a new migration makes this diff non-empty."""
    engine = open_database(db_path)
    try:
        assert schema_diff(engine, SQLModel.metadata) == []
    finally:
        engine.dispose()


def test_the_schema_comparison_does_see_a_model_change(db_path):
    """Guards the test above: an extra column in the models is reported."""
    engine = open_database(db_path)
    changed = MetaData()
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["redemption"].append_column(Column("note", String(), nullable=True))
    try:
        diff = schema_diff(engine, changed)
        assert [(d[0], d[2], d[3].name) for d in diff] == [("add_column", "redemption", "note")]
    finally:
        engine.dispose()


def test_the_partial_unique_index_is_in_the_migrated_schema(db_path):
    # compare_metadata does not compare an index's WHERE clause: check it here.
    engine = open_database(db_path)
    try:
        with engine.connect() as connection:
            sql = connection.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'uq_redemption_active_code'")
            ).scalar_one()
        normalised = " ".join(sql.split()).upper()
        assert normalised.startswith("CREATE UNIQUE INDEX")
        assert normalised.endswith("WHERE CANCELLED_AT IS NULL")
    finally:
        engine.dispose()


@pytest.mark.parametrize("revision", ALL_REVISIONS)
def test_upgrade_from_every_revision_reaches_the_models(db_path, revision):
    engine = make_engine(db_path)
    try:
        upgrade(engine, revision)
        assert revision_of(engine) == revision
        upgrade(engine)
        assert revision_of(engine) == HEAD
        assert schema_diff(engine, SQLModel.metadata) == []
    finally:
        engine.dispose()


# Rows written in the schema of revision 0001, with plain SQL so that later model changes do
# not change what "a database made by version 0001" looks like.
_DAY = NOW.date()
_ROWS_0001 = [
    ("INSERT INTO site (id, name) VALUES ('S1', 'Site un')", {}),
    (
        "INSERT INTO programme (id, label, value_cents, valid_from, valid_until, grace_until) "
        "VALUES ('HDFNUM', 'Pass numérique', 1000, :start, :end, :grace)",
        {
            "start": (_DAY - timedelta(days=90)).isoformat(),
            "end": (_DAY + timedelta(days=180)).isoformat(),
            "grace": (_DAY + timedelta(days=211)).isoformat(),
        },
    ),
    ("INSERT INTO programme_site (programme_id, site_id) VALUES ('HDFNUM', 'S1')", {}),
    (
        "INSERT INTO carnet (id, programme_id, size, attributed_on, beneficiary_ref) "
        "VALUES ('C1', 'HDFNUM', 5, :day, 'B1')",
        {"day": _DAY.isoformat()},
    ),
    (
        "INSERT INTO pass (code, carnet_id, programme_id) VALUES "
        "(:taken, 'C1', 'HDFNUM'), (:free, 'C1', 'HDFNUM'), (:revoked, 'C1', 'HDFNUM')",
        {},
    ),
    (
        "INSERT INTO revocation (code, reason, revoked_on) VALUES (:revoked, 'lost', :day)",
        {"day": _DAY.isoformat()},
    ),
    (
        "INSERT INTO replica_meta (id, region_id, site_id, updated_at, pass_count) "
        "VALUES (1, 'HDF', 'S1', '2026-11-28 09:00:00.000000', 3)",
        {},
    ),
    (
        "INSERT INTO operator (id, name, role, pin_hash, failed_attempts) "
        "VALUES (7, 'Ancienne Opératrice', 'mediateur', :pin_hash, 0)",
        {"pin_hash": hash_pin("2468")},
    ),
    (
        "INSERT INTO desk_session (id, title, kind, themes, duration_minutes, operator_id, "
        "started_at) VALUES (3, 'Atelier d''avant', 'collectif', '', 120, 7, "
        "'2026-11-28 08:00:00.000000')",
        {},
    ),
    (
        "INSERT INTO redemption (id, code, session_id, operator_id, redeemed_at, value_cents, "
        "input_method, raw_input) VALUES ('r-old', :taken, 3, 7, '2026-11-28 08:30:00.000000', "
        "1000, 'scan', :taken)",
        {},
    ),
]
_CODES = {"taken": "7M6ETZWF057JV", "free": "6W0ZMDSGPPR4Y", "revoked": "N5JJX9K1QQXVD"}


def _counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table: connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
            for table in inspect(connection).get_table_names()
            if table != "alembic_version"
        }


def test_upgrade_keeps_the_data_of_a_revision_0001_database(db_path):
    engine = make_engine(db_path)
    upgrade(engine, "0001")
    with engine.begin() as connection:
        for sql, params in _ROWS_0001:
            connection.execute(text(sql), {**_CODES, **params})
    with Session(engine) as session:
        append_event(session, NOW, "redemption", 7, {"id": "r-old", "code": _CODES["taken"]})
        session.commit()
    before = _counts(engine)
    engine.dispose()

    engine = open_database(db_path)  # what the app does on start: migrate to head
    try:
        assert revision_of(engine) == HEAD
        after = _counts(engine)
        assert {table: after[table] for table in before} == before
        assert before["pass"] == 3 and before["redemption"] == 1 and before["audit_event"] == 1

        desk = Desk(engine, clock=fixed_clock(NOW))
        taken = desk.check(_CODES["taken"])
        assert taken.verdict is Verdict.REDEEMED_HERE
        assert taken.details["seance"] == "Atelier d'avant"
        assert taken.details["par"] == "Ancienne Opératrice"
        assert desk.check(_CODES["revoked"]).verdict is Verdict.REVOKED
        assert desk.redeem(3, 7, _CODES["free"]).verdict is Verdict.VALID  # still writable
        assert desk.check(_CODES["free"]).verdict is Verdict.REDEEMED_HERE
        with Session(engine) as session:
            assert verify_chain(session) == (2, None)
    finally:
        engine.dispose()


def test_reopening_keeps_the_data(demo_db):
    code = demo_db.plain_valid_codes(1)[0]
    operator_id = demo_db.operator_ids["Camille Martin"]
    session_id = demo_db.desk.start_session(operator_id, "Séance", "individuel", "", 60).id
    assert demo_db.desk.redeem(session_id, operator_id, code).verdict is Verdict.VALID
    before = _counts(demo_db.engine)
    demo_db.engine.dispose()
    engine = open_database(demo_db.path)
    try:
        assert _counts(engine) == before
        assert Desk(engine, clock=fixed_clock(NOW)).check(code).verdict is Verdict.REDEEMED_HERE
    finally:
        engine.dispose()


def test_the_answers_of_imported_acknowledgements_are_kept_as_already_reported(tmp_path):
    """0006 copies each ack line into region_answer: `check` knows of a refusal the region
    sent before the upgrade, and the next sync does not report it as new."""
    path = tmp_path / "avant.sqlite3"
    engine = make_engine(path)
    upgrade(engine, "0005")
    at = "2026-10-14 10:00:00.000000"
    acknowledged = "2026-11-02 08:00:00.000000"
    with engine.begin() as connection:
        for sql in (
            "INSERT INTO operator (id, name, role, pin_hash, failed_attempts) "
            "VALUES (1, 'Camille', 'mediateur', 'x', 0)",
            "INSERT INTO desk_session (id, title, kind, themes, duration_minutes, operator_id, "
            f"started_at) VALUES (1, 'Atelier', 'collectif', '', 60, 1, '{at}')",
            "INSERT INTO batch (batch_id, period, sequence, sealed_at, document_hash, document, "
            "redemption_count, value_cents, refused_count, acknowledged_at) VALUES "
            f"('b1', '2026-10', 1, '{at}', 'h', '{{}}', 2, 2000, 0, '{acknowledged}')",
            "INSERT INTO redemption (id, code, session_id, operator_id, redeemed_at, "
            "value_cents, input_method, raw_input, batch_id) VALUES "
            f"('r1', 'C1', 1, 1, '{at}', 1000, 'scan', 'C1', 'b1'), "
            f"('r2', 'C2', 1, 1, '{at}', 1000, 'scan', 'C2', 'b1')",
            "INSERT INTO ack_line (batch_id, redemption_id, code, verdict, reason, "
            "winner_site_id, winner_redeemed_at) VALUES "
            "('b1', 'r1', 'C1', 'accepted', NULL, NULL, NULL), "
            f"('b1', 'r2', 'C2', 'refused', 'conflict', 'FOURMIES', '{at}')",
        ):
            connection.execute(text(sql))
    upgrade(engine)
    with engine.connect() as connection:
        answers = connection.execute(
            text(
                "SELECT redemption_id, verdict, reason, winner_site_id, answered_at, reported_at "
                "FROM region_answer ORDER BY redemption_id"
            )
        ).all()
    engine.dispose()
    assert [tuple(row) for row in answers] == [
        ("r1", "accepted", None, None, acknowledged, acknowledged),
        ("r2", "refused", "conflict", "FOURMIES", acknowledged, acknowledged),
    ]


def _replica_rows(engine) -> list[tuple]:
    """Every pass with its carnet's facts, in the schema of 0007."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT p.code, c.id, c.programme_id, c.size, c.attributed_on, c.beneficiary_ref "
                "FROM pass p JOIN carnet c ON c.ref = p.carnet_ref ORDER BY p.code"
            )
        )
        return [tuple(row) for row in rows]


def test_0007_converts_a_revision_0006_replica_in_place(db_path):
    """Every pass keeps its carnet and programme, every carnet its facts, the site's own data
    stays as it was (redemptions name codes, not rowids), and the check still sees them."""
    engine = make_engine(db_path)
    upgrade(engine, "0006")
    with engine.begin() as connection:
        for sql, params in _ROWS_0001:
            connection.execute(text(sql), {**_CODES, **params})
        connection.execute(
            text(
                "INSERT INTO carnet (id, programme_id, size, attributed_on, beneficiary_ref) "
                "VALUES ('C0', 'HDFNUM', 5, NULL, NULL)"
            )
        )
        connection.execute(
            text("INSERT INTO pass (code, carnet_id, programme_id) VALUES (:code, 'C0', 'HDFNUM')"),
            {"code": "2ZZZ0000AAAAQ"},
        )
        connection.execute(
            text(
                "INSERT INTO remote_redemption (code, site_id, redeemed_on) "
                "VALUES ('2ZZZ0000AAAAQ', 'S1', '2026-11-20')"
            )
        )
        old_passes = connection.execute(
            text(
                "SELECT p.code, c.id, p.programme_id, c.size, c.attributed_on, c.beneficiary_ref "
                "FROM pass p JOIN carnet c ON c.id = p.carnet_id ORDER BY p.code"
            )
        ).all()
    before = _counts(engine)

    upgrade(engine, "0007")
    try:
        assert revision_of(engine) == "0007"
        assert _replica_rows(engine) == [tuple(row) for row in old_passes]
        assert len(old_passes) == 4
        assert _counts(engine) == before
        with engine.connect() as connection:
            table_sql = connection.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'pass'")
            ).scalar_one()
            assert "WITHOUT ROWID" in table_sql.upper()
            assert 'REFERENCES "carnet"' in table_sql or "REFERENCES carnet" in table_sql
            assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
        upgrade(engine, SCHEMA_REVISION)  # today's desk reads today's schema
        desk = Desk(engine, clock=fixed_clock(NOW))
        assert desk.check(_CODES["taken"]).verdict is Verdict.REDEEMED_HERE
        assert desk.check(_CODES["revoked"]).verdict is Verdict.REVOKED
        assert desk.check(_CODES["free"]).verdict is Verdict.VALID
        desk.close()

        command.downgrade(alembic_config(engine), "0006")  # and back, nothing lost
        with engine.connect() as connection:
            again = connection.execute(
                text(
                    "SELECT p.code, c.id, p.programme_id, c.size, c.attributed_on, "
                    "c.beneficiary_ref FROM pass p JOIN carnet c ON c.id = p.carnet_id "
                    "ORDER BY p.code"
                )
            ).all()
        assert again == old_passes
        assert _counts(engine) == before
    finally:
        engine.dispose()


def test_0007_refuses_a_replica_whose_pass_names_a_missing_carnet(db_path):
    """A file written with foreign keys off: converting it would lose the pass; it is said."""
    engine = make_engine(db_path)
    upgrade(engine, "0006")
    with engine.begin() as connection:
        for sql, params in _ROWS_0001:
            connection.execute(text(sql), {**_CODES, **params})
    with closing(sqlite3.connect(db_path)) as raw, raw:  # foreign keys are off by default
        raw.execute(
            "INSERT INTO pass (code, carnet_id, programme_id) "
            "VALUES ('2ZZZ0000AAAAQ', 'C?', 'HDFNUM')"
        )
    try:
        with pytest.raises(DatabaseDamaged, match="1 pass de la réplique renvoie à"):
            upgrade(engine, "0007")
        assert revision_of(engine) == "0006"
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM pass")).scalar_one() == 4
    finally:
        engine.dispose()


def test_0010_gives_existing_sessions_their_activity(tmp_path):
    """A real file at 0009 with sessions: each keeps its type and duration, its day is the
    French day it started, its place the site, its free-text themes become tags, it has no
    thématique; the desk reads it as an Activity and the export has it."""
    from mediateur_tui.domain.activity import TypeActivite, TypeLieu
    from mediateur_tui.services.activity import activity_of, last_activity
    from mediateur_tui.store.models import DeskSession

    path = tmp_path / "avant.sqlite3"
    engine = make_engine(path)
    upgrade(engine, "0009")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO operator (id, name, role, pin_hash, failed_attempts) "
                "VALUES (1, 'Camille', 'mediateur', 'x', 0)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO desk_session (id, title, kind, themes, duration_minutes, "
                "operator_id, started_at) VALUES "
                "(1, 'Atelier', 'collectif', 'démarches en ligne, courriel; courriel', 120, 1, "
                "'2026-11-27 23:30:00.000000'), "
                "(2, 'Séance', 'individuel', '', 45, 1, '2026-11-28 09:00:00.000000')"
            )
        )
    engine.dispose()

    engine = open_database(path)
    try:
        assert revision_of(engine) == HEAD
        with Session(engine) as session:
            rows = {row.id: row for row in session.exec(select(DeskSession)).all()}
            atelier, seance = activity_of(rows[1]), activity_of(rows[2])
            assert rows[1].themes == "démarches en ligne, courriel; courriel"  # kept as it was
        assert atelier.type is TypeActivite.COLLECTIF
        assert atelier.duration_minutes == 120
        assert atelier.date.isoformat() == "2026-11-28"  # 23:30 UTC is 00:30 in Paris
        assert atelier.place_type is TypeLieu.LIEU_ACTIVITE
        assert atelier.tags == ("démarches en ligne", "courriel")
        assert atelier.thematiques == () and atelier.equipment == ()
        assert atelier.title == "Atelier"
        assert (seance.type, seance.duration_minutes, seance.tags) == (
            TypeActivite.INDIVIDUEL,
            45,
            (),
        )
        assert last_activity(engine, 1) == seance
        with engine.connect() as connection:
            stored = connection.execute(
                text("SELECT thematiques, tags, place_type FROM desk_session WHERE id = 1")
            ).one()
        assert tuple(stored) == ("[]", '["démarches en ligne", "courriel"]', "lieu_activite")
    finally:
        engine.dispose()


def test_0011_keeps_the_sites_without_identity_until_the_region_gives_it(tmp_path):
    """A real file at 0010 with the region's sites: each keeps its name, with no identity (the
    slip then prints none); a site change that carries one fills it in."""
    from mediateur_tui.store.models import Site
    from mediateur_tui.store.replica import apply_changes

    path = tmp_path / "avant.sqlite3"
    engine = make_engine(path)
    upgrade(engine, "0010")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO site (id, name) VALUES ('A', 'EPN'), ('B', 'Média')"))
    engine.dispose()

    engine = open_database(path)
    try:
        assert revision_of(engine) == HEAD
        assert schema_diff(engine, SQLModel.metadata) == []
        with Session(engine) as session:
            sites = {row.id: row for row in session.exec(select(Site)).all()}
        assert [(row.name, row.identity()) for row in sites.values()] == [
            ("EPN", None),
            ("Média", None),
        ]
        change = {"t": "site", "id": "A", "name": "EPN", "pivot": "12345678200010"}
        change |= {"code_insee": "59036", "code_postal": "59440"}
        with engine.begin() as connection:
            apply_changes(connection, [change], "A")
        with Session(engine) as session:
            row = session.get(Site, "A")
            assert row is not None and row.pivot == "12345678200010"
            assert row.code_postal == "59440"
    finally:
        engine.dispose()
