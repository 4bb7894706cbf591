"""A region signature names the key that made it (`kid`); a site verifies that it names the
region key it knows, and still verifies a document signed before key ids."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediateur_tui.domain.signatures import key_id, new_private_key, public_key_bytes
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.signing import (
    region_signer,
    sign_document,
    site_signer,
    verify_document,
)

DOCUMENT = {"format": "pn-replica-page/1", "region_id": "HDF", "changes": []}


@given(st.binary(min_size=32, max_size=32))
def test_a_key_id_is_eight_base32_symbols_of_the_key(public_key: bytes) -> None:
    kid = key_id(public_key)
    assert re.fullmatch(r"[A-Z2-7]{8}", kid)
    assert key_id(public_key) == kid
    other = bytes([public_key[0] ^ 1]) + public_key[1:]
    assert key_id(other) != kid  # another key, another id


def test_a_region_signature_names_its_key_and_a_site_signature_none() -> None:
    key = new_private_key()
    by_region = sign_document(DOCUMENT, key, region_signer("HDF"))
    assert by_region["signature"]["kid"] == key_id(public_key_bytes(key))
    verify_document(by_region, public_key_bytes(key), region_signer("HDF"))
    by_site = sign_document(DOCUMENT, key, site_signer("AVESNES-EPN"))
    assert "kid" not in by_site["signature"]


def test_a_document_naming_another_key_is_refused_before_its_signature_is_read() -> None:
    key, other = new_private_key(), new_private_key()
    document = sign_document(DOCUMENT, key, region_signer("HDF"))
    with pytest.raises(ProtocolError, match=key_id(public_key_bytes(key))):
        verify_document(document, public_key_bytes(other), region_signer("HDF"))
    document["signature"]["kid"] = "<script>"
    with pytest.raises(ProtocolError, match="clé illisible"):
        verify_document(document, public_key_bytes(key), region_signer("HDF"))


def test_a_document_signed_before_key_ids_still_verifies() -> None:
    key = new_private_key()
    document = sign_document(DOCUMENT, key, region_signer("HDF"))
    del document["signature"]["kid"]  # the kid is outside the signed bytes
    verify_document(document, public_key_bytes(key), region_signer("HDF"))
    document["changes"] = [{"t": "site", "id": "X", "name": "X"}]
    with pytest.raises(ProtocolError, match="Signature invalide"):
        verify_document(document, public_key_bytes(key), region_signer("HDF"))
