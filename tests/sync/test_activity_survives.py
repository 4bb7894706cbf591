"""A session's activity survives the site's other formats: the journal a lost database is
rebuilt from (a backup restored over a damaged database, then the journal replayed), a backup
merged on top (services/merge.py), and the region's recovery of a lost laptop, which gives
back the activity summary its batches and declarations carried."""

from __future__ import annotations

from datetime import UTC, datetime

from contract import validate
from sqlmodel import Session, select

from mediateur_tui.domain.activity import (
    Activity,
    Autonomie,
    Commune,
    Genre,
    Materiel,
    StatutSocial,
    Thematique,
    TrancheAge,
    TypeActivite,
    TypeLieu,
)
from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.services.activity import activity_of
from mediateur_tui.services.backup import make_backup, restore_backup
from mediateur_tui.services.batches import batch_document
from mediateur_tui.services.declarations import next_declaration
from mediateur_tui.services.desk import Desk
from mediateur_tui.services.merge import merge_backup
from mediateur_tui.services.month_end import MonthEnd
from mediateur_tui.services.recovery import merge_recovery
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.models import DeskSession
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME

from .conftest import NOW, Site, make_site
from .region import SITE_ID

APRIL_2 = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)

ATELIER = Activity(
    type=TypeActivite.COLLECTIF,
    date=NOW.date(),
    duration_minutes=90,
    place_type=TypeLieu.AUTRE,
    place_commune=Commune("59440", "59036", "Avesnes-sur-Helpe"),
    equipment=(Materiel.ORDINATEUR, Materiel.TABLETTE),
    thematiques=(Thematique.AIDE_AUX_DEMARCHES_ADMINISTRATIVES, Thematique.LOGEMENT),
    title="Atelier CAF",
    participants=5,
    genres={Genre.FEMININ: 3, Genre.MASCULIN: 2},
    tranches_age={TrancheAge.SOIXANTE_SOIXANTE_NEUF: 5},
    statuts={StatutSocial.RETRAITE: 4},
    tags=("caf",),
)
ALONE = Activity(
    type=TypeActivite.INDIVIDUEL,
    date=APRIL_2.date(),
    duration_minutes=30,
    place_type=TypeLieu.A_DISTANCE,
    thematiques=(Thematique.EMAIL,),
    autonomie=Autonomie.PARTIELLEMENT_AUTONOME,
)


def codes_of(region, count: int) -> list[str]:
    carnets = [change for change in region.changes if change["t"] == "carnet"]
    return [code for carnet in carnets for code in carnet["codes"]][:count]


def start(site: Site, activity: Activity, moment: datetime, title: str = "Atelier CAF") -> int:
    return site.desk(moment).start_activity(site.operator_id, title, activity).id


def activities(site_engine) -> dict[str, Activity]:
    with Session(site_engine) as session:
        return {row.title: activity_of(row) for row in session.exec(select(DeskSession))}


def damage(site: Site):
    """The site's database, a b-tree page's header wiped (as a process killed mid-write)."""
    site.engine.dispose()
    database = site.data_dir / DATABASE_FILENAME
    engine = open_database(database)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    data = bytearray(database.read_bytes())
    data[3 * 4096 : 3 * 4096 + 64] = bytes(64)
    database.write_bytes(bytes(data))
    return database


def test_a_rebuilt_database_has_the_activity_the_journal_kept(site, region, tmp_path):
    """A backup made before the sessions; an atelier is started and a pass taken in it, an
    accompagnement started with no pass; the database is then damaged: restoring the backup
    over it replays the journal, which holds each session's row, activity included, from
    its start (an audited transaction, `session_started`)."""
    usb = tmp_path / "cle-usb"
    archive = make_backup(site.engine, site.data_dir, usb, keep=3).path
    session_id = start(site, ATELIER, NOW)
    assert site.redeem(codes_of(region, 1)[0], NOW, session_id).redeemable
    start(site, ALONE, NOW, title="Courriel")
    assert activities(site.engine) == {"Atelier CAF": ATELIER, "Courriel": ALONE}
    database = damage(site)

    report = restore_backup(archive, site.data_dir, replace=True)
    assert report.replayed_events == 3  # two sessions started, one redemption
    rebuilt = open_database(database)
    try:
        assert activities(rebuilt) == {"Atelier CAF": ATELIER, "Courriel": ALONE}
    finally:
        rebuilt.dispose()


def test_a_correction_of_the_activity_is_in_the_journal_too(site, tmp_path):
    """The activity corrected during the session (F4 on the session screen) is an audited
    transaction too: the database rebuilt from a backup and the journal has the correction."""
    usb = tmp_path / "cle-usb"
    archive = make_backup(site.engine, site.data_dir, usb, keep=3).path
    session_id = start(site, ALONE, APRIL_2, title="Courriel")
    site.desk(APRIL_2).correct_activity(session_id, site.operator_id, "Courriel", ATELIER)
    assert activities(site.engine) == {"Atelier CAF": ATELIER}
    database = damage(site)

    report = restore_backup(archive, site.data_dir, replace=True)
    assert report.replayed_events == 2  # started, then corrected
    rebuilt = open_database(database)
    try:
        assert activities(rebuilt) == {"Atelier CAF": ATELIER}
    finally:
        rebuilt.dispose()


def test_an_ended_session_is_rebuilt_ended(site, tmp_path):
    """Ending a session is audited too: rebuilt, it is not open again (the next log-in would
    go on with it, and its passes would land in an old session)."""
    archive = make_backup(site.engine, site.data_dir, tmp_path / "cle-usb", keep=3).path
    session_id = start(site, ALONE, APRIL_2, title="Courriel")
    site.desk(APRIL_2).end_session(session_id)
    database = damage(site)
    report = restore_backup(archive, site.data_dir, replace=True)
    assert report.replayed_events == 2  # started, then ended
    rebuilt = open_database(database)
    try:
        with Session(rebuilt) as session:
            (row,) = session.exec(select(DeskSession)).all()
        assert row.ended_at == APRIL_2
        assert Desk(rebuilt, clock=fixed_clock(APRIL_2)).open_session(site.operator_id) is None
    finally:
        rebuilt.dispose()


def test_a_backup_merged_on_top_keeps_the_activity_whole(site, region, tmp_path):
    usb = tmp_path / "cle-usb"
    start(site, ATELIER, NOW)
    start(site, ALONE, APRIL_2, title="Courriel")
    backup = make_backup(site.engine, site.data_dir, usb, keep=3).path
    laptop = make_site(tmp_path / "nouveau", region)
    try:
        report = merge_backup(laptop.engine, laptop.data_dir, backup, APRIL_2)
        assert report.sessions_added == 2
        found = activities(laptop.engine)
        assert found == {"Atelier CAF": ATELIER, "Courriel": ALONE}
    finally:
        laptop.engine.dispose()


def test_the_regions_recovery_gives_back_the_activity_summary(site, region, tmp_path):
    """March's atelier comes back from its batch, April's accompagnement from its
    declaration: with their type, day, duration, place type, thématiques, participants and
    counts; what the summary does not carry (commune, equipment, autonomy) is not invented."""
    march, april = codes_of(region, 2)
    site.redeem(march, NOW, start(site, ATELIER, NOW))
    month_end = MonthEnd(site.engine, site.data_dir, clock=fixed_clock(APRIL_2))
    batch_doc = batch_document(site.engine, month_end.close_month("2026-03").batch_id)
    site.redeem(april, APRIL_2, start(site, ALONE, APRIL_2, title="Courriel"))
    declared = next_declaration(site.engine, site.data_dir, APRIL_2)
    assert declared["sessions"][0]["activity"]["thematiques"] == ["email"]
    recovery = region.recovery(SITE_ID, [(batch_doc, region.ack(batch_doc))], [declared])
    validate(recovery, "pn-site-recovery/1")

    new = make_site(tmp_path / "nouveau", region)
    try:
        merge_recovery(new.engine, recovery, APRIL_2)
        found = activities(new.engine)
    finally:
        new.engine.dispose()
    atelier, alone = found["Atelier CAF"], found["Courriel"]
    assert (atelier.type, atelier.date, atelier.duration_minutes) == (
        TypeActivite.COLLECTIF,
        ATELIER.date,
        90,
    )
    assert atelier.place_type is TypeLieu.AUTRE and atelier.place_commune is None
    assert atelier.thematiques == ATELIER.thematiques and atelier.participants == 5
    assert (atelier.genres, atelier.tranches_age, atelier.statuts) == (
        ATELIER.genres,
        ATELIER.tranches_age,
        ATELIER.statuts,
    )
    assert atelier.equipment == () and atelier.tags == ("caf",)
    assert (alone.type, alone.place_type, alone.thematiques) == (
        TypeActivite.INDIVIDUEL,
        TypeLieu.A_DISTANCE,
        (Thematique.EMAIL,),
    )
    assert alone.participant_count == 1 and alone.autonomie is None
