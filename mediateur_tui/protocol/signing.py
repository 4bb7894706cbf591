"""Signed documents: canonical bytes, hashes, keys on the wire, signing and verifying.

A signed document carries a `signature` object `{"signer": "region:<id>" | "site:<id>",
"value": <base64 Ed25519 signature>}` over the canonical bytes of the document without its
`signature` field. A region signature also names its key, `"kid": <key id>` (domain.signatures
.key_id): a region's keys change over the years, a site's key is the one its enrolment
registered. A region document without `kid` was signed before key ids, by the region's first
key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mediateur_tui.domain.signatures import KID_PATTERN, key_id, public_key_bytes
from mediateur_tui.protocol.errors import ProtocolError

REGION_SIGNER_PREFIX = "region:"
_json_string = json.encoder.encode_basestring  # how json.dumps writes a key (ensure_ascii off)


def canonical_bytes(document: dict[str, Any]) -> bytes:
    """The bytes that are signed: sorted keys, no spaces, UTF-8, without `signature`."""
    unsigned = {key: value for key, value in document.items() if key != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def document_hash(document: dict[str, Any]) -> str:
    """SHA-256 (hex) of the whole document, signature included: what a hash chain links."""
    whole = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(whole.encode("utf-8")).hexdigest()


def signed_encodings(document: dict[str, Any]) -> tuple[bytes, bytes]:
    """(what `document_hash` hashes, what `canonical_bytes` gives), from one encoding of each
    top-level value: a receiver needs both of a large document."""
    members = [(key, _member(key, document[key])) for key in sorted(document)]
    whole = "{" + ",".join(member for _key, member in members) + "}"
    unsigned = "{" + ",".join(member for key, member in members if key != "signature") + "}"
    return whole.encode("utf-8"), unsigned.encode("utf-8")


def _member(key: str, value: object) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{_json_string(key)}:{text}"


def encode_key(public_key: bytes) -> str:
    return base64.b64encode(public_key).decode("ascii")


def decode_key(text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ProtocolError("Clé publique illisible.") from error
    if len(raw) != 32:
        raise ProtocolError("Clé publique de longueur incorrecte.")
    return raw


def sign_document(
    document: dict[str, Any], private_key: Ed25519PrivateKey, signer: str
) -> dict[str, Any]:
    """A copy of `document` with its signature (naming its key when the region signs)."""
    value = private_key.sign(canonical_bytes(document))
    signature = {"signer": signer, "value": encode_key(value)}
    if signer.startswith(REGION_SIGNER_PREFIX):
        signature["kid"] = key_id(public_key_bytes(private_key))
    return {**document, "signature": signature}


def verify_document(
    document: dict[str, Any], public_key: bytes, signer: str, canonical: bytes | None = None
) -> None:
    """Raises ProtocolError unless `document` is signed by `signer` with `public_key`.
    `canonical`: its canonical bytes, when the caller has them already (`signed_encodings`)."""
    signature = document.get("signature")
    if not isinstance(signature, dict) or signature.get("signer") != signer:
        raise ProtocolError(f"Document non signé par {signer} : refusé.")
    named = signature.get("kid")
    if "kid" in signature and named != key_id(public_key):
        raise ProtocolError(
            f"Document signé par la clé {shown_kid(named)}, qui n'est pas la clé connue de "
            f"{signer} ({key_id(public_key)}) : refusé."
        )
    try:
        raw = base64.b64decode(str(signature.get("value", "")), validate=True)
        signed = canonical_bytes(document) if canonical is None else canonical
        Ed25519PublicKey.from_public_bytes(public_key).verify(raw, signed)
    except (InvalidSignature, binascii.Error, ValueError) as error:
        raise ProtocolError(
            "Signature invalide : le document a été modifié après sa signature, "
            "ou ne vient pas de l'émetteur annoncé. Il est refusé."
        ) from error


def shown_kid(named: object) -> str:
    """A `kid` read from a document, as a message can show it."""
    text = str(named)
    return text if KID_PATTERN.fullmatch(text) else "illisible"


def region_signer(region_id: str) -> str:
    return f"{REGION_SIGNER_PREFIX}{region_id}"


def site_signer(site_id: str) -> str:
    return f"site:{site_id}"
