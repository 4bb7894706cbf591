"""The hub's migrations: a new database gets the whole schema, on SQLite and PostgreSQL (the
`settings` fixture), the migrated schema matches the models, and a database made by
`create_all` before the hub had migrations is stamped rather than rebuilt."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from migration_checks import revision_of, schema_diff
from sqlalchemy import Column, MetaData, String, event, inspect, text

from mediateur_tui.hub.database import (
    HUB_SCHEMA_REVISION,
    HubSettings,
    alembic_config,
    make_engine,
    open_engine,
    upgrade,
)
from mediateur_tui.hub.errors import HubError
from mediateur_tui.hub.models import hub_registry

SCRIPTS = ScriptDirectory.from_config(alembic_config(None))
HEAD = SCRIPTS.get_current_head()
ALL_REVISIONS = [script.revision for script in SCRIPTS.walk_revisions()]


def engine_at(settings: HubSettings, revision: str):
    """The hub's database (a new one) migrated up to `revision` only."""
    if settings.database_url.startswith("sqlite"):
        settings.directory.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    upgrade(engine, revision)
    return engine


BATCH_RECEIVED_AT = "2026-12-01 09:30:00"


def insert_site_and_batch(connection, document: dict) -> None:
    """Site 'A' and its batch 'B1', received at BATCH_RECEIVED_AT, holding `document`."""
    at = {"at": BATCH_RECEIVED_AT}
    connection.execute(
        text("INSERT INTO hub_site (id, name, created_at) VALUES ('A', 'EPN', :at)"), at
    )
    connection.execute(
        text(
            "INSERT INTO hub_batch (batch_id, site_id, period, sequence, received_at, "
            "document_hash, document, ack) VALUES ('B1', 'A', '2026-11', 1, :at, 'h', "
            ":document, '{}')"
        ),
        at | {"document": json.dumps(document)},
    )


def _tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_there_is_one_linear_history():
    assert len(SCRIPTS.get_heads()) == 1
    # revisions are numbered in order, from 0001
    assert [f"{number:04d}" for number in range(1, len(ALL_REVISIONS) + 1)] == ALL_REVISIONS[::-1]


def test_hub_schema_revision_constant_is_alembics_head():
    # open_engine skips Alembic when the database is at HUB_SCHEMA_REVISION: a new migration
    # must move the constant, or existing databases would never be upgraded.
    assert HUB_SCHEMA_REVISION == HEAD


def test_a_new_database_gets_every_table_and_matches_the_models(settings: HubSettings):
    engine = open_engine(settings)
    try:
        assert _tables(engine) == set(hub_registry.metadata.tables) | {"alembic_version"}
        assert revision_of(engine) == HEAD
        assert schema_diff(engine, hub_registry.metadata) == []
    finally:
        engine.dispose()


def test_the_schema_comparison_does_see_a_model_change(sqlite_settings: HubSettings):
    """Guards the test above: an extra column in the models is reported."""
    engine = open_engine(sqlite_settings)
    changed = MetaData()
    for table in hub_registry.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["hub_site"].append_column(Column("note", String(), nullable=True))
    try:
        diff = schema_diff(engine, changed)
        assert [(d[0], d[2], d[3].name) for d in diff] == [("add_column", "hub_site", "note")]
    finally:
        engine.dispose()


def test_the_schema_comparison_does_see_a_partial_index_made_whole(settings: HubSettings):
    """Guards the same test: Alembic does not compare an index's WHERE, schema_diff does. The
    outstanding lines' index rebuilt without its WHERE (every declared line) is reported."""
    engine = open_engine(settings)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP INDEX ix_hub_declared_line_outstanding"))
            connection.execute(
                text("CREATE INDEX ix_hub_declared_line_outstanding ON hub_declared_line (site_id)")
            )
        assert schema_diff(engine, hub_registry.metadata) == [
            (
                "index_where",
                "hub_declared_line",
                "ix_hub_declared_line_outstanding",
                None,
                "batch_id IS NULL",
            )
        ]
    finally:
        engine.dispose()


def test_reopening_is_a_no_op(settings: HubSettings, monkeypatch):
    open_engine(settings).dispose()
    upgraded = []
    monkeypatch.setattr(
        "mediateur_tui.hub.database.upgrade", lambda engine, revision="head": upgraded.append(1)
    )
    engine = open_engine(settings)
    try:
        assert upgraded == []
        assert revision_of(engine) == HEAD
    finally:
        engine.dispose()


def test_a_database_behind_the_latest_revision_is_upgraded_on_open(
    sqlite_settings: HubSettings, monkeypatch
):
    open_engine(sqlite_settings).dispose()
    monkeypatch.setattr("mediateur_tui.hub.database.HUB_SCHEMA_REVISION", "9999")
    upgraded = []
    monkeypatch.setattr(
        "mediateur_tui.hub.database.upgrade", lambda engine, revision="head": upgraded.append(1)
    )
    open_engine(sqlite_settings).dispose()
    assert upgraded == [1]


def _database_at_0001(settings: HubSettings, *, stamped: bool):
    """A database with the schema of revision 0001 and a region, a site and a carnet in it.
    Unstamped (`stamped=False`), it is what `create_all` made before the hub had migrations."""
    old = engine_at(settings, "0001")
    with old.begin() as connection:
        if not stamped:
            connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(
            text(
                "INSERT INTO hub_region (id, public_key, created_at) "
                "VALUES ('HDF', :key, '2026-11-28 09:00:00')"
            ),
            {"key": b"k" * 32},
        )
        connection.execute(
            text(
                "INSERT INTO hub_site (id, name, created_at) "
                "VALUES ('AVESNES-EPN', 'EPN', '2026-11-28 09:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO hub_programme VALUES ('P', 'P', 1000, '2026-01-01', "
                "'2026-12-31', '2027-01-31', '[\"*\"]')"
            )
        )
        connection.execute(
            text("INSERT INTO hub_carnet VALUES ('C0000001', 'P', 10, '2026-02-01', 'REF-1')")
        )
    old.dispose()


def _check_upgraded_from_0001(engine) -> None:
    assert revision_of(engine) == HEAD == HUB_SCHEMA_REVISION
    assert schema_diff(engine, hub_registry.metadata) == []
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id FROM hub_region")).scalars().all() == ["HDF"]
        # No beneficiary key recorded yet: the hub's next opening records it.
        fingerprint = text("SELECT beneficiary_key_fingerprint FROM hub_region")
        assert connection.execute(fingerprint).scalars().all() == [None]
        # The sites already there are not distributors; the carnets keep their reference.
        sites = connection.execute(text("SELECT id, distributor FROM hub_site")).all()
        assert [(site_id, bool(flag)) for site_id, flag in sites] == [("AVESNES-EPN", False)]
        carnets = connection.execute(text("SELECT id, beneficiary_ref FROM hub_carnet")).all()
        assert [tuple(row) for row in carnets] == [("C0000001", "REF-1")]
        assert connection.execute(text("SELECT count(*) FROM hub_attribution")).scalar() == 0
    assert "ix_hub_carnet_beneficiary_ref" in {
        index["name"] for index in inspect(engine).get_indexes("hub_carnet")
    }


def test_a_create_all_database_is_stamped_and_keeps_its_data(settings: HubSettings):
    _database_at_0001(settings, stamped=False)  # what the hub had before it had migrations
    assert "alembic_version" not in _tables(make_engine(settings.database_url))

    engine = open_engine(settings)  # stamped at 0001, then upgraded
    try:
        _check_upgraded_from_0001(engine)
    finally:
        engine.dispose()


def test_a_database_at_0001_is_upgraded_to_the_head_and_keeps_its_data(settings: HubSettings):
    _database_at_0001(settings, stamped=True)
    assert revision_of(make_engine(settings.database_url)) == "0001"
    engine = open_engine(settings)
    try:
        _check_upgraded_from_0001(engine)
        # A site inserted without naming the column gets the server default (not a distributor).
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO hub_site (id, name, created_at) "
                    "VALUES ('FOURMIES', 'M', '2026-11-28 09:00:00')"
                )
            )
            flag = connection.execute(
                text("SELECT distributor FROM hub_site WHERE id = 'FOURMIES'")
            ).scalar()
        assert flag is not None and not flag
    finally:
        engine.dispose()


def _add_change(connection, body: str) -> int:
    """Appends a change the way the hub does (the database numbers it); returns its seq."""
    connection.execute(
        text("INSERT INTO hub_change (kind, body, at) VALUES ('site', :body, :at)"),
        {"body": body, "at": "2026-12-01 09:00:00"},
    )
    return connection.execute(text("SELECT max(seq) FROM hub_change")).scalar()


def _set_last_sequence(connection, last: int) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT setval('hub_change_seq_seq', :last)"), {"last": last})
    else:
        connection.execute(
            text("UPDATE sqlite_sequence SET seq = :last WHERE name = 'hub_change'"),
            {"last": last},
        )


def test_a_database_at_0002_gets_64_bit_change_numbers(settings: HubSettings):
    """0003: hub_change.seq (the replica cursor) goes past 2^31 - 1, the changes stay."""
    old = engine_at(settings, "0002")
    with old.begin() as connection:
        assert _add_change(connection, '{"t":"site","id":"A","name":"A"}') == 1
        _set_last_sequence(connection, 2**31 - 2)
        assert _add_change(connection, '{"t":"site","id":"B","name":"B"}') == 2**31 - 1
    old.dispose()

    engine = open_engine(settings)
    try:
        assert revision_of(engine) == HEAD
        assert schema_diff(engine, hub_registry.metadata) == []  # BIGINT on PostgreSQL
        with engine.begin() as connection:
            assert _add_change(connection, '{"t":"site","id":"C","name":"C"}') == 2**31
            rows = connection.execute(text("SELECT seq, body FROM hub_change ORDER BY seq"))
            assert [(seq, body[-4:-1]) for seq, body in rows] == [
                (1, '"A"'),
                (2**31 - 1, '"B"'),
                (2**31, '"C"'),
            ]
            _set_last_sequence(connection, 2**62)
            assert _add_change(connection, '{"t":"site","id":"D","name":"D"}') == 2**62 + 1
    finally:
        engine.dispose()


def test_a_database_at_0003_gets_declared_lines_and_keeps_its_used_passes(
    settings: HubSettings,
):
    """0004: hub_declared_line appears; a pass paid by a batch stays used, and a pass may now
    be claimed by a declaration, without a batch."""
    old = engine_at(settings, "0003")
    at = "2026-11-12 09:30:00"
    with old.begin() as connection:
        connection.execute(
            text("INSERT INTO hub_site (id, name, created_at) VALUES ('A', 'A', :at)"), {"at": at}
        )
        connection.execute(
            text(
                "INSERT INTO hub_programme VALUES ('P', 'P', 1000, '2026-01-01', '2026-12-31', "
                "'2027-01-31', '[\"*\"]')"
            )
        )
        connection.execute(text("INSERT INTO hub_carnet VALUES ('C1', 'P', 10, NULL, NULL)"))
        for code in ("CODE1", "CODE2"):
            connection.execute(text(f"INSERT INTO hub_pass VALUES ('{code}', 'C1', 'P', 1)"))
        connection.execute(
            text("INSERT INTO hub_batch VALUES ('b1', 'A', '2026-11', 1, :at, 'h', '{}', '{}')"),
            {"at": at},
        )
        connection.execute(
            text("INSERT INTO hub_used_pass VALUES ('CODE1', 'r1', 'b1', 'A', :at)"), {"at": at}
        )
    old.dispose()

    engine = open_engine(settings)
    try:
        assert revision_of(engine) == HEAD
        assert schema_diff(engine, hub_registry.metadata) == []
        assert "hub_declared_line" in _tables(engine)
        with engine.begin() as connection:
            rows = connection.execute(
                text("SELECT code, batch_id, declaration_id FROM hub_used_pass")
            ).all()
            assert [tuple(row) for row in rows] == [("CODE1", "b1", None)]
            connection.execute(
                text(
                    "INSERT INTO hub_used_pass (code, redemption_id, batch_id, declaration_id, "
                    "site_id, redeemed_at) VALUES ('CODE2', 'r2', NULL, 'd1', 'A', :at)"
                ),
                {"at": at},
            )
            count = text("SELECT count(*) FROM hub_used_pass WHERE batch_id IS NULL")
            assert connection.execute(count).scalar() == 1
    finally:
        engine.dispose()


def test_a_database_at_0004_keeps_its_sites_none_struck_off(settings: HubSettings):
    """0005: hub_site.revoked_at appears, NULL for the sites already there; a site keeps its
    enrolment and can be struck off afterwards."""
    old = engine_at(settings, "0004")
    with old.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO hub_site (id, name, public_key, api_key_hash, created_at, "
                "enrolled_at) VALUES ('A', 'EPN', :key, 'h', :at, :at)"
            ),
            {"key": b"k" * 32, "at": "2026-11-12 09:30:00"},
        )
    old.dispose()

    engine = open_engine(settings)
    try:
        assert revision_of(engine) == HEAD
        assert schema_diff(engine, hub_registry.metadata) == []
        with engine.begin() as connection:
            site = text("SELECT id, api_key_hash, revoked_at FROM hub_site")
            assert [tuple(row) for row in connection.execute(site)] == [("A", "h", None)]
            connection.execute(
                text("UPDATE hub_site SET revoked_at = :at WHERE id = 'A'"),
                {"at": "2026-12-01 09:00:00"},
            )
            revoked = connection.execute(text("SELECT revoked_at FROM hub_site")).scalar()
        assert revoked is not None
    finally:
        engine.dispose()


def test_a_database_at_0007_keeps_its_sites_without_identity(settings: HubSettings):
    """0008: hub_site.pivot, code_insee and code_postal appear, NULL for the sites already
    there (enrol-site and site-identity give them theirs)."""
    old = engine_at(settings, "0007")
    with old.begin() as connection:
        connection.execute(
            text("INSERT INTO hub_site (id, name, created_at) VALUES ('A', 'EPN', :at)"),
            {"at": "2026-11-12 09:30:00"},
        )
    old.dispose()

    engine = open_engine(settings)
    try:
        assert revision_of(engine) == HEAD
        assert schema_diff(engine, hub_registry.metadata) == []
        with engine.begin() as connection:
            site = text("SELECT id, name, pivot, code_insee, code_postal FROM hub_site")
            assert [tuple(row) for row in connection.execute(site)] == [
                ("A", "EPN", None, None, None)
            ]
    finally:
        engine.dispose()


def test_a_database_at_0008_gets_the_activity_its_stored_batches_carried(settings: HubSettings):
    """0009: the sessions of the batches already received, with the summary a site sent
    before its hub knew it (kept in the stored document), and each line's session."""
    old = engine_at(settings, "0008")
    summary = {"date": "2026-11-27", "place": "lieu_activite", "thematiques": ["email"]}
    document = {
        "sessions": [
            {
                "id": 4,
                "kind": "collectif",
                "duration_minutes": 90,
                "activity": summary | {"participants": 6},
            },
            {"id": 5, "kind": "individuel", "duration_minutes": 30},
            {"id": 6, "kind": "individuel", "duration_minutes": 30, "activity": {"date": "x"}},
        ],
        "redemptions": [{"session_id": 4}, {"session_id": 5}],
    }
    at = {"at": BATCH_RECEIVED_AT}
    with old.begin() as connection:
        insert_site_and_batch(connection, document)
        for index, code in enumerate(["C1", "C2"]):
            connection.execute(
                text(
                    "INSERT INTO hub_line (batch_id, line_index, redemption_id, site_id, code, "
                    "redeemed_at, value_cents, verdict) VALUES ('B1', :index, :id, 'A', :code, "
                    ":at, 1000, 'accepted')"
                ),
                at | {"index": index, "id": f"r{index}", "code": code},
            )
    old.dispose()

    engine = open_engine(settings)
    try:
        assert revision_of(engine) == HEAD
        with engine.begin() as connection:
            sessions = text(
                "SELECT session_id, kind, activity FROM hub_batch_session ORDER BY session_id"
            )
            rows = [tuple(row) for row in connection.execute(sessions)]
            lines = text("SELECT line_index, session_id FROM hub_line ORDER BY line_index")
            assert [tuple(row) for row in connection.execute(lines)] == [(0, 4), (1, 5)]
        assert [(session_id, kind) for session_id, kind, _ in rows] == [
            (4, "collectif"), (5, "individuel"), (6, "individuel"),
        ]  # fmt: skip
        assert json.loads(rows[0][2])["participants"] == 6
        assert rows[1][2] is None and rows[2][2] is None  # none sent; one the hub refuses
    finally:
        engine.dispose()


def test_a_database_at_0009_loses_the_two_unread_line_indexes_and_keeps_its_lines(
    settings: HubSettings,
):
    """0010: hub_line keeps its lines and the indexes queries read (its key, the unique
    first_redemption_id, site_id); the indexes on code and redemption_id are gone."""
    old = engine_at(settings, "0009")
    at = {"at": BATCH_RECEIVED_AT}
    with old.begin() as connection:
        insert_site_and_batch(connection, {})
        connection.execute(
            text(
                "INSERT INTO hub_line (batch_id, line_index, redemption_id, first_redemption_id, "
                "site_id, code, redeemed_at, value_cents, verdict) VALUES ('B1', 0, 'r0', 'r0', "
                "'A', 'C1', :at, 1000, 'accepted')"
            ),
            at,
        )
    before = {index["name"] for index in inspect(old).get_indexes("hub_line")}
    old.dispose()

    engine = open_engine(settings)
    try:
        assert revision_of(engine) == HEAD
        assert schema_diff(engine, hub_registry.metadata) == []
        after = {index["name"] for index in inspect(engine).get_indexes("hub_line")}
        assert before - after == {"ix_hub_line_code", "ix_hub_line_redemption_id"}
        assert "ix_hub_line_site_id" in after
        with engine.begin() as connection:
            lines = text("SELECT redemption_id, first_redemption_id, code FROM hub_line")
            assert [tuple(row) for row in connection.execute(lines)] == [("r0", "r0", "C1")]
    finally:
        engine.dispose()


def test_dropping_0010s_indexes_does_not_write_them_through_the_wal(
    sqlite_settings: HubSettings,
):
    """SQLite built with SECURE_DELETE would zero the dropped indexes' pages through the WAL
    (a third of this file here); the migration writes only the pages that change."""
    old = engine_at(sqlite_settings, "0009")
    with old.begin() as connection:
        insert_site_and_batch(connection, {})
        connection.execute(
            text(
                "INSERT INTO hub_line (batch_id, line_index, redemption_id, first_redemption_id, "
                "site_id, code, redeemed_at, value_cents, verdict) VALUES ('B1', :index, :id, "
                ":id, 'A', :code, :at, 1000, 'accepted')"
            ),
            [
                {"index": n, "id": f"{n:032x}"[::-1], "code": f"{n:013d}"[::-1], "at": "2026-11-30"}
                for n in range(20_000)
            ],
        )
    with old.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    old.dispose()
    database = Path(sqlite_settings.database_url.removeprefix("sqlite:///"))
    wal = Path(f"{database}-wal")
    before = database.stat().st_size

    engine = make_engine(sqlite_settings.database_url)
    # As a build with SECURE_DELETE (Debian's) opens it: the migration's own setting is then
    # all that keeps the WAL small, whatever this machine's SQLite.
    event.listen(engine, "connect", lambda raw, _record: raw.execute("PRAGMA secure_delete=ON"))
    try:
        upgrade(engine)
        assert revision_of(engine) == HEAD
        assert wal.stat().st_size < before / 20
    finally:
        engine.dispose()


def test_a_database_at_0010_finds_attributions_by_category_and_day_and_keeps_them(
    settings: HubSettings,
):
    """0011: hub_attribution's index on the category alone becomes one on (category,
    received_on); its rows stay."""
    old = engine_at(settings, "0010")
    at = {"at": BATCH_RECEIVED_AT}
    with old.begin() as connection:
        connection.execute(
            text("INSERT INTO hub_site (id, name, created_at) VALUES ('A', 'PIMMS', :at)"), at
        )
        connection.execute(
            text(
                "INSERT INTO hub_attribution (id, site_id, beneficiary_ref, category, rulebook, "
                "received_on, attributed_at, accompanied, carnets, passes, verdict, message, "
                "beneficiary_passes, received_at) VALUES ('T1', 'A', 'B1', 'lycee', "
                "'hdf-2022-02', '2022-03-01', :at, false, '[\"C1\"]', 10, 'accepted', '', 10, :at)"
            ),
            at,
        )
    before = {index["name"] for index in inspect(old).get_indexes("hub_attribution")}
    old.dispose()

    engine = open_engine(settings)
    try:
        assert revision_of(engine) == HEAD
        assert schema_diff(engine, hub_registry.metadata) == []
        indexes = {
            index["name"]: index["column_names"]
            for index in inspect(engine).get_indexes("hub_attribution")
        }
        assert before - set(indexes) == {"ix_hub_attribution_category"}
        assert indexes["ix_hub_attribution_category_received_on"] == ["category", "received_on"]
        with engine.begin() as connection:
            rows = text("SELECT id, category, received_on, passes FROM hub_attribution")
            assert [(r[0], r[1], str(r[2]), r[3]) for r in connection.execute(rows)] == [
                ("T1", "lycee", "2022-03-01", 10)
            ]
    finally:
        engine.dispose()


def test_a_database_at_0011_reads_a_sites_month_and_outstanding_lines_and_keeps_them(
    settings: HubSettings,
):
    """0012: hub_batch's indexes on site_id and on period become one on (site_id, period);
    hub_declared_line's index on site_id becomes one holding only the lines no batch has
    brought yet; every row stays."""
    old = engine_at(settings, "0011")
    with old.begin() as connection:
        insert_site_and_batch(connection, {})
        connection.execute(
            text(
                "INSERT INTO hub_declared_line (redemption_id, site_id, declaration_id, code, "
                "line, session, redeemed_at, value_cents, verdict, declared_at, received_at, "
                "batch_id) VALUES (:id, 'A', 'D1', :code, '{}', '{}', :at, 1000, 'accepted', "
                ":at, :at, :batch)"
            ),
            [
                {"id": "r1", "code": "C1", "at": BATCH_RECEIVED_AT, "batch": "B1"},
                {"id": "r2", "code": "C2", "at": BATCH_RECEIVED_AT, "batch": None},
            ],
        )
    old.dispose()

    engine = open_engine(settings)
    try:
        assert revision_of(engine) == HEAD
        assert schema_diff(engine, hub_registry.metadata) == []  # the partial index's WHERE too
        batch_indexes = {
            index["name"]: index["column_names"]
            for index in inspect(engine).get_indexes("hub_batch")
        }
        assert batch_indexes == {"ix_hub_batch_site_id_period": ["site_id", "period"]}
        line_indexes = {
            index["name"]: index["column_names"]
            for index in inspect(engine).get_indexes("hub_declared_line")
        }
        assert "ix_hub_declared_line_site_id" not in line_indexes
        assert line_indexes["ix_hub_declared_line_outstanding"] == ["site_id"]
        with engine.begin() as connection:
            lines = text("SELECT redemption_id, batch_id FROM hub_declared_line ORDER BY 1")
            assert [tuple(row) for row in connection.execute(lines)] == [
                ("r1", "B1"),
                ("r2", None),
            ]
            batches = text("SELECT batch_id, site_id, period FROM hub_batch")
            assert [tuple(row) for row in connection.execute(batches)] == [("B1", "A", "2026-11")]
    finally:
        engine.dispose()


def test_the_hubs_sqlite_connections_write_as_the_intake_expects(
    sqlite_settings: HubSettings,
) -> None:
    """Durable commits, the WAL copied back every 10,000 pages and cut back to 64 MiB after."""
    sqlite_settings.directory.mkdir(parents=True, exist_ok=True)
    engine = make_engine(sqlite_settings.database_url)
    try:
        with engine.connect() as connection:
            pragmas = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in (
                    "journal_mode",
                    "synchronous",
                    "wal_autocheckpoint",
                    "journal_size_limit",
                )
            }
        assert pragmas == {
            "journal_mode": "wal",
            "synchronous": 2,  # FULL
            "wal_autocheckpoint": 10_000,
            "journal_size_limit": 64 * 1024 * 1024,
        }
    finally:
        engine.dispose()


def test_a_partial_pre_alembic_database_is_refused(sqlite_settings: HubSettings):
    sqlite_settings.directory.mkdir(parents=True, exist_ok=True)
    old = make_engine(sqlite_settings.database_url)
    hub_registry.metadata.tables["hub_region"].create(old)
    old.dispose()
    with pytest.raises(HubError, match="incomplète"):
        open_engine(sqlite_settings)
    engine = make_engine(sqlite_settings.database_url)
    try:
        assert _tables(engine) == {"hub_region"}  # the failed migration was rolled back
    finally:
        engine.dispose()


_OPEN = """
import sys
from pathlib import Path
from mediateur_tui.hub.database import HubSettings, open_engine
open_engine(HubSettings(directory=Path(sys.argv[1]), database_url=sys.argv[2])).dispose()
"""


def test_concurrent_first_opens_all_succeed(settings: HubSettings):
    # Processes, not threads: Alembic's `context` is global to a process. The migration lock
    # (SQLite's BEGIN IMMEDIATE, PostgreSQL's advisory lock) makes the others wait and then
    # find the database at head.
    arguments = [sys.executable, "-c", _OPEN, str(settings.directory), settings.database_url]
    processes = [subprocess.Popen(arguments, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    failures = [stderr for process in processes if (stderr := process.communicate(timeout=120)[1])]
    assert failures == []
    assert [process.returncode for process in processes] == [0, 0, 0]
    engine = make_engine(settings.database_url)
    try:
        assert revision_of(engine) == HEAD
        assert schema_diff(engine, hub_registry.metadata) == []
    finally:
        engine.dispose()
