"""The site's side of attributions: the signed document it sends, the region's answer it
stores, and the beneficiary references the replica brings (no server here: see tests/e2e)."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import pytest
from contract import validate
from sqlmodel import Session, select

from mediateur_tui.domain.beneficiaries import Identity
from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import ATTRIBUTION_ANSWER
from mediateur_tui.protocol.instants import iso_instant
from mediateur_tui.protocol.signing import (
    region_signer,
    sign_document,
    site_signer,
    verify_document,
)
from mediateur_tui.services import attribution_sync as attributions
from mediateur_tui.services.attribution import AttributionDesk, RequestForm
from mediateur_tui.services.replica import apply_page
from mediateur_tui.store.keys import load_site_key, raw_public_key, write_beneficiary_key
from mediateur_tui.store.models import Attribution, Carnet

from .conftest import NOW, make_site
from .region import SITE_ID, Region

KEY = bytes(range(32))
ANSWERED_AT = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)


def senior(last: str) -> RequestForm:
    return RequestForm(
        identity=Identity(last, "Jeanne", date(1958, 3, 14)),
        received_on=date(2026, 3, 10),
        category="senior",
        postcode="80000",
        accompanied=True,
        proofs=frozenset({"residence", "age_proof"}),
        proof_dates={},
    )


@pytest.fixture
def distributor_site(tmp_path, region):
    carnets = [region.carnet(10, attributed=None)[0] for _ in range(3)]
    site = make_site(tmp_path / "site", region)
    write_beneficiary_key(site.data_dir, KEY)
    desk = AttributionDesk(site.engine, site.data_dir, fixed_clock(NOW))
    yield site, desk, carnets
    site.engine.dispose()


def hand_out(desk: AttributionDesk, site, last: str, carnet: str) -> str:
    return desk.record(desk.assess(senior(last)), [carnet], site.operator_id).id


def answer(
    region: Region, document: dict[str, Any], refused: dict[str, str] | None = None
) -> dict[str, Any]:
    """The region's answer: every attribution accepted but `refused` (id -> reason)."""
    refused = refused or {}
    results = [
        {
            "id": entry["id"],
            "verdict": "refused" if entry["id"] in refused else "accepted",
            "reason": refused.get(entry["id"]),
            "message": "Plafond de 10 pass atteint." if entry["id"] in refused else "Acceptée.",
            "beneficiary_passes": entry["passes"],
        }
        for entry in document["attributions"]
    ]
    body = {
        "format": ATTRIBUTION_ANSWER,
        "region_id": region.region_id,
        "site_id": document["site_id"],
        "answered_at": iso_instant(ANSWERED_AT),
        "results": results,
    }
    return sign_document(body, region.key, region_signer(region.region_id))


def verdicts(site) -> dict[str, tuple[str | None, str | None]]:
    with Session(site.engine) as session:
        rows = session.exec(select(Attribution)).all()
        return {row.id: (row.verdict, row.region_message) for row in rows}


def test_nothing_to_send_without_attributions(distributor_site):
    site, _desk, _carnets = distributor_site
    assert attributions.pending_documents(site.engine, site.data_dir, NOW) == []


def test_the_document_lists_unanswered_attributions_signed_by_the_site(distributor_site):
    site, desk, carnets = distributor_site
    first = hand_out(desk, site, "Dupont", carnets[0])
    second = hand_out(desk, site, "Martin", carnets[1])
    (document,) = attributions.pending_documents(site.engine, site.data_dir, NOW)
    validate(document, "pn-attributions/1")
    verify_document(document, raw_public_key(load_site_key(site.data_dir)), site_signer(SITE_ID))
    by_id = {entry["id"]: entry for entry in document["attributions"]}
    assert set(by_id) == {first, second}
    entry = by_id[first]
    assert entry["carnets"] == [carnets[0]] and entry["passes"] == 10
    assert entry["received_on"] == "2026-03-10" and entry["category"] == "senior"
    assert "Dupont" not in str(document) and "Jeanne" not in str(document)


def test_many_attributions_are_cut_into_several_documents(distributor_site, monkeypatch):
    site, desk, carnets = distributor_site
    monkeypatch.setattr(attributions, "MAX_ATTRIBUTIONS_PER_DOCUMENT", 2)
    given = {
        hand_out(desk, site, name, carnet) for name, carnet in zip("ABC", carnets, strict=True)
    }
    documents = attributions.pending_documents(site.engine, site.data_dir, NOW)
    assert [len(document["attributions"]) for document in documents] == [2, 1]
    assert {entry["id"] for d in documents for entry in d["attributions"]} == given
    for document in documents:
        validate(document, "pn-attributions/1")


def test_answers_are_stored_and_answered_attributions_are_not_sent_again(distributor_site, region):
    site, desk, carnets = distributor_site
    kept = hand_out(desk, site, "Dupont", carnets[0])
    refused = hand_out(desk, site, "Martin", carnets[1])
    (document,) = attributions.pending_documents(site.engine, site.data_dir, NOW)
    attributions.mark_sent(site.engine, document, NOW)
    reply = answer(region, document, {refused: "beneficiary_cap"})
    validate(reply, "pn-attribution-answer/1")
    summary = attributions.apply_answer(site.engine, reply, ANSWERED_AT, document)
    assert (summary.accepted, summary.refused) == (1, 1)
    assert verdicts(site) == {
        kept: ("accepted", "Acceptée."),
        refused: ("refused", "Plafond de 10 pass atteint."),
    }
    assert desk.attribution(refused).status.startswith("refusée par la région")
    assert attributions.pending_documents(site.engine, site.data_dir, NOW) == []


@pytest.mark.parametrize(
    "spoil",
    [
        "tampered",
        "missing_result",
        "unknown_verdict",
        "unknown_reason",
        "other_site",
        "foreign_key",
    ],
)
def test_a_bad_answer_changes_nothing(distributor_site, region, spoil):
    site, desk, carnets = distributor_site
    hand_out(desk, site, "Dupont", carnets[0])
    hand_out(desk, site, "Martin", carnets[1])
    (document,) = attributions.pending_documents(site.engine, site.data_dir, NOW)
    reply = answer(region, document)
    body = copy.deepcopy({key: value for key, value in reply.items() if key != "signature"})
    if spoil == "tampered":
        reply["results"][0]["verdict"] = "refused"
    else:
        if spoil == "missing_result":
            body["results"].pop()
        elif spoil == "unknown_verdict":
            body["results"][0]["verdict"] = "maybe"
        elif spoil == "unknown_reason":
            body["results"][0].update(verdict="refused", reason="mood")
        elif spoil == "other_site":
            body["site_id"] = "FOURMIES-MEDIA"
        key = Region().key if spoil == "foreign_key" else region.key
        reply = sign_document(body, key, region_signer(region.region_id))
    before = verdicts(site)
    with pytest.raises(ProtocolError):
        attributions.apply_answer(site.engine, reply, ANSWERED_AT, document)
    assert verdicts(site) == before
    assert all(verdict is None for verdict, _message in before.values())


def test_the_replica_brings_the_beneficiary_reference_of_attributed_carnets(
    distributor_site, region
):
    site, desk, carnets = distributor_site
    reference = desk.assess(senior("Dupont")).beneficiary_ref
    since = len(region.changes)
    region.add({"t": "attribution", "id": carnets[2], "a": "2026-03-09", "b": reference})
    apply_page(site.engine, region.page(since))
    with Session(site.engine) as session:
        carnet = session.get(Carnet, carnets[2])
        assert (carnet.attributed_on, carnet.beneficiary_ref) == (date(2026, 3, 9), reference)
    assessment = desk.assess(senior("Dupont"))
    assert assessment.passes_already_received == 10
    assert not assessment.decision.eligible
    since = len(region.changes)
    region.add({"t": "attribution", "id": carnets[2], "a": None, "b": None})  # taken back
    apply_page(site.engine, region.page(since))
    assert desk.assess(senior("Dupont")).passes_already_received == 0
