"""Two distributor sites hand carnets to the same person; the region keeps the 10-pass cap.

Distributor A hands a carnet of 10 to Jeanne Dupont; distributor B, offline and unaware of it,
hands her a carnet of 5 (locally she had nothing). Both find the same pseudonymous reference,
because both derive it with the region's beneficiary key received at enrolment. A syncs first
and is accepted; B is refused for the cap, with the region's count. A third, ordinary site then
takes the passes of A's carnet, and refuses those of B's (never attributed).

Against a real `mediateur-hub serve` process, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from contract import validate
from sqlmodel import Session, select

from mediateur_tui.domain.verdicts import Verdict
from mediateur_tui.hub.database import read_session
from mediateur_tui.hub.models import HubAttribution, HubCarnet
from mediateur_tui.services.attribution import AttributionDesk
from mediateur_tui.services.auth import list_operators
from mediateur_tui.services.desk import Desk
from mediateur_tui.store.models import Attribution

from .conftest import (
    JEANNE,
    SITE_A,
    SITE_A_NAME,
    SITE_B,
    SITE_B_NAME,
    SITE_C,
    SITE_C_NAME,
    request_for,
)


def distributor_desk(site) -> tuple[AttributionDesk, int]:
    site.ok("operator", "add", "Nadia Lefèvre", "--role", "distributeur", pin="2468")
    operator = next(op for op in list_operators(site.engine) if op.role == "distributeur")
    return AttributionDesk(site.engine, site.data_dir), operator.id


def hand_out(desk: AttributionDesk, operator: int, accompanied: bool, carnet: str):
    assessment = desk.assess(request_for(JEANNE, accompanied))
    assert assessment.decision.eligible, assessment.decision.reasons
    scan = desk.identify_carnet(carnet, assessment.decision.carnets)
    assert scan.carnet is not None, scan.message
    return assessment, desk.record(assessment, [carnet], operator)


def test_two_distributors_past_the_cap_then_another_site_takes_the_passes(
    any_region, make_site
) -> None:
    region = any_region
    region.init()
    tens = region.issue(1, size=10)
    fives = region.issue(1, size=5)
    (ten,), (five,) = tens, fives
    names = {SITE_A: SITE_A_NAME, SITE_B: SITE_B_NAME, SITE_C: SITE_C_NAME}
    tokens = {
        SITE_A: region.enrol_site(SITE_A, SITE_A_NAME, distributor=True),
        SITE_B: region.enrol_site(SITE_B, SITE_B_NAME, distributor=True),
        SITE_C: region.enrol_site(SITE_C, SITE_C_NAME),
    }
    server = region.serve()
    site_a, site_b, site_c = make_site("a"), make_site("b"), make_site("c")
    for site, site_id in ((site_a, SITE_A), (site_b, SITE_B), (site_c, SITE_C)):
        out = site.ok("enrol", "--hub", server.url, "--token", tokens[site_id])
        assert f"lieu « {names[site_id]} » ({site_id})" in out
        assert ("Structure distributrice" in out) == (site_id != SITE_C)
        site.ok("sync")
    assert AttributionDesk(site_c.engine, site_c.data_dir).unavailable_reason() is not None

    # Before anything is handed out, nobody can take these passes.
    till_c = Desk(site_c.engine)
    assert till_c.check(tens[ten][0]).verdict == Verdict.UNATTRIBUTED

    # A hands a carnet of 10 (accompanied); B, unaware, a carnet of 5 (alone).
    desk_a, nadia_a = distributor_desk(site_a)
    desk_b, nadia_b = distributor_desk(site_b)
    seen_by_a, given_a = hand_out(desk_a, nadia_a, True, ten)
    seen_by_b, given_b = hand_out(desk_b, nadia_b, False, five)
    assert seen_by_a.beneficiary_ref == seen_by_b.beneficiary_ref  # the same person, region-wide
    assert seen_by_a.passes_already_received == seen_by_b.passes_already_received == 0

    out = site_a.ok("sync")
    assert "Attributions de carnets : 1 acceptée(s) par la région, 0 refusée(s)." in out
    out = site_b.cli("sync")
    assert "Attributions de carnets : 0 acceptée(s) par la région, 1 refusée(s)." in out.out
    assert desk_a.attribution(given_a.id).status == "acceptée par la région"
    refused = desk_b.attribution(given_b.id)
    assert refused.verdict == "refused"
    assert "10" in (refused.region_message or "")
    with Session(site_b.engine) as session:
        row = session.get(Attribution, given_b.id)
        assert row.region_reason == "beneficiary_cap"

    # The region holds A's carnet as Jeanne's, B's carnet as still free, and both answers.
    with read_session(region.engine) as session:
        carnets = {row.id: row for row in session.exec(select(HubCarnet)).all()}
        answers = {row.id: row.verdict for row in session.exec(select(HubAttribution)).all()}
    assert carnets[ten].beneficiary_ref == seen_by_a.beneficiary_ref
    assert carnets[ten].attributed_on is not None
    assert carnets[five].attributed_on is None and carnets[five].beneficiary_ref is None
    assert answers == {given_a.id: "accepted", given_b.id: "refused"}

    # B now knows, from the replica, that Jeanne has her 10 passes; its carnet is free again.
    again = desk_b.assess(request_for(JEANNE, False))
    assert again.passes_already_received == 10 and not again.decision.eligible
    assert desk_b.identify_carnet(five, (5,)).carnet is not None

    # A third site, after its sync, takes A's passes and refuses B's.
    site_c.ok("sync")
    assert till_c.check(tens[ten][0]).verdict == Verdict.VALID
    assert till_c.check(fives[five][0]).verdict == Verdict.UNATTRIBUTED
    site_c.ok("operator", "add", "Camille Martin", "--role", "mediateur", pin="1234")
    taken = site_c.redeem("Camille Martin", "1234", tens[ten][:2], datetime.now(UTC))
    assert [result.redeemable for result in taken] == [True, True]

    # Syncing again sends nothing more: the answers are stored.
    out = site_b.cli("sync")
    assert "Attributions de carnets" not in out.out


def test_attributions_travel_by_usb_key(region, make_site, tmp_path) -> None:
    usb = tmp_path / "cle-usb"
    region.init()
    fives = region.issue(1, size=5)
    (five,) = fives
    token = region.enrol_site(SITE_A, SITE_A_NAME, distributor=True)
    site = make_site("a")
    site.ok("import-replica", str(_replica(region, usb)), "--site", SITE_A)
    site.ok("enrol", "--token", token, "--request-file", str(usb / "demande.json"))
    region.ok("import-enrolment", str(usb / "demande.json"))
    out = site.ok("enrol", "--answer-file", str(usb / f"inscription-{SITE_A}.json"))
    assert "Structure distributrice" in out

    desk, operator = distributor_desk(site)
    _assessment, given = hand_out(desk, operator, False, five)
    assert "à envoyer à la région" in site.ok("attribution", "list")
    out = site.ok("attribution", "export", str(usb))
    (sent,) = usb.glob(f"attributions-{SITE_A}-*.json")
    assert str(sent) in out
    validate(json.loads(sent.read_bytes()), "pn-attributions/1")

    out = region.ok("import-attributions", str(sent))
    assert f"Attributions du site {SITE_A} : 1 acceptée, 0 refusée." in out
    (answer,) = usb.glob(f"reponse-attributions-{SITE_A}-*.json")
    validate(json.loads(answer.read_bytes()), "pn-attribution-answer/1")
    out = site.ok("attribution", "import-answer", str(answer))
    assert "1 attribution(s) acceptée(s), 0 refusée(s)" in out
    assert desk.attribution(given.id).status == "acceptée par la région"
    nothing = site.cli("attribution", "export", str(usb))
    assert nothing.code == 1 and "rien à exporter" in nothing.out

    # The region's next replica file makes the carnet's passes redeemable at the site.
    assert Desk(site.engine).check(fives[five][0]).verdict == Verdict.UNATTRIBUTED
    site.ok("import-replica", str(_replica(region, usb)))
    assert Desk(site.engine).check(fives[five][0]).verdict == Verdict.VALID


def _replica(region, usb):
    path = usb / "replique.json.gz"
    region.ok("export-replica", str(path))
    return path
