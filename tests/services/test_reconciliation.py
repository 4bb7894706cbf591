"""What the first-run, home, month-end and reconciliation screens read: services/setup.py,
services/reconciliation.py and the home's "waiting to be remitted" figure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.domain.periods import month_of
from mediateur_tui.protocol.formats import ACK
from mediateur_tui.protocol.instants import iso_instant
from mediateur_tui.protocol.signing import region_signer, sign_document
from mediateur_tui.services import acks, batches
from mediateur_tui.services.auth import add_operator
from mediateur_tui.services.dashboard import home_stats
from mediateur_tui.services.demo import demo_region_key
from mediateur_tui.services.desk import Desk
from mediateur_tui.services.month_end import MonthEnd
from mediateur_tui.services.reconciliation import (
    batch_overview,
    close_preview,
    latest_acknowledged,
    reconciliation,
)
from mediateur_tui.services.setup import SetupState, setup_state
from mediateur_tui.store.engine import database_file, open_database
from mediateur_tui.store.keys import load_or_create_site_key
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME

from .conftest import NOW

IN_FEBRUARY = datetime(2026, 2, 16, 9, 0, tzinfo=UTC)
WINNER_AT = "2026-02-12T13:30:00Z"  # 14:30 in Paris


def take(demo_db, moment: datetime, entries: list[str]) -> None:
    desk = Desk(demo_db.engine, fixed_clock(moment))
    operator_id = demo_db.operator.id
    session_id = desk.start_session(operator_id, "Atelier", "collectif", "", 60).id
    for step, entry in enumerate(entries):
        Desk(demo_db.engine, fixed_clock(moment + timedelta(minutes=step))).redeem(
            session_id, operator_id, entry
        )


@pytest.fixture
def february(demo_db, tmp_path):
    """Three passes and a refused scan in February, one pass in March; a site key."""
    load_or_create_site_key(tmp_path)
    codes = demo_db.demo.codes
    take(demo_db, IN_FEBRUARY, [codes["valid"][0], codes["valid"][1], codes["expired"][0]])
    take(demo_db, IN_FEBRUARY + timedelta(days=2), [codes["valid"][2]])
    take(demo_db, NOW - timedelta(hours=2), [codes["valid"][3]])
    return demo_db


def month_end(demo_db, tmp_path, now: datetime = NOW) -> MonthEnd:
    return MonthEnd(demo_db.engine, tmp_path, fixed_clock(now))


def ack(document: dict, refused: dict[str, tuple[str, dict | None]]) -> dict:
    lines = [
        {
            "redemption_id": line["id"],
            "code": line["code"],
            "verdict": "refused" if line["id"] in refused else "accepted",
            "reason": refused.get(line["id"], (None, None))[0],
            "winner": refused.get(line["id"], (None, None))[1],
        }
        for line in document["redemptions"]
    ]
    accepted = [line for line in document["redemptions"] if line["id"] not in refused]
    answer = {
        "format": ACK,
        "batch_id": document["batch_id"],
        "site_id": document["site_id"],
        "region_id": document["region_id"],
        "received_at": iso_instant(NOW),
        "lines": lines,
        "totals": {
            "accepted": len(accepted),
            "accepted_cents": sum(line["value_cents"] for line in accepted),
            "refused": len(refused),
        },
    }
    key = demo_region_key()
    return sign_document(answer, key, region_signer(document["region_id"]))


# --- setup ----------------------------------------------------------------------------------


def test_setup_state_of_a_new_site_then_with_a_replica_then_an_account(tmp_path, demo_db):
    engine = open_database(tmp_path / "new" / DATABASE_FILENAME)
    try:
        state = setup_state(database_file(engine))
        assert (state.has_replica, state.has_operators, state.ready) == (False, False, False)
    finally:
        engine.dispose()
    assert setup_state(database_file(demo_db.engine)).ready


def test_setup_state_with_a_replica_and_no_account(tmp_path):
    from sync.region import Region

    from mediateur_tui.services.replica import apply_snapshot

    region = Region()
    region.standard()
    engine = open_database(tmp_path / DATABASE_FILENAME)
    try:
        apply_snapshot(engine, region.snapshot(), "AVESNES-EPN")
        assert setup_state(database_file(engine)) == SetupState(
            has_replica=True, has_operators=False
        )
        add_operator(engine, "Léa Dupont", "responsable", "2468")
        assert setup_state(database_file(engine)).ready
    finally:
        engine.dispose()


# --- closing a month ------------------------------------------------------------------------


def test_close_preview_counts_what_close_month_seals(february, tmp_path):
    preview = close_preview(february.engine, tmp_path, "2026-02", NOW)
    assert (preview.period, preview.label, preview.problem) == ("2026-02", "février 2026", None)
    assert (preview.redemptions, preview.value_cents, preview.sessions) == (3, 3000, 2)
    assert preview.refused_scans == 1
    batch = month_end(february, tmp_path).close_month("2026-02")
    assert (batch.redemption_count, batch.value_cents, batch.refused_count) == (3, 3000, 1)
    again = close_preview(february.engine, tmp_path, "2026-02", NOW)
    assert again.problem == (
        "Le mois de février 2026 est déjà clos : remise n° 1 du 10/03/2026 11:00."
    )


def test_close_preview_refusals(february, tmp_path):
    assert close_preview(february.engine, tmp_path, "2026-03", NOW).problem == (
        "Le mois de mars 2026 n'est pas terminé : il pourra être clos à partir du 01/04/2026."
    )
    assert close_preview(february.engine, tmp_path, "2026-01", NOW).problem == (
        "Aucun encaissement à remettre pour janvier 2026 : aucune remise n'a été créée."
    )
    assert close_preview(february.engine, tmp_path / "sans-cle", "2026-02", NOW).problem == (
        "Ce poste n'a pas de clé de lieu pour signer la remise : il doit d'abord être "
        "inscrit auprès de la région (mediateur-tui enrol --hub ADRESSE --token JETON)."
    )


def test_month_of_elides_before_a_vowel():
    assert month_of("octobre 2026") == "d'octobre 2026"
    assert month_of("avril 2026") == "d'avril 2026"
    assert month_of("août 2026") == "d'août 2026"
    assert month_of("mars 2026") == "de mars 2026"


# --- batches, answers, reconciliation -------------------------------------------------------


def test_batch_overview_follows_a_batch_from_sealed_to_answered(february, tmp_path):
    assert batch_overview(february.engine) == []
    batch = month_end(february, tmp_path).close_month("2026-02")
    [row] = batch_overview(february.engine)
    assert (row.state, row.accepted, row.refused) == ("scellée", None, None)
    batches.mark_sent(february.engine, batch.batch_id, NOW)
    assert batch_overview(february.engine)[0].state == "envoyée"
    assert latest_acknowledged(february.engine) is None

    document = batches.batch_document(february.engine, batch.batch_id)
    first = document["redemptions"][0]["id"]
    acks.import_ack(february.engine, ack(document, {first: ("revoked", None)}), NOW)
    [row] = batch_overview(february.engine)
    assert (row.state, row.accepted, row.accepted_cents, row.refused) == ("accusée", 2, 2000, 1)
    assert latest_acknowledged(february.engine).batch_id == batch.batch_id


def test_reconciliation_lines_reasons_and_totals(february, tmp_path):
    batch = month_end(february, tmp_path).close_month("2026-02")
    before = reconciliation(february.engine, batch.batch_id)
    assert not before.acknowledged
    assert [line.verdict_label for line in before.lines] == ["En attente"] * 3
    assert (before.accepted_count, before.refused_count) == (0, 0)

    document = batches.batch_document(february.engine, batch.batch_id)
    ids = [line["id"] for line in document["redemptions"]]
    winner = {"site_id": "FOURMIES-MEDIA", "redeemed_at": WINNER_AT}
    refused = {ids[0]: ("conflict", winner), ids[2]: ("not_attributed", None)}
    acks.import_ack(february.engine, ack(document, refused), NOW)

    result = reconciliation(february.engine, batch.batch_id)
    assert result.acknowledged
    assert [line.redemption_id for line in result.lines] == ids
    assert [line.verdict_label for line in result.lines] == ["Refusé", "Accepté", "Refusé"]
    conflict, accepted, unattributed = result.lines
    assert conflict.redeemed_at == IN_FEBRUARY
    assert conflict.reason_text == "Déjà encaissé ailleurs : FOURMIES-MEDIA, le 12/02/2026 14:30"
    assert conflict.reason_short == "Encaissé à FOURMIES-MEDIA"
    assert (accepted.reason_text, accepted.reason_short) == ("", "")
    assert unattributed.reason_text == "Carnet non attribué"
    assert (result.accepted_count, result.accepted_cents) == (1, 1000)
    assert (result.refused_count, result.refused_cents) == (2, 2000)


def test_an_unknown_batch_is_a_french_error(demo_db):
    with pytest.raises(batches.SyncError, match="Remise inconnue sur ce poste"):
        reconciliation(demo_db.engine, "0" * 32)


def test_waiting_to_be_remitted_leaves_out_what_a_batch_holds(february, tmp_path):
    assert home_stats(february.engine, fixed_clock(NOW)).waiting_count == 4
    month_end(february, tmp_path).close_month("2026-02")
    stats = home_stats(february.engine, fixed_clock(NOW))
    assert (stats.waiting_count, stats.waiting_cents) == (1, 1000)
