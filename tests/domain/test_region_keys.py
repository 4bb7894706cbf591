"""Region keys: the signing window and revocation rule of a pass's key, key sets followed from
the first key, region documents verified by the key they name, and PN2 payloads."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from mediateur_tui.domain.codes import make_code
from mediateur_tui.domain.region_keys import (
    PassKeyProblem,
    RegionKey,
    RegionKeys,
    pass_key_problem,
)
from mediateur_tui.domain.scan_input import build_payload, parse_scan, signed_message
from mediateur_tui.domain.signatures import (
    key_id,
    private_key_from_seed,
    public_key_bytes,
    sign,
)
from mediateur_tui.domain.verdicts import PassFacts, ReplicaState, Verdict, decide
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.key_sets import (
    follow_key_sets,
    key_set_document,
    verify_region_document,
)
from mediateur_tui.protocol.signing import region_signer, sign_document

REGION = "HDF"
FIRST = private_key_from_seed(b"\x01" * 32)
SECOND = private_key_from_seed(b"\x02" * 32)
THIRD = private_key_from_seed(b"\x03" * 32)
ROTATED_ON = date(2026, 6, 1)
REVOKED_FROM = date(2026, 9, 1)
AT = datetime(2026, 6, 1, 8, tzinfo=UTC)


def key(private, valid_from, sign_until=None, revoked_from=None) -> RegionKey:
    public = public_key_bytes(private)
    return RegionKey(key_id(public), public, valid_from, sign_until, revoked_from)


FIRST_RETIRED = key(FIRST, date(2025, 1, 1), sign_until=ROTATED_ON)
SECOND_ACTIVE = key(SECOND, ROTATED_ON)


def signed_set(sequence, keys, by) -> dict:
    document = key_set_document(REGION, sequence, AT, keys)
    return sign_document(document, by, region_signer(REGION))


ROTATION = signed_set(1, [FIRST_RETIRED, SECOND_ACTIVE], by=FIRST)
REVOCATION = signed_set(
    2, [key(FIRST, date(2025, 1, 1), ROTATED_ON, REVOKED_FROM), SECOND_ACTIVE], by=SECOND
)
ENROLLED = RegionKeys.first_key_only(public_key_bytes(FIRST))


# --- the rule for a pass's key ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("signer", "issued_on", "listed", "replica_made_on", "today", "problem"),
    [
        (None, None, False, None, date(2026, 7, 1), PassKeyProblem.UNKNOWN),
        # listed passes: the replica's issue day decides
        (FIRST_RETIRED, date(2026, 5, 31), True, None, date(2026, 7, 1), None),
        (FIRST_RETIRED, ROTATED_ON, True, None, date(2026, 7, 1), None),
        (FIRST_RETIRED, date(2026, 6, 2), True, None, date(2026, 7, 1), "outside"),
        (SECOND_ACTIVE, date(2026, 5, 31), True, None, date(2026, 7, 1), "outside"),
        (FIRST_RETIRED, None, True, None, date(2026, 7, 1), None),  # before key ids
        # not listed: signed after the replica was made, today at the latest
        (FIRST_RETIRED, None, False, date(2026, 5, 20), date(2026, 7, 1), None),
        (FIRST_RETIRED, None, False, date(2026, 6, 2), date(2026, 7, 1), "outside"),
        (SECOND_ACTIVE, None, False, date(2026, 6, 2), date(2026, 7, 1), None),
        (SECOND_ACTIVE, None, False, None, date(2026, 5, 1), "outside"),
    ],
)
def test_a_pass_is_trusted_only_within_its_keys_signing_window(
    signer, issued_on, listed, replica_made_on, today, problem
):
    expected = {"outside": PassKeyProblem.OUTSIDE_WINDOW}.get(problem, problem)
    assert pass_key_problem(signer, issued_on, listed, replica_made_on, today) == expected


def test_a_revoked_key_is_trusted_only_for_passes_listed_as_issued_before_its_revocation():
    revoked = key(FIRST, date(2025, 1, 1), revoked_from=REVOKED_FROM)
    before, on = date(2026, 8, 31), REVOKED_FROM
    assert pass_key_problem(revoked, before, True, None, date(2026, 10, 1)) is None
    assert pass_key_problem(revoked, on, True, None, date(2026, 10, 1)) is PassKeyProblem.REVOKED
    # a pass the replica does not list: signed up to today, so after the revocation
    not_listed = pass_key_problem(revoked, None, False, date(2026, 8, 1), date(2026, 10, 1))
    assert not_listed is PassKeyProblem.REVOKED
    # a revocation that starts tomorrow does not refuse today's passes
    assert pass_key_problem(revoked, None, False, None, date(2026, 8, 31)) is None


# --- key sets --------------------------------------------------------------------------------


def test_a_site_follows_rotation_then_revocation_from_its_enrolment_key():
    keys, accepted = follow_key_sets(ENROLLED, REGION, [ROTATION, REVOCATION])
    assert accepted == [ROTATION, REVOCATION]
    assert keys.sequence == 2
    assert [k.kid for k in keys.keys] == [FIRST_RETIRED.kid, SECOND_ACTIVE.kid]
    assert keys.named(None).revoked_from == REVOKED_FROM  # PN1 and kid-less documents: key 1
    assert keys.named(SECOND_ACTIVE.kid).sign_until is None


def test_sets_already_followed_are_skipped_and_a_gap_is_refused():
    after_rotation, _ = follow_key_sets(ENROLLED, REGION, [ROTATION])
    assert follow_key_sets(after_rotation, REGION, [ROTATION, REVOCATION])[1] == [REVOCATION]
    with pytest.raises(ProtocolError, match="n° 1 manquant"):
        follow_key_sets(ENROLLED, REGION, [REVOCATION])


def test_a_set_not_signed_by_a_trusted_key_is_refused():
    # key 2 is not yet trusted by a site that knows key 1 only
    by_new_key = signed_set(1, [FIRST_RETIRED, SECOND_ACTIVE], by=SECOND)
    with pytest.raises(ProtocolError, match="ne peut pas relier"):
        follow_key_sets(ENROLLED, REGION, [by_new_key])
    # a thief holding the revoked key 1 cannot add a key of their own
    after_revocation, _ = follow_key_sets(ENROLLED, REGION, [ROTATION, REVOCATION])
    forged = signed_set(3, [FIRST_RETIRED, SECOND_ACTIVE, key(THIRD, REVOKED_FROM)], by=FIRST)
    with pytest.raises(ProtocolError, match="ne peut pas relier"):
        follow_key_sets(after_revocation, REGION, [forged])


def test_a_set_that_drops_a_key_or_was_altered_is_refused():
    dropping = signed_set(1, [SECOND_ACTIVE], by=FIRST)
    with pytest.raises(ProtocolError, match="incohérent"):
        follow_key_sets(ENROLLED, REGION, [dropping])
    altered = {**ROTATION, "keys": [dict(entry) for entry in ROTATION["keys"]]}
    altered["keys"][1]["valid_from"] = "2020-01-01"
    with pytest.raises(ProtocolError, match="Signature invalide"):
        follow_key_sets(ENROLLED, REGION, [altered])
    mislabelled = {**ROTATION, "keys": [dict(entry) for entry in ROTATION["keys"]]}
    mislabelled["keys"][0]["status"] = "active"
    with pytest.raises(ProtocolError, match="mal formé"):
        follow_key_sets(ENROLLED, REGION, [mislabelled])


def test_region_documents_are_verified_by_the_key_they_name():
    keys, _ = follow_key_sets(ENROLLED, REGION, [ROTATION])
    page = {"format": "pn-replica-page/1", "changes": []}
    verify_region_document(sign_document(page, SECOND, region_signer(REGION)), keys, REGION)
    verify_region_document(sign_document(page, FIRST, region_signer(REGION)), keys, REGION)
    unsigned_kid = sign_document(page, FIRST, region_signer(REGION))
    del unsigned_kid["signature"]["kid"]  # before key ids: the first key
    verify_region_document(unsigned_kid, keys, REGION)
    with pytest.raises(ProtocolError, match="ne connaît pas"):
        verify_region_document(sign_document(page, THIRD, region_signer(REGION)), keys, REGION)
    revoked, _ = follow_key_sets(keys, REGION, [REVOCATION])
    with pytest.raises(ProtocolError, match="révoquée"):
        verify_region_document(sign_document(page, FIRST, region_signer(REGION)), revoked, REGION)


# --- PN2 payloads ----------------------------------------------------------------------------


def test_a_pn2_payload_names_its_key_and_its_signature_covers_it():
    code, until = make_code("0123456789AB"), date(2027, 6, 30)
    kid = SECOND_ACTIVE.kid
    message = signed_message("HDFNUM", code, until, kid)
    assert message == f"PN2:{kid}:HDFNUM:{code}:20270630"
    scan = parse_scan(build_payload("HDFNUM", code, until, sign(SECOND, message), kid))
    assert (scan.error, scan.kid, scan.code, scan.signed_message) == (None, kid, code, message)
    assert parse_scan(f"PN2:{kid.lower()}:HDFNUM:{code}:20270630:AAAA").kid == kid
    assert "Clé de signature illisible" in str(
        parse_scan(f"PN2:0189:HDFNUM:{code}:20270630:A").error
    )
    assert parse_scan(f"PN1:HDFNUM:{code}:20270630:AAAA").kid is None


# --- verdicts --------------------------------------------------------------------------------

CODE = make_code("7K3M9QXR4TB0")
UNTIL = date(2027, 6, 30)
FACTS = PassFacts(
    code=CODE,
    programme_id="HDFNUM",
    programme_label="Pass numérique",
    value_cents=1000,
    carnet_id="C0000042",
    carnet_size=5,
    carnet_attributed=True,
    valid_from=date(2026, 1, 1),
    valid_until=UNTIL,
    grace_until=date(2027, 12, 31),
    accepted_here=True,
)


def qr(private, kid: str | None) -> str:
    message = signed_message("HDFNUM", CODE, UNTIL, kid)
    return build_payload("HDFNUM", CODE, UNTIL, sign(private, message), kid)


def verdict_on(scanned: str, facts: PassFacts | None, keys: RegionKeys, now: datetime) -> Verdict:
    replica = ReplicaState(updated_at=now - timedelta(hours=1), region_keys=keys)
    return decide(parse_scan(scanned), facts, replica, now).verdict


def test_passes_of_both_keys_are_valid_after_a_rotation_and_a_made_up_key_is_refused():
    keys, _ = follow_key_sets(ENROLLED, REGION, [ROTATION])
    now = datetime(2026, 7, 1, 10, tzinfo=UTC)
    before = replace(FACTS, issued_on=date(2026, 3, 1))
    after = replace(FACTS, issued_on=date(2026, 6, 20))
    assert verdict_on(qr(FIRST, None), before, keys, now) is Verdict.VALID  # PN1
    assert verdict_on(qr(SECOND, SECOND_ACTIVE.kid), after, keys, now) is Verdict.VALID
    made_up = qr(THIRD, key_id(public_key_bytes(THIRD)))
    assert verdict_on(made_up, None, keys, now) is Verdict.UNKNOWN_KEY
    assert verdict_on(made_up, before, keys, now) is Verdict.UNKNOWN_KEY
    # a site that never followed the rotation does not know key 2 yet
    assert verdict_on(qr(SECOND, SECOND_ACTIVE.kid), None, ENROLLED, now) is Verdict.UNKNOWN_KEY
    # a key-1 pass that the replica says was issued after the rotation: key 1 did not sign then
    assert verdict_on(qr(FIRST, None), after, keys, now) is Verdict.KEY_OUT_OF_PERIOD


def test_after_a_revocation_only_passes_listed_as_issued_before_it_are_taken():
    keys, _ = follow_key_sets(ENROLLED, REGION, [ROTATION, REVOCATION])
    now = datetime(2026, 10, 1, 10, tzinfo=UTC)
    listed_before = replace(FACTS, issued_on=date(2026, 3, 1))
    assert verdict_on(qr(FIRST, None), listed_before, keys, now) is Verdict.VALID
    result = decide(
        parse_scan(qr(FIRST, None)), None, ReplicaState(updated_at=now, region_keys=keys), now
    )
    assert result.verdict is Verdict.KEY_REVOKED and not result.redeemable
    assert "révoquée à partir du 01/09/2026" in result.message
    assert Verdict.KEY_REVOKED.label == "Clé de signature révoquée"


def test_a_thief_holding_a_retired_key_cannot_fork_the_chain():
    after_rotation, _ = follow_key_sets(ENROLLED, REGION, [ROTATION])
    attacker = key(THIRD, ROTATED_ON)
    # set 2 signed by the retired key 1: not the key in service in set 1
    forked = signed_set(2, [FIRST_RETIRED, SECOND_ACTIVE, attacker], by=FIRST)
    with pytest.raises(ProtocolError, match="ne peut pas relier"):
        follow_key_sets(after_rotation, REGION, [forked])
    # another set 1, signed by key 1 while it was in service: not the set this site has
    other_first = signed_set(1, [FIRST_RETIRED, attacker], by=FIRST)
    with pytest.raises(ProtocolError, match="différent de celui que ce poste a déjà reçu"):
        follow_key_sets(after_rotation, REGION, [other_first, REVOCATION])
    # a set that brings key 1 back into service, or moves its first day
    revived = signed_set(2, [key(FIRST, date(2025, 1, 1)), SECOND_ACTIVE], by=SECOND)
    moved = signed_set(2, [key(FIRST, date(2020, 1, 1), ROTATED_ON), SECOND_ACTIVE], by=SECOND)
    for bad in (revived, moved):
        with pytest.raises(ProtocolError, match="incohérent"):
            follow_key_sets(after_rotation, REGION, [bad])


def test_a_pn2_payload_without_its_key_is_incomplete():
    code = make_code("0123456789AB")
    assert "QR code incomplet" in str(parse_scan(f"PN2:HDFNUM:{code}:20270630:AAAA").error)
