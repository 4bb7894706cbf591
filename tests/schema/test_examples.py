"""Hand-written example documents of every format conform to the contract."""

from __future__ import annotations

import copy

import pytest
from contract import FORMATS, validate

from mediateur_tui.protocol import documents, signing
from mediateur_tui.protocol.verdicts import AttributionRefusal, AttributionVerdict

from .examples import (
    EXAMPLES,
    OPTIONAL_FIELDS,
    REGION_ID,
    REGION_KEY,
    SITE_ID,
    SITE_KEY,
    ack,
    attribution_answer,
    attributions,
    batch,
    changes,
    code,
    enrolment,
    public_bytes,
    replica_page,
)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_is_valid(name: str) -> None:
    validate(EXAMPLES[name](), name)


@pytest.mark.parametrize("document_format", sorted(FORMATS))
def test_validate_accepts_a_format_as_the_name(document_format: str) -> None:
    document = EXAMPLES[FORMATS[document_format]]()
    assert document["format"] == document_format
    validate(document, document_format)


@pytest.mark.parametrize(
    ("name", "signer", "key"),
    [
        ("replica-page", signing.region_signer(REGION_ID), REGION_KEY),
        ("replica-page-v2", signing.region_signer(REGION_ID), REGION_KEY),
        ("replica-snapshot", signing.region_signer(REGION_ID), REGION_KEY),
        ("replica-seal", signing.region_signer(REGION_ID), REGION_KEY),
        ("enrolment", signing.region_signer(REGION_ID), REGION_KEY),
        ("key-set", signing.region_signer(REGION_ID), REGION_KEY),
        ("batch", signing.site_signer(SITE_ID), SITE_KEY),
        ("ack", signing.region_signer(REGION_ID), REGION_KEY),
        ("attributions", signing.site_signer(SITE_ID), SITE_KEY),
        ("attribution-answer", signing.region_signer(REGION_ID), REGION_KEY),
        ("beneficiary-key", signing.region_signer(REGION_ID), REGION_KEY),
        ("declaration", signing.site_signer(SITE_ID), SITE_KEY),
        ("declaration-answer", signing.region_signer(REGION_ID), REGION_KEY),
        ("site-recovery", signing.region_signer(REGION_ID), REGION_KEY),
    ],
)
def test_signed_examples_carry_real_signatures(name: str, signer: str, key) -> None:
    document = EXAMPLES[name]()
    signing.verify_document(document, public_bytes(key), signer)
    # The contract still holds after the trip through the file format.
    reloaded = documents.load_json(documents.dump_gzip_json(document), document["format"])
    validate(reloaded, name)


def test_the_enrolment_request_is_not_signed() -> None:
    assert "signature" not in EXAMPLES["enrolment-request"]()


def test_every_change_kind_is_exercised() -> None:
    kinds = {change["t"] for change in changes()}
    assert kinds == {
        "programme",
        "site",
        "carnet",
        "attribution",
        "revocation",
        "used",
        "released",
        "rulebook",
    }
    assert {change["n"] for change in changes() if change["t"] == "carnet"} == {5, 10}


def test_an_empty_page_and_an_empty_batch_are_valid() -> None:
    page = replica_page()
    page.update(since=10, until=10, more=False, changes=[])
    validate(page, "replica-page")
    document = batch()
    document.update(
        sequence=1,
        previous_hash=None,
        sessions=[],
        redemptions=[],
        refused_scans=[],
        totals={"redemptions": 0, "value_cents": 0, "refused_scans": 0},
    )
    validate(document, "batch")


def test_an_ack_may_have_no_lines() -> None:
    document = ack()
    document.update(lines=[], totals={"accepted": 0, "accepted_cents": 0, "refused": 0})
    validate(document, "ack")


@pytest.mark.parametrize(
    "sites", [["*"], ["AVESNES-EPN"], ["AVESNES-EPN", "FOURMIES-MEDIA", "LILLE-2"]]
)
def test_programme_sites_are_site_ids_or_a_star(sites: list[str]) -> None:
    page = replica_page()
    page["changes"][0]["sites"] = sites
    validate(page, "replica-page")


@pytest.mark.parametrize(
    "instant",
    ["2026-03-31T22:00:00Z", "2026-03-31T22:00:00+00:00", "2026-03-31T22:00:00.5Z"],
)
def test_instants_in_utc(instant: str) -> None:
    document = copy.deepcopy(batch())
    document["sealed_at"] = instant
    document["redemptions"][0]["redeemed_at"] = instant
    validate(document, "batch")


def test_a_redemption_of_a_pass_the_replica_does_not_know_is_provisional() -> None:
    document = batch()
    provisional = [line for line in document["redemptions"] if line["provisional"]]
    assert [line["code"] for line in provisional] == [code(99)]
    validate(document, "batch")


def test_every_attribution_verdict_and_reason_is_exercised() -> None:
    results = attribution_answer()["results"]
    assert {item["verdict"] for item in results} == {
        AttributionVerdict.ACCEPTED,
        AttributionVerdict.REFUSED,
    }
    reasons = [item["reason"] for item in results if item["reason"] is not None]
    assert tuple(reasons) == tuple(AttributionRefusal)


def test_optional_fields_may_be_left_out() -> None:
    """A plain site's enrolment has no beneficiary key; changes of an older hub have no "b";
    a region document signed before key ids names no key; a batch of an older site has no
    activity, and an activity has the counts the médiatrice gave, if any."""
    answer = enrolment()
    del answer["beneficiary_key"]
    validate(answer, "enrolment")
    page = replica_page()
    for change in page["changes"]:
        change.pop("b", None)
    del page["signature"]["kid"]
    validate(page, "replica-page")
    older = batch()
    for session in older["sessions"]:
        del session["activity"]
    validate(older, "batch")
    sparse = batch()
    for session in sparse["sessions"]:
        for name in ("genres", "tranches_age", "statuts"):
            session["activity"].pop(name, None)
    validate(sparse, "batch")
    signature = set(replica_page()["signature"])
    present = {key for change in changes() for key in change} | set(enrolment()) | signature
    activities = [session["activity"] for session in batch()["sessions"]]
    present |= {"activity"} | {key for item in activities for key in item}
    present |= {
        key
        for item in activities
        for name in ("genres", "tranches_age", "statuts")
        for key in item.get(name, {})
    }
    assert present >= OPTIONAL_FIELDS


def test_a_carnet_taken_back_names_nobody_and_an_empty_document_is_valid() -> None:
    page = replica_page()
    page["changes"].append({"t": "attribution", "id": "C0000002", "a": None, "b": None})
    validate(page, "replica-page")
    document = attributions()
    document["attributions"] = []
    validate(document, "attributions")
    answer = attribution_answer()
    answer["results"] = []
    validate(answer, "attribution-answer")


@pytest.mark.parametrize("reference", ["REF-1", "B-001", "BENEF-0", "B" * 64])
def test_the_region_may_hand_out_carnets_under_its_own_references(reference: str) -> None:
    page = replica_page()
    page["changes"][6]["b"] = reference  # `mediateur-hub attribute --beneficiary REF`
    validate(page, "replica-page")
