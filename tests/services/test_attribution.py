"""The distributor's desk on a real demo database: decide, check carnets, record, receipt."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from mediateur_tui.domain.beneficiaries import Identity, IdentityError
from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.protocol.verdicts import AttributionVerdict
from mediateur_tui.services.attribution import (
    NOT_A_DISTRIBUTOR,
    AttributionDesk,
    AttributionError,
    RequestForm,
)
from mediateur_tui.services.attribution_receipt import write_receipt
from mediateur_tui.services.auth import list_operators
from mediateur_tui.services.demo import DEMO_BENEFICIARY, STOCK_CARNETS
from mediateur_tui.services.desk import Desk
from mediateur_tui.store.audit import verify_chain
from mediateur_tui.store.keys import BENEFICIARY_KEY_FILENAME
from mediateur_tui.store.models import (
    Attribution,
    AuditEvent,
    Carnet,
    PassRecord,
    Programme,
    RemoteRedemption,
    Revocation,
)

from .conftest import NOW

TODAY = date(2026, 3, 10)  # NOW's day in Paris
TEN, FIVE = 10, 5


@pytest.fixture
def desk(demo_db, tmp_path) -> AttributionDesk:
    shutil.copyfile(
        demo_db.demo.data_dir / BENEFICIARY_KEY_FILENAME, tmp_path / BENEFICIARY_KEY_FILENAME
    )
    return AttributionDesk(demo_db.engine, tmp_path, fixed_clock(NOW))


@pytest.fixture
def distributor(demo_db) -> int:
    return next(op.id for op in list_operators(demo_db.engine) if op.role == "distributeur")


def stock(demo_db, size: int) -> list[str]:
    carnets = demo_db.demo.stock
    return [carnet for carnet, n in zip(carnets, STOCK_CARNETS, strict=True) if n == size]


def senior(
    identity: Identity = DEMO_BENEFICIARY, accompanied: bool = False, **changes
) -> RequestForm:
    fields = {
        "identity": identity,
        "received_on": TODAY,
        "category": "senior",
        "postcode": "59440",
        "accompanied": accompanied,
        "proofs": frozenset({"residence", "age_proof"}),
        "proof_dates": {},
    }
    fields.update(changes)
    return RequestForm(**fields)


NEWCOMER = Identity("Leroy", "Paul", date(1950, 6, 1))


def test_the_checklist_follows_the_rulebook_in_force_on_the_day_received(desk):
    before = desk.checklist(date(2022, 1, 31), "youth_insertion")
    after = desk.checklist(date(2022, 2, 1), "youth_insertion")
    tokens_before = [group.any_of for group in before]
    tokens_after = [group.any_of for group in after]
    assert tokens_before[0] == ("residence",)  # residence first, always
    assert ("internship_certificate", "mission_locale_certificate") in tokens_after
    assert ("internship_certificate", "mission_locale_certificate") not in tokens_before
    assert desk.checklist(date(2019, 1, 1), "senior") == ()  # no rulebook in force then
    dated = [g for g in desk.checklist(TODAY, "job_seeker") if g.max_age_months]
    assert [g.any_of for g in dated] == [("job_seeker_certificate",)]


def test_a_newcomer_alone_gets_a_carnet_of_five_and_may_ask_for_a_second(desk):
    assessment = desk.assess(senior(NEWCOMER))
    assert assessment.passes_already_received == 0
    assert assessment.decision.eligible
    assert assessment.decision.carnets == (FIVE,)
    assert assessment.decision.second_carnet_on_request


def test_the_replica_tells_what_the_beneficiary_already_received(desk):
    # The demo's Jeanne Dupont holds one carnet of 5 in the replica: one more of 5 fits.
    assessment = desk.assess(senior(accompanied=True))
    assert assessment.passes_already_received == FIVE
    assert assessment.decision.carnets == (FIVE,)
    assert not assessment.decision.second_carnet_on_request


def test_a_missing_proof_refuses_and_names_it(desk):
    assessment = desk.assess(senior(NEWCOMER, proofs=frozenset({"residence"})))
    assert not assessment.decision.eligible
    assert assessment.decision.missing_proofs == ("age_proof",)
    assert "Justificatif manquant" in " ".join(assessment.decision.reasons)


def test_an_empty_name_is_a_french_error(desk):
    with pytest.raises(IdentityError, match="nom est vide"):
        desk.assess(senior(Identity("  ", "Paul", date(1950, 6, 1))))


def test_a_site_without_the_beneficiary_key_is_not_a_distributor(desk):
    (desk.data_dir / BENEFICIARY_KEY_FILENAME).unlink()
    assert desk.unavailable_reason() == NOT_A_DISTRIBUTOR
    with pytest.raises(AttributionError, match="pas structure distributrice"):
        desk.assess(senior(NEWCOMER))


def test_recording_counts_at_once_against_the_cap(demo_db, desk, distributor):
    assessment = desk.assess(senior())
    carnet = stock(demo_db, FIVE)[0]
    scan = desk.identify_carnet(carnet, assessment.decision.carnets)
    assert scan.carnet is not None and scan.carnet.size == FIVE
    info = desk.record(assessment, [carnet], distributor)
    assert info.passes == FIVE and info.status == "à envoyer à la région"
    assert [c.id for c in info.carnets] == [carnet]
    again = desk.assess(senior())
    assert again.passes_already_received == TEN
    assert not again.decision.eligible
    assert "plafond est de 10" in " ".join(again.decision.reasons)
    # The same carnet cannot be handed out a second time, to anyone.
    other = desk.assess(senior(NEWCOMER))
    refusal = desk.identify_carnet(carnet, other.decision.carnets)
    assert refusal.carnet is None and "déjà remis ici le 10/03/2026" in refusal.message


def test_a_refusal_by_the_region_frees_the_cap_and_the_carnet(demo_db, desk, distributor):
    carnet = stock(demo_db, FIVE)[0]
    info = desk.record(desk.assess(senior()), [carnet], distributor)
    with Session(demo_db.engine) as session:
        row = session.get(Attribution, info.id)
        row.verdict, row.region_message = (
            AttributionVerdict.REFUSED,
            "Plafond atteint dans la région.",
        )
        session.add(row)
        session.commit()
    assert desk.attribution(info.id).status == (
        "refusée par la région : Plafond atteint dans la région."
    )
    assert desk.assess(senior()).passes_already_received == FIVE
    assert desk.identify_carnet(carnet, (FIVE,)).carnet is not None


def test_an_accepted_attribution_is_counted_once_with_the_replica(demo_db, desk, distributor):
    carnet = stock(demo_db, FIVE)[0]
    info = desk.record(desk.assess(senior()), [carnet], distributor)
    with Session(demo_db.engine) as session:
        row = session.get(Attribution, info.id)
        row.verdict = AttributionVerdict.ACCEPTED
        replica_carnet = session.get(Carnet, carnet)
        replica_carnet.attributed_on, replica_carnet.beneficiary_ref = TODAY, row.beneficiary_ref
        session.add_all([row, replica_carnet])
        session.commit()
    assert desk.assess(senior()).passes_already_received == TEN


def codes_of(carnet_id: str) -> SelectOfScalar[str]:
    return (
        select(PassRecord.code)
        .join(Carnet, col(Carnet.ref) == col(PassRecord.carnet_ref))
        .where(Carnet.id == carnet_id)
    )


def test_carnet_scans_say_why_a_carnet_cannot_be_handed_out(demo_db, desk):
    ten, five = stock(demo_db, TEN), stock(demo_db, FIVE)
    with Session(demo_db.engine) as session:
        first_pass = session.exec(codes_of(ten[0]))
        code_in_ten = first_pass.first()
        codes = [session.exec(codes_of(carnet)).first() for carnet in five[:3]]
        session.add(Revocation(code=codes[0], reason="stolen", revoked_on=TODAY))
        session.add(RemoteRedemption(code=codes[1], site_id="FOURMIES-MEDIA", redeemed_on=TODAY))
        attributed = session.exec(
            select(Carnet.id).where(Carnet.attributed_on.is_not(None))
        ).first()
        session.commit()
    wanted = (FIVE,)
    assert desk.identify_carnet(code_in_ten, (TEN,)).carnet.id == ten[0]  # any pass names it
    cases = {
        code_in_ten: "de 10 pass : la décision prévoit 5",
        codes[0]: "en opposition",
        codes[1]: "déjà été encaissé",
        attributed: "déjà attribué le",
        "C9999999": "inconnu de la réplique",
        "7K3M-9QXR-4TBEA": "vérifiez la saisie",
        "bonjour": "non autorisé dans un code de pass",
    }
    for text, expected in cases.items():
        scan = desk.identify_carnet(text, wanted)
        assert scan.carnet is None, text
        assert expected in scan.message, (text, scan.message)
    already = desk.identify_carnet(five[2], wanted, scanned=[five[2]])
    assert already.carnet is None and "déjà scanné" in already.message


def set_attributed(demo_db, carnet: str, on: date | None) -> None:
    with Session(demo_db.engine) as session:
        row = session.get(Carnet, carnet)
        row.attributed_on = on
        session.add(row)
        session.commit()


def test_a_carnet_whose_pass_was_taken_here_is_not_handed_out(demo_db, desk):
    carnet = stock(demo_db, FIVE)[0]
    with Session(demo_db.engine) as session:
        code = session.exec(codes_of(carnet)).first()
    # The replica once said the carnet was attributed (a pass was taken), then took it back.
    set_attributed(demo_db, carnet, TODAY)
    till = Desk(demo_db.engine, clock=fixed_clock(NOW))
    session_id = till.start_session(demo_db.operator.id, "Atelier", "collectif", "", 60).id
    assert till.redeem(session_id, demo_db.operator.id, code).redeemable
    set_attributed(demo_db, carnet, None)
    scan = desk.identify_carnet(carnet, (FIVE,))
    assert scan.carnet is None and "déjà été encaissé" in scan.message


def test_an_expired_programme_cannot_be_handed_out(demo_db, desk):
    carnet = stock(demo_db, FIVE)[0]
    with Session(demo_db.engine) as session:
        programme = session.get(Programme, session.get(Carnet, carnet).programme_id)
        programme.valid_until = TODAY - timedelta(days=1)
        session.add(programme)
        session.commit()
    scan = desk.identify_carnet(carnet, (FIVE,))
    assert scan.carnet is None and "ne sont plus valables depuis le 09/03/2026" in scan.message


def test_record_checks_again_under_the_lock(demo_db, desk, distributor):
    five = stock(demo_db, FIVE)
    first, second = desk.assess(senior()), desk.assess(senior())
    desk.record(first, [five[0]], distributor)
    with pytest.raises(AttributionError, match="depuis la décision"):
        desk.record(second, [five[1]], distributor)
    newcomer = desk.assess(senior(NEWCOMER))
    with pytest.raises(AttributionError, match="déjà remis ici"):
        desk.record(newcomer, [five[0]], distributor)
    with pytest.raises(AttributionError, match="ne correspondent pas"):
        desk.record(newcomer, [stock(demo_db, TEN)[0]], distributor)
    refused = desk.assess(senior(NEWCOMER, proofs=frozenset()))
    with pytest.raises(AttributionError, match="aucun carnet"):
        desk.record(refused, [five[2]], distributor)
    with Session(demo_db.engine) as session:
        assert len(session.exec(select(Attribution)).all()) == 1


def test_recording_writes_an_audit_event_and_stores_no_name(demo_db, desk, distributor):
    info = desk.record(desk.assess(senior()), [stock(demo_db, FIVE)[0]], distributor)
    with Session(demo_db.engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.kind == "attribution")).one()
        assert verify_chain(session)[1] is None
    details = json.loads(event.details)
    assert details["id"] == info.id and details["beneficiary_ref"] == info.beneficiary_ref
    demo_db.engine.dispose()
    stored = b"".join(
        Path(f"{demo_db.path}{suffix}").read_bytes()
        for suffix in ("", "-wal")
        if Path(f"{demo_db.path}{suffix}").exists()
    )
    assert info.beneficiary_ref.encode() in stored
    for name in (b"Dupont", b"DUPONT", b"Jeanne", b"JEANNE"):
        assert name not in stored


def test_the_receipt_is_a_pdf_with_the_reference_and_without_the_name(demo_db, desk, distributor):
    carnet = stock(demo_db, TEN)[0]
    info = desk.record(desk.assess(senior(NEWCOMER, accompanied=True)), [carnet], distributor)
    path = write_receipt(desk, info.id)
    assert path.parent == desk.data_dir / "recus"
    assert path.name == f"attribution-20260310-{info.id[:8]}.pdf"
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    assert b"Leroy" not in data and b"LEROY" not in data
    page = PdfReader(path).pages[0]
    # The demo site's identity, as the region gave it, under the distributor's name.
    assert "Identité : SIRET 123 456 782 00010 · code INSEE 59036" in page.extract_text()
    fonts = {font.get_object()["/BaseFont"] for font in page["/Resources"]["/Font"].values()}
    # every name prints (Nguyễn Thị Łucja too): the embedded Unicode font, not Helvetica
    assert {name.split("+")[-1] for name in fonts} == {"NotoSans-Regular", "NotoSans-Bold"}
