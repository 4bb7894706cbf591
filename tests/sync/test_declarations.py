"""The declaration outbox and the recovery of a lost laptop, on the site's side
(services/declarations.py, services/recovery.py), with documents signed as the region signs
them. The same against a real hub: tests/e2e/test_declarations.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from contract import validate
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session, select

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.domain.formatting import format_datetime
from mediateur_tui.domain.verdicts import Verdict
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.signing import (
    document_hash,
    region_signer,
    sign_document,
    site_signer,
    verify_document,
)
from mediateur_tui.services import declarations
from mediateur_tui.services.auth import add_operator, has_operators, log_in
from mediateur_tui.services.backup import make_backup, restore_backup
from mediateur_tui.services.batches import batch_document
from mediateur_tui.services.declarations import (
    apply_answer,
    declare_pending,
    next_declaration,
    pending_count,
)
from mediateur_tui.services.month_end import MonthEnd
from mediateur_tui.services.recovery import merge_recovery
from mediateur_tui.services.sync import SiteSync
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.keys import load_site_key, raw_public_key
from mediateur_tui.store.models import Batch, Redemption
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME
from mediateur_tui.store.sync_state import read_sync_state, sync_state

from .conftest import NOW, make_site
from .region import SITE_ID, Region

APRIL_2 = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)
CONFLICT_WINNER = {"site_id": "FOURMIES-MEDIA", "redeemed_at": "2026-03-09T15:00:00Z"}


def codes_of(region: Region, count: int) -> list[str]:
    carnets = [change for change in region.changes if change["t"] == "carnet"]
    return [code for carnet in carnets for code in carnet["codes"]][:count]


def redemption_id(site, code: str) -> str:
    with Session(site.engine) as session:
        return session.exec(select(Redemption.id).where(Redemption.code == code)).one()


def test_a_declaration_carries_what_the_region_has_not_been_told(site, region):
    first, second, third = codes_of(region, 3)
    session_id = site.session()
    for code in (first, second, third):
        assert site.redeem(code, NOW, session_id).redeemable
    site.desk().cancel(redemption_id(site, third), site.operator_id, "Erreur de lecture")
    assert pending_count(site.engine) == 3

    document = next_declaration(site.engine, site.data_dir, NOW)
    assert document is not None
    validate(document, "pn-declaration/1")
    verify_document(document, raw_public_key(load_site_key(site.data_dir)), site_signer(SITE_ID))
    assert [line["code"] for line in document["redemptions"]] == [first, second, third]
    assert [line["id"] for line in document["sessions"]] == [session_id]
    (cancellation,) = document["cancellations"]
    assert cancellation["redemption_id"] == redemption_id(site, third)

    apply_answer(site.engine, document, region.declaration_answer(document), NOW)
    assert pending_count(site.engine) == 0
    assert next_declaration(site.engine, site.data_dir, NOW) is None


def test_the_regions_refusal_is_kept_and_check_says_it(site, region):
    (code,) = codes_of(region, 1)
    assert site.redeem(code, NOW).redeemable
    document = next_declaration(site.engine, site.data_dir, NOW)
    refused = {document["redemptions"][0]["id"]: ("conflict", CONFLICT_WINNER)}
    report = apply_answer(site.engine, document, region.declaration_answer(document, refused), NOW)
    assert (report.redemptions, report.accepted, report.refused) == (1, 0, 1)
    checked = site.desk().check(code)
    assert checked.verdict is Verdict.REDEEMED_ELSEWHERE and not checked.redeemable
    winner_at = format_datetime(datetime(2026, 3, 9, 15, 0, tzinfo=UTC))
    assert (
        f"mais refusé par la région : déjà payé à Médiathèque de Fourmies, qui l'a encaissé "
        f"le {winner_at}."
    ) in checked.message


@pytest.mark.parametrize("damage", ["line missing", "other declaration", "other key"])
def test_a_wrong_answer_marks_nothing_declared(site, region, damage):
    first, second = codes_of(region, 2)
    session_id = site.session()
    site.redeem(first, NOW, session_id)
    site.redeem(second, NOW, session_id)
    document = next_declaration(site.engine, site.data_dir, NOW)
    answer = region.declaration_answer(document)
    if damage == "line missing":
        answer["lines"] = answer["lines"][:1]
    elif damage == "other declaration":
        answer["declaration_id"] = "0" * 32
    unsigned = {key: value for key, value in answer.items() if key != "signature"}
    key = Ed25519PrivateKey.generate() if damage == "other key" else region.key
    answer = sign_document(unsigned, key, region_signer(region.region_id))
    before = site.dump()
    with pytest.raises(ProtocolError):
        apply_answer(site.engine, document, answer, NOW)
    assert site.dump() == before
    assert pending_count(site.engine) == 2


def test_long_outboxes_go_in_chunks_cancellations_last(site, region, monkeypatch):
    monkeypatch.setattr(declarations, "MAX_DECLARATION_LINES", 2)
    codes = codes_of(region, 5)
    session_id = site.session()
    for code in codes:
        site.redeem(code, NOW, session_id)
    site.desk().cancel(redemption_id(site, codes[0]), site.operator_id, "Doublon de saisie")
    sent: list[tuple[int, int]] = []

    def post(document):
        sent.append((len(document["redemptions"]), len(document["cancellations"])))
        return region.declaration_answer(document)

    report = declare_pending(site.engine, site.data_dir, post, fixed_clock(NOW))
    assert sent == [(2, 0), (2, 0), (1, 1)]
    assert (report.redemptions, report.cancellations, report.accepted) == (5, 1, 5)
    assert pending_count(site.engine) == 0


def test_a_cut_keeps_what_was_answered_and_resends_the_rest(site, region, monkeypatch):
    monkeypatch.setattr(declarations, "MAX_DECLARATION_LINES", 2)
    codes = codes_of(region, 3)
    session_id = site.session()
    for code in codes:
        site.redeem(code, NOW, session_id)
    answered: list[str] = []

    def post_then_cut(document):
        if answered:
            raise ConnectionError("coupure")
        answered.extend(line["code"] for line in document["redemptions"])
        return region.declaration_answer(document)

    with pytest.raises(ConnectionError):
        declare_pending(site.engine, site.data_dir, post_then_cut, fixed_clock(NOW))
    assert pending_count(site.engine) == 1
    rest = next_declaration(site.engine, site.data_dir, NOW)
    assert [line["code"] for line in rest["redemptions"]] == [codes[2]]


def test_a_batch_carries_its_own_lines_they_are_not_declared(site, region):
    (code,) = codes_of(region, 1)
    site.redeem(code, NOW)
    MonthEnd(site.engine, site.data_dir, clock=fixed_clock(APRIL_2)).close_month("2026-03")
    assert pending_count(site.engine) == 0
    assert next_declaration(site.engine, site.data_dir, APRIL_2) is None


def test_a_new_laptop_gets_back_what_the_region_holds(site, region, tmp_path):
    """March closed and acknowledged, two passes declared in April: the new laptop gets the
    batch, its lines and the declared passes; a second recovery adds nothing."""
    march, april = codes_of(region, 3)[:1], codes_of(region, 3)[1:]
    site.redeem(march[0], NOW)
    batch = MonthEnd(site.engine, site.data_dir, clock=fixed_clock(APRIL_2)).close_month("2026-03")
    batch_doc = batch_document(site.engine, batch.batch_id)
    session_id = site.session(APRIL_2)
    for code in april:
        site.redeem(code, APRIL_2, session_id)
    declared = next_declaration(site.engine, site.data_dir, APRIL_2)
    recovery = region.recovery(SITE_ID, [(batch_doc, region.ack(batch_doc))], [declared])
    validate(recovery, "pn-site-recovery/1")

    new = make_site(tmp_path / "nouveau", region)
    report = merge_recovery(new.engine, recovery, APRIL_2)
    assert (report.redemptions_added, report.batches_added) == (3, 1)
    with Session(new.engine) as session:
        rows = {row.code: row for row in session.exec(select(Redemption))}
        (stored,) = session.exec(select(Batch)).all()
    assert rows[march[0]].batch_id == batch.batch_id
    assert all(rows[code].batch_id is None and rows[code].declared_at for code in april)
    assert stored.acknowledged_at is not None and stored.sequence == 1
    assert pending_count(new.engine) == 0  # nothing to declare again
    assert new.desk(APRIL_2).check(april[0]).verdict is Verdict.REDEEMED_HERE

    again = merge_recovery(new.engine, recovery, APRIL_2)
    assert (again.redemptions_added, again.redemptions_present) == (0, 3)

    forged = {key: value for key, value in recovery.items() if key != "signature"}
    forged = sign_document(forged, Ed25519PrivateKey.generate(), region_signer(region.region_id))
    with pytest.raises(ProtocolError):
        merge_recovery(new.engine, forged, APRIL_2)


def test_names_given_back_are_not_accounts_until_someone_takes_them(tmp_path, region):
    """A laptop with nothing but what the region gave back is still a new site: its first
    account may take a name the recovery brought, with its own PIN."""
    region.carnet()
    old = make_site(tmp_path / "ancien", region)
    (code,) = codes_of(region, 1)
    old.redeem(code, NOW)
    declared = next_declaration(old.engine, old.data_dir, NOW)
    new = make_site(tmp_path / "nouveau", region, with_operator=False)
    merge_recovery(new.engine, region.recovery(SITE_ID, [], [declared]), NOW)
    assert not has_operators(new.engine)
    assert not log_in(new.engine, "Camille Martin", "1234").ok
    add_operator(new.engine, "Camille Martin", "responsable", "4321")
    login = log_in(new.engine, "Camille Martin", "4321")
    assert login.ok and login.operator is not None
    with Session(new.engine) as session:
        (redemption,) = session.exec(select(Redemption)).all()
    assert redemption.operator_id == login.operator.id  # her history is hers again
    assert has_operators(new.engine)


def _resigned(region: Region, document: dict) -> dict:
    unsigned = {key: value for key, value in document.items() if key != "signature"}
    return sign_document(unsigned, region.key, region_signer(region.region_id))


def _recovery_of_one_batch_and_one_declared(site, region):
    codes = codes_of(region, 2)
    site.redeem(codes[0], NOW)
    batch = MonthEnd(site.engine, site.data_dir, clock=fixed_clock(APRIL_2)).close_month("2026-03")
    batch_doc = batch_document(site.engine, batch.batch_id)
    site.redeem(codes[1], APRIL_2)
    declared = next_declaration(site.engine, site.data_dir, APRIL_2)
    return region.recovery(SITE_ID, [(batch_doc, region.ack(batch_doc))], [declared])


@pytest.mark.parametrize(
    "damage",
    [
        "sequence as text",
        "totals as text",
        "session missing",
        "session id as text",
        "provisional as text",
        "batches not a list",
        "cancellation of nothing known",
        "cancellation without its time",
    ],
)
def test_a_broken_recovery_is_refused_in_french_and_nothing_is_merged(
    site, region, tmp_path, damage
):
    recovery = _recovery_of_one_batch_and_one_declared(site, region)
    batch, declared = recovery["batches"][0]["batch"], recovery["declared"]
    if damage == "sequence as text":
        batch["sequence"] = "1"
    elif damage == "totals as text":
        batch["totals"]["value_cents"] = "1000"
    elif damage == "session missing":
        declared["sessions"] = []
    elif damage == "session id as text":
        declared["redemptions"][0]["session_id"] = str(declared["redemptions"][0]["session_id"])
    elif damage == "provisional as text":
        declared["redemptions"][0]["provisional"] = "non"
    elif damage == "batches not a list":
        recovery["batches"] = {"0": recovery["batches"][0]}
    elif damage == "cancellation of nothing known":
        declared["cancellations"] = [
            {"redemption_id": "0" * 32, "cancelled_at": "2026-04-02T10:00:00Z", "reason": "x"}
        ]
    else:
        taken = declared["redemptions"][0]["id"]
        declared["cancellations"] = [{"redemption_id": taken, "reason": "Erreur"}]
    new = make_site(tmp_path / "nouveau", region)
    before = new.dump()
    with pytest.raises(ProtocolError, match="Document de reprise de la région mal formé"):
        merge_recovery(new.engine, _resigned(region, recovery), APRIL_2)
    assert new.dump() == before


def test_after_a_recovery_the_next_batch_chains_to_the_recovered_one(site, region, tmp_path):
    recovery = _recovery_of_one_batch_and_one_declared(site, region)
    recovered = recovery["batches"][0]["batch"]
    new = make_site(tmp_path / "nouveau", region)
    merge_recovery(new.engine, recovery, APRIL_2)
    may_2 = datetime(2026, 5, 2, 9, 0, tzinfo=UTC)
    sealed = MonthEnd(new.engine, new.data_dir, clock=fixed_clock(may_2)).close_month("2026-04")
    document = batch_document(new.engine, sealed.batch_id)
    assert document["sequence"] == 2
    assert document["previous_hash"] == document_hash(recovered)
    assert [line["code"] for line in document["redemptions"]] == [
        line["code"] for line in recovery["declared"]["redemptions"]
    ]


def test_a_restored_site_asks_the_region_again_at_its_next_sync(site, tmp_path):
    """What was declared after the backup was made comes back with the recovery."""
    site.set_enrolment("http://127.0.0.1:9")
    with Session(site.engine) as session:
        state = sync_state(session)
        state.last_sync_at = NOW
        session.add(state)
        session.commit()
    archive = make_backup(site.engine, site.data_dir, tmp_path / "usb", keep=1).path
    laptop = tmp_path / "nouveau-poste"
    restore_backup(archive, laptop)
    engine = open_database(laptop / DATABASE_FILENAME)
    try:
        with Session(engine) as session:
            restored = read_sync_state(session)
        assert restored.enrolled_at is not None and restored.last_sync_at is None
    finally:
        engine.dispose()


def test_the_apps_sync_skips_while_another_runs(site):
    site.set_enrolment("http://127.0.0.1:9")
    sync = SiteSync(site.engine, site.data_dir, fixed_clock(NOW), sleep=lambda _: None)
    with sync._running:  # the user's sync, from the sync screen or the command line
        assert sync.sync_if_online() is None
