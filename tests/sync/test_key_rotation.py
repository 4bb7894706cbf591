"""The region's keys change: a site follows rotations and revocations through the key sets of
pages and snapshots, and judges each QR payload by the key it names (docs/protocol.md, « Clés
de la région »; docs/passes.md, « QR payloads »)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session

from mediateur_tui.domain.scan_input import build_payload, signed_message
from mediateur_tui.domain.signatures import key_id, public_key_bytes, sign
from mediateur_tui.domain.verdicts import Verdict
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.signing import region_signer, sign_document
from mediateur_tui.services.replica import apply_page, apply_snapshot
from mediateur_tui.store import queries
from mediateur_tui.store.sync_state import read_sync_state

from .conftest import make_site
from .region import PROGRAMME, Region, day

UNTIL = day("2026-12-31")
ROTATED_ON = day("2026-02-15")


def pull(site, region: Region) -> None:
    with Session(site.engine) as session:
        cursor = read_sync_state(session).replica_cursor
    apply_page(site.engine, region.page(cursor, limit=1000))


def key_set_sequence(site) -> int:
    with Session(site.engine) as session:
        stored = queries.replica_meta(session).region_key_set
    return 0 if stored is None else json.loads(stored)["sequence"]


def check(site, scanned: str) -> Verdict:
    return site.desk().check(scanned).verdict


def forged(private_key: Ed25519PrivateKey, code: str, kid: str) -> str:
    signature = sign(private_key, signed_message(PROGRAMME, code, UNTIL, kid))
    return build_payload(PROGRAMME, code, UNTIL, signature, kid)


@pytest.fixture
def rotated(tmp_path, region):
    """A site that imported the replica under key 1; then the region issued a carnet under
    key 1, rotated, and issued one under key 2 (neither pulled yet)."""
    site = make_site(tmp_path / "site", region)
    _, before = region.carnet(issued_on=day("2026-02-01"))
    first_key_pass = region.qr(before[0], UNTIL)
    region.rotate(ROTATED_ON)
    _, after = region.carnet(issued_on=day("2026-02-20"))
    second_key_pass = region.qr(after[0], UNTIL)
    yield site, first_key_pass, second_key_pass
    site.engine.dispose()


def test_a_site_that_syncs_once_verifies_passes_of_both_keys_offline(rotated, region):
    site, first_key_pass, second_key_pass = rotated
    assert first_key_pass.startswith("PN1:") and second_key_pass.startswith(f"PN2:{region.kid}:")
    assert check(site, second_key_pass) is Verdict.UNKNOWN_KEY  # not followed yet
    pull(site, region)
    assert key_set_sequence(site) == 1
    assert check(site, first_key_pass) is Verdict.VALID
    assert check(site, second_key_pass) is Verdict.VALID
    # a key-2 pass issued since the last sync is taken provisionally, on key 2's signature
    newer = region.new_code()
    assert site.desk().check(region.qr(newer, UNTIL)).provisional


def test_a_site_offline_since_before_the_rotation_follows_it_by_file(rotated, region):
    site, first_key_pass, second_key_pass = rotated
    applied = apply_snapshot(site.engine, region.snapshot())
    assert applied.applied and key_set_sequence(site) == 1
    assert check(site, first_key_pass) is Verdict.VALID
    assert check(site, second_key_pass) is Verdict.VALID


def test_a_payload_with_a_made_up_key_is_refused(rotated, region):
    site, _, _ = rotated
    pull(site, region)
    thief = Ed25519PrivateKey.generate()
    made_up = forged(thief, region.new_code(), key_id(public_key_bytes(thief)))
    result = site.desk().check(made_up)
    assert result.verdict is Verdict.UNKNOWN_KEY and not result.redeemable
    assert "clé que la région n'a pas annoncée" in result.message


def test_key_1_is_not_trusted_once_it_stopped_signing(rotated, region):
    site, _, _ = rotated
    pull(site, region)  # the replica was made after key 1's last signing day
    # a PN1 payload for a code the registry does not hold, as a holder of key 1 makes it
    late = site.desk().check(region.first_key_payload(region.new_code(), UNTIL))
    assert late.verdict is Verdict.KEY_OUT_OF_PERIOD
    assert "hors de sa période de signature (du 01/01/2025 au 15/02/2026)" in late.message


def test_after_revocation_key_1_payloads_are_refused_but_passes_listed_before_it_stay(
    rotated, region
):
    site, first_key_pass, second_key_pass = rotated
    first_kid = key_id(region.first_public_key)
    region.revoke(first_kid, day("2026-02-10"))
    pull(site, region)
    assert key_set_sequence(site) == 2
    assert check(site, first_key_pass) is Verdict.VALID  # listed, issued on 1 February
    result = site.desk().check(region.first_key_payload(region.new_code(), UNTIL))
    assert result.verdict is Verdict.KEY_REVOKED
    assert "révoquée à partir du 10/02/2026" in result.message
    assert check(site, second_key_pass) is Verdict.VALID


def test_a_key_set_that_does_not_chain_is_refused_and_nothing_is_applied(rotated, region):
    site, _, second_key_pass = rotated
    before = site.dump()
    impostor = Region(changes=region.changes)
    impostor.first_public_key = region.first_public_key  # claims to be the region
    impostor.rotate(ROTATED_ON)  # but its set 1 is signed by a key the site never trusted
    with pytest.raises(ProtocolError, match="ne peut pas relier"):
        apply_page(site.engine, impostor.page(0, limit=1000))
    with pytest.raises(ProtocolError, match="ne peut pas relier"):
        apply_snapshot(site.engine, impostor.snapshot())
    assert site.dump() == before
    assert check(site, second_key_pass) is Verdict.UNKNOWN_KEY


def test_a_page_signed_by_a_revoked_key_is_refused(rotated, region):
    site, _, _ = rotated
    region.revoke(key_id(region.first_public_key), day("2026-02-10"))
    pull(site, region)
    before = site.dump()
    leaked = region.page(0, limit=1000)
    leaked = sign_document(leaked, region.first_key, region_signer(region.region_id))
    with pytest.raises(ProtocolError, match="révoquée"):
        apply_page(site.engine, leaked)
    assert site.dump() == before


def test_a_pull_cut_before_its_last_page_does_not_date_the_replica(rotated, region):
    """The replica's date says when it held everything: a pass in a page not yet pulled must
    not look issued after it (and be refused as signed out of its key's window)."""
    site, _, _ = rotated
    with Session(site.engine) as session:
        before = queries.replica_meta(session).updated_at
        since = read_sync_state(session).replica_cursor
    later = before + timedelta(days=5)
    first = region.page(since, limit=1, generated_at=later)
    assert first["more"]
    apply_page(site.engine, first)
    with Session(site.engine) as session:
        assert queries.replica_meta(session).updated_at == before
    apply_page(site.engine, region.page(since + 1, limit=1000, generated_at=later))
    with Session(site.engine) as session:
        assert queries.replica_meta(session).updated_at == later
