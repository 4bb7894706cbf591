"""The desk (docs/passes.md) on a real demo database, with a fixed clock."""

from __future__ import annotations

import string
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.domain.codes import make_code
from mediateur_tui.domain.scan_input import build_payload, signed_message
from mediateur_tui.domain.signatures import public_key_bytes, sign
from mediateur_tui.services.demo import demo_region_key
from mediateur_tui.services.desk import Desk, DeskError
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.models import (
    AuditEvent,
    Cancellation,
    PassRecord,
    Programme,
    Redemption,
    RefusedScan,
    ReplicaMeta,
)

from .conftest import NOW

# Demo category -> the verdict token the médiateur must get.
CATEGORY_VERDICTS = {
    "valid": "valid",
    "grace": "grace",
    "expired": "expired",
    "not_yet_valid": "not_yet_valid",
    "revoked": "revoked",
    "redeemed_elsewhere": "redeemed_elsewhere",
    "unattributed": "unattributed",
    "other_programme": "programme_not_accepted",
}
REDEEMABLE = {"valid", "grace"}

# What a US-layout scanner shows on an AZERTY system, written out by hand (docs/passes.md,
# « Scanners »).
_GARBLE = dict(zip("1234567890", "&é\"'(-è_çà", strict=True))
_GARBLE.update({letter: letter for letter in string.ascii_uppercase})
_GARBLE.update({"A": "Q", "Q": "A", "Z": "W", "W": "Z", ":": "M", "M": "?"})


def garble(text: str) -> str:
    return "".join(_GARBLE[char] for char in text)


def bare(entry: str) -> str:
    """The code of a demo entry, which is either a QR payload or a bare code."""
    return entry.split(":")[2] if entry.startswith("PN1:") else entry


def qr_entries(demo_db, category: str) -> list[str]:
    return [entry for entry in demo_db.demo.codes[category] if entry.startswith("PN1:")]


def first_qr(demo_db, category: str = "valid") -> str:
    return qr_entries(demo_db, category)[0]


def desk_at(demo_db, moment=NOW) -> Desk:
    return Desk(demo_db.engine, clock=fixed_clock(moment))


def start(desk: Desk, demo_db, title: str = "Atelier courriel") -> int:
    return desk.start_session(demo_db.operator.id, title, "collectif", "courriel", 120).id


def redemptions(demo_db, code: str | None = None) -> list[Redemption]:
    with Session(demo_db.engine) as session:
        query = select(Redemption)
        if code is not None:
            query = query.where(Redemption.code == code)
        return list(session.exec(query).all())


def refused_scans(demo_db) -> list[RefusedScan]:
    with Session(demo_db.engine) as session:
        return list(session.exec(select(RefusedScan).order_by(RefusedScan.id)).all())


# --- verdicts for every demo category ----------------------------------------------------------


@pytest.mark.parametrize("category", sorted(CATEGORY_VERDICTS))
def test_every_demo_category_gets_its_verdict_as_qr_and_as_bare_code(demo_db, category):
    desk = desk_at(demo_db)
    entries = demo_db.demo.codes[category]
    qr = [entry for entry in entries if entry.startswith("PN1:")]
    typed = [entry for entry in entries if not entry.startswith("PN1:")]
    assert len(entries) >= 5 and qr and typed
    expected = CATEGORY_VERDICTS[category]
    # Each QR payload, each bare code, and the bare code printed under each QR code.
    for text in [*entries, *(bare(entry) for entry in qr)]:
        result = desk.check(text)
        assert result.verdict.value == expected, (text, result.message)
        assert result.code == bare(text)
        assert result.redeemable is (category in REDEEMABLE)
        assert result.warnings == []
        assert result.message


def test_a_valid_pass_shows_amount_and_carnet(demo_db):
    result = desk_at(demo_db).check(first_qr(demo_db))
    assert result.value_cents == 1000
    assert "10,00 €" in result.message
    carnet_id = result.details["carnet"].split()[0]
    assert result.details["carnet"] == f"{carnet_id} (5 pass)"
    assert f"carnet {carnet_id}" in result.message


def test_check_records_nothing(demo_db):
    desk = desk_at(demo_db)
    desk.check(first_qr(demo_db))
    desk.check(demo_db.demo.codes["revoked"][0])
    assert redemptions(demo_db) == []
    assert refused_scans(demo_db) == []


def test_a_typo_is_malformed_never_unknown(demo_db):
    code = bare(first_qr(demo_db))
    wrong = code[:5] + ("0" if code[5] != "0" else "1") + code[6:]
    result = desk_at(demo_db).check(wrong)
    assert result.verdict.value == "malformed"
    assert "vérifiez la saisie" in result.message


# --- redeeming -------------------------------------------------------------------------------


def test_redeem_valid_records_one_row_worth_ten_euros(demo_db):
    desk = desk_at(demo_db)
    session_id = start(desk, demo_db)
    payload = first_qr(demo_db)
    result = desk.redeem(session_id, demo_db.operator.id, payload)
    assert result.verdict.value == "valid"
    rows = redemptions(demo_db)
    assert len(rows) == 1
    row = rows[0]
    assert row.code == bare(payload)
    assert row.value_cents == 1000
    assert row.session_id == session_id
    assert row.operator_id == demo_db.operator.id
    assert row.redeemed_at == NOW
    assert row.raw_input == payload
    assert row.input_method == "scan"
    assert row.cancelled_at is None
    assert len(row.id) == 32  # a random id made at the moment of redemption
    with Session(demo_db.engine) as session:
        kinds = [event.kind for event in session.exec(select(AuditEvent)).all()]
    assert "redemption" in kinds


def test_second_scan_in_same_session_is_redeemed_here_and_not_recorded(demo_db):
    desk = desk_at(demo_db)
    session_id = start(desk, demo_db, title="Atelier tablette")
    payload = first_qr(demo_db)
    assert desk.redeem(session_id, demo_db.operator.id, payload).redeemable
    for again in (payload, bare(payload), bare(payload).lower()):
        result = desk.redeem(session_id, demo_db.operator.id, again)
        assert result.verdict.value == "redeemed_here"
        assert not result.redeemable
        assert "Atelier tablette" in result.message
        assert demo_db.operator.name in result.message
        assert result.details["seance"] == "Atelier tablette"
        assert result.details["par"] == demo_db.operator.name
    assert len(redemptions(demo_db, bare(payload))) == 1
    assert [scan.verdict for scan in refused_scans(demo_db)] == ["redeemed_here"] * 3


def test_grace_pass_is_redeemed_at_full_value(demo_db):
    desk = desk_at(demo_db)
    session_id = start(desk, demo_db)
    entry = demo_db.demo.codes["grace"][1]
    result = desk.redeem(session_id, demo_db.operator.id, entry, input_method="typed")
    assert result.verdict.value == "grace"
    (row,) = redemptions(demo_db)
    assert row.value_cents == 1000
    assert row.input_method == "typed"


@pytest.mark.parametrize("category", sorted(c for c in CATEGORY_VERDICTS if c not in REDEEMABLE))
def test_refused_scans_are_logged_not_redeemed(demo_db, category):
    desk = desk_at(demo_db)
    session_id = start(desk, demo_db)
    entry = demo_db.demo.codes[category][0]
    result = desk.redeem(session_id, demo_db.operator.id, entry)
    assert result.verdict.value == CATEGORY_VERDICTS[category]
    assert redemptions(demo_db) == []
    (scan,) = refused_scans(demo_db)
    assert scan.verdict == CATEGORY_VERDICTS[category]
    assert scan.raw_input == entry
    assert scan.code == bare(entry)
    assert scan.session_id == session_id
    assert scan.operator_id == demo_db.operator.id
    assert scan.message == result.message
    assert scan.at == NOW


def test_malformed_and_counterfeit_scans_are_logged_too(demo_db):
    desk = desk_at(demo_db)
    session_id = start(desk, demo_db)
    payload = first_qr(demo_db)
    forged = payload[:-1] + ("A" if payload[-1] != "A" else "B")
    desk.redeem(session_id, demo_db.operator.id, "n'importe quoi")
    desk.redeem(session_id, demo_db.operator.id, forged)
    scans = refused_scans(demo_db)
    assert [scan.verdict for scan in scans] == ["malformed", "malformed"]
    assert scans[0].code is None
    assert scans[1].raw_input == forged
    assert scans[1].code == bare(payload)
    assert redemptions(demo_db) == []


# --- cancelling ------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", "\t\n"])
def test_cancel_needs_a_reason(demo_db, reason):
    desk = desk_at(demo_db)
    session_id = start(desk, demo_db)
    payload = first_qr(demo_db)
    desk.redeem(session_id, demo_db.operator.id, payload)
    line = desk.last_active_redemption(session_id)
    with pytest.raises(DeskError, match="motif"):
        desk.cancel(line.id, demo_db.operator.id, reason)
    (row,) = redemptions(demo_db)
    assert row.cancelled_at is None
    assert desk.check(payload).verdict.value == "redeemed_here"


def test_after_cancel_the_pass_is_redeemable_again(demo_db):
    later = NOW + timedelta(minutes=5)
    desk = desk_at(demo_db)
    session_id = start(desk, demo_db)
    payload = first_qr(demo_db)
    code = bare(payload)
    desk.redeem(session_id, demo_db.operator.id, payload)
    line = desk.last_active_redemption(session_id)
    assert line.code == code

    Desk(demo_db.engine, clock=fixed_clock(later)).cancel(
        line.id, demo_db.operator.id, "  double scan par erreur "
    )
    with Session(demo_db.engine) as session:
        cancellation = session.get(Cancellation, line.id)
        assert cancellation.reason == "double scan par erreur"
        assert cancellation.cancelled_at == later
    assert desk.last_active_redemption(session_id) is None
    assert desk.session_redemptions(session_id) == []
    assert desk.check(payload).verdict.value == "valid"

    assert desk.redeem(session_id, demo_db.operator.id, code).verdict.value == "valid"
    rows = redemptions(demo_db, code)
    assert len(rows) == 2
    assert sum(row.cancelled_at is None for row in rows) == 1
    with pytest.raises(DeskError):
        desk.cancel(line.id, demo_db.operator.id, "encore")  # already cancelled
    with pytest.raises(DeskError):
        desk.cancel("0" * 32, demo_db.operator.id, "inconnu")


# --- sessions --------------------------------------------------------------------------------


def test_end_session_summary_counts_and_totals(demo_db):
    start_time, end_time = NOW, NOW + timedelta(hours=2)
    desk = desk_at(demo_db, start_time)
    operator = demo_db.operator.id
    session_id = start(desk, demo_db, title="  Atelier démarches en ligne ")
    assert desk.open_session(operator).id == session_id
    valid = demo_db.demo.codes["valid"]
    for entry in valid[:3]:
        assert desk.redeem(session_id, operator, entry).verdict.value == "valid"
    assert desk.redeem(session_id, operator, demo_db.demo.codes["grace"][0]).redeemable
    desk.redeem(session_id, operator, demo_db.demo.codes["expired"][0])
    desk.redeem(session_id, operator, valid[0])  # a double read
    desk.cancel(desk.last_active_redemption(session_id).id, operator, "erreur de saisie")

    other = start(desk, demo_db, title="Autre séance")
    desk.redeem(other, operator, valid[4])
    desk.redeem(other, operator, demo_db.demo.codes["revoked"][0])

    summary = Desk(demo_db.engine, clock=fixed_clock(end_time)).end_session(session_id)
    assert summary.title == "Atelier démarches en ligne"
    assert summary.started_at == start_time
    assert summary.ended_at == end_time
    assert summary.redeemed_count == 3
    assert summary.total_cents == 3000
    assert summary.refused_count == 2
    # Ending again changes nothing; other sessions are not counted.
    again = Desk(demo_db.engine, clock=fixed_clock(end_time + timedelta(hours=1))).end_session(
        session_id
    )
    assert again == summary
    assert desk.open_session(operator).id == other
    assert [line.code for line in desk.session_redemptions(other)] == [bare(valid[4])]
    with pytest.raises(DeskError):
        desk.end_session(999_999)


@pytest.mark.parametrize(
    ("kind", "minutes"), [("inconnu", 60), ("individuel", 0), ("collectif", 12 * 60 + 1)]
)
def test_start_session_rejects_bad_kind_and_duration(demo_db, kind, minutes):
    with pytest.raises(DeskError):
        desk_at(demo_db).start_session(demo_db.operator.id, "x", kind, "", minutes)


# --- replica age -----------------------------------------------------------------------------


def test_old_replica_warns_but_the_pass_stays_valid(demo_db):
    with Session(demo_db.engine) as session:
        updated_at = session.get(ReplicaMeta, 1).updated_at
        programme = session.get(Programme, demo_db.demo.programme)
    assert updated_at == NOW
    later = NOW + timedelta(days=8)
    assert later.date() < programme.valid_until  # still within the programme's validity
    desk = desk_at(demo_db, later)
    payload = first_qr(demo_db)
    result = desk.check(payload)
    assert result.verdict.value == "valid"
    assert len(result.warnings) == 1
    assert "8 jours" in result.warnings[0]
    session_id = start(desk, demo_db)
    assert desk.redeem(session_id, demo_db.operator.id, payload).redeemable
    assert len(redemptions(demo_db)) == 1
    # Seven days is still fresh.
    assert (
        desk_at(demo_db, NOW + timedelta(days=7)).check(demo_db.demo.codes["valid"][1]).warnings
        == []
    )


# --- mis-set scanners ------------------------------------------------------------------------


def test_garble_table_matches_the_brief():
    assert garble("PN1:HDFNUM:") == "PN&MHDFNU?M"
    assert garble("AZQW") == "QWAZ"


def test_us_layout_scanner_on_azerty_still_redeems(demo_db):
    desk = desk_at(demo_db)
    session_id = start(desk, demo_db)
    payload = first_qr(demo_db)
    garbled = garble(payload)
    assert garbled != payload and not garbled.startswith("PN1:")
    result = desk.redeem(session_id, demo_db.operator.id, garbled)
    assert result.verdict.value == "valid", result.message
    assert result.code == bare(payload)
    assert any("clavier américain" in warning for warning in result.warnings)
    (row,) = redemptions(demo_db)
    assert row.code == bare(payload)
    assert row.raw_input == garbled
    # The bare code, garbled the same way, is recognised as already taken.
    again = desk.check(garble(demo_db.demo.codes["valid"][0].split(":")[2]))
    assert again.verdict.value == "redeemed_here"


# --- forged and unknown QR codes -------------------------------------------------------------


def test_qr_with_another_pass_signature_is_malformed(demo_db):
    first, second = qr_entries(demo_db, "valid")[:2]
    prefix = first.rsplit(":", 1)[0]
    other_signature = second.rsplit(":", 1)[1]
    result = desk_at(demo_db).check(f"{prefix}:{other_signature}")
    assert result.verdict.value == "malformed"
    assert "Signature" in result.message
    assert not result.redeemable


def test_qr_with_a_flipped_character_is_malformed(demo_db):
    payload = first_qr(demo_db)
    prefix, signature = payload.rsplit(":", 1)
    desk = desk_at(demo_db)
    for position in (0, len(signature) // 2, len(signature) - 2):
        flipped_char = "B" if signature[position] != "B" else "C"
        flipped = signature[:position] + flipped_char + signature[position + 1 :]
        assert desk.check(f"{prefix}:{flipped}").verdict.value == "malformed"


def test_qr_with_another_registry_code_under_a_valid_signature_is_malformed(demo_db):
    payload = first_qr(demo_db)
    parts = payload.split(":")
    parts[2] = bare(demo_db.demo.codes["valid"][1])  # a real pass, but not the signed one
    assert desk_at(demo_db).check(":".join(parts)).verdict.value == "malformed"
    parts = payload.split(":")
    parts[3] = "20991231"  # a longer validity than the region signed
    assert desk_at(demo_db).check(":".join(parts)).verdict.value == "malformed"


def test_genuinely_signed_qr_for_a_code_not_in_the_replica_is_provisional(demo_db):
    """The region signed it, the replica does not know it yet: accepted provisionally (the
    region settles it when the batch comes in); the bare code alone stays unknown."""
    key = demo_region_key()
    code = make_code("000000000000")
    with Session(demo_db.engine) as session:
        meta = session.get(ReplicaMeta, 1)
        programme = session.get(Programme, demo_db.demo.programme)
        assert session.get(PassRecord, code) is None
    assert public_key_bytes(key) == meta.region_public_key  # the signature really verifies
    signature = sign(key, signed_message(programme.id, code, programme.valid_until))
    payload = build_payload(programme.id, code, programme.valid_until, signature)
    desk = desk_at(demo_db)
    result = desk.check(payload)
    assert result.verdict.value == "valid" and result.provisional
    assert result.details["provisoire"] == "oui"
    assert result.code == code
    assert desk.check(code).verdict.value == "unknown"
    redeemed = desk.redeem(start(desk, demo_db), demo_db.operator.id, payload)
    assert redeemed.verdict == "valid" and redeemed.value_cents == 1000
    (row,) = redemptions(demo_db)
    assert row.provisional and row.code == code
    # Taken now: both the QR code and the bare code say so.
    assert desk.check(payload).verdict.value == "redeemed_here"
    assert desk.check(code).verdict.value == "redeemed_here"


# --- integrity -------------------------------------------------------------------------------


def test_redeem_in_an_unknown_session_records_nothing_and_says_so(demo_db):
    desk = desk_at(demo_db)
    payload = first_qr(demo_db)
    with pytest.raises(DeskError, match="non enregistré"):
        desk.redeem(999_999, demo_db.operator.id, payload)
    session_id = start(desk, demo_db)
    with pytest.raises(DeskError, match="non enregistré"):
        desk.redeem(session_id, 999_999, payload)
    assert redemptions(demo_db) == []
    assert desk.check(payload).verdict.value == "valid"


def test_two_desks_racing_for_the_same_pass_record_it_once(demo_db):
    other_engine = open_database(demo_db.path)
    try:
        desks = [desk_at(demo_db), Desk(other_engine, clock=fixed_clock(NOW))]
        sessions = [start(desk, demo_db, title=f"Poste {n}") for n, desk in enumerate(desks)]
        payload = first_qr(demo_db)
        barrier = threading.Barrier(len(desks))

        def take(index: int):
            barrier.wait()
            return desks[index].redeem(sessions[index], demo_db.operator.id, payload)

        with ThreadPoolExecutor(max_workers=len(desks)) as pool:
            results = list(pool.map(take, range(len(desks))))
    finally:
        other_engine.dispose()
    assert sorted(result.verdict.value for result in results) == ["redeemed_here", "valid"]
    (row,) = redemptions(demo_db)
    winner = next(i for i, result in enumerate(results) if result.redeemable)
    assert row.session_id == sessions[winner]


def test_an_ended_session_takes_no_more_passes(demo_db):
    desk = desk_at(demo_db, NOW)
    operator = demo_db.operator.id
    session_id = start(desk, demo_db, title="Atelier du matin")
    desk.end_session(session_id)
    with pytest.raises(DeskError, match="séance est terminée"):
        desk.redeem(session_id, operator, demo_db.demo.codes["valid"][0])
    assert desk.session_redemptions(session_id) == []
    assert desk.check(demo_db.demo.codes["valid"][0]).redeemable  # still free
