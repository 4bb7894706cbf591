"""The open sync protocol between a site and the region (docs/protocol.md; schema/).

Every document is a JSON object with a `format` field. Signed documents carry a `signature`
object `{"signer": "region:<id>" | "site:<id>", "value": <base64 Ed25519 signature>}` over
the canonical bytes of the document without its `signature` field. Both the hub and the site
use this module, so that the two sides can never disagree on what is signed.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import json
import zlib
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PROTOCOL_VERSION = 1
REPLICA_PAGE = "pn-replica-page/1"
REPLICA_SNAPSHOT = "pn-replica-snapshot/1"
BATCH = "pn-batch/1"
ACK = "pn-ack/1"
ENROLMENT_REQUEST = "pn-enrolment-request/1"
ENROLMENT = "pn-enrolment/1"
ATTRIBUTIONS = "pn-attributions/1"
ATTRIBUTION_ANSWER = "pn-attribution-answer/1"
BENEFICIARY_KEY = "pn-beneficiary-key/1"

# Change kinds in replica pages and snapshots (field "t").
CHANGE_PROGRAMME = "programme"
CHANGE_SITE = "site"
CHANGE_CARNET = "carnet"
CHANGE_ATTRIBUTION = "attribution"
CHANGE_REVOCATION = "revocation"
CHANGE_USED = "used"

# Verdicts of the region on one redemption line of a batch.
LINE_ACCEPTED = "accepted"
LINE_REFUSED = "refused"
REFUSAL_REASONS = ("conflict", "revoked", "expired", "unknown", "not_attributed", "duplicate_line")

# Verdicts of the region on one attribution of carnets (pn-attribution-answer/1).
ATTRIBUTION_ACCEPTED = "accepted"
ATTRIBUTION_REFUSED = "refused"
ATTRIBUTION_REFUSAL_REASONS = (
    "beneficiary_cap",  # the beneficiary would pass the per-person cap, all distributors counted
    "lycee_cap",  # the lycée experiment's region-wide quota is reached
    "no_rulebook",  # no rulebook (or no such category) in force on received_on
    "carnet_unknown",  # a carnet the registry does not hold
    "carnet_taken",  # a carnet already attributed (to anyone, by any attribution)
    "invalid",  # inconsistent: passes not equal to the carnets' sizes, carnet twice, ...
)

MAX_ATTRIBUTIONS_PER_DOCUMENT = 1_000  # a site with more sends several pn-attributions/1
MAX_DOCUMENT_BYTES = 512 * 1024 * 1024  # after decompression: a 1,000,000-pass snapshot fits


class ProtocolError(ValueError):
    """A document that cannot be used, with a French message for the user."""


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
    """A copy of `document` with its signature."""
    value = private_key.sign(canonical_bytes(document))
    return {**document, "signature": {"signer": signer, "value": encode_key(value)}}


def verify_document(document: dict[str, Any], public_key: bytes, signer: str) -> None:
    """Raises ProtocolError unless `document` is signed by `signer` with `public_key`."""
    signature = document.get("signature")
    if not isinstance(signature, dict) or signature.get("signer") != signer:
        raise ProtocolError(f"Document non signé par {signer} : refusé.")
    try:
        raw = base64.b64decode(str(signature.get("value", "")), validate=True)
        Ed25519PublicKey.from_public_bytes(public_key).verify(raw, canonical_bytes(document))
    except (InvalidSignature, binascii.Error, ValueError) as error:
        raise ProtocolError(
            "Signature invalide : le document a été modifié après sa signature, "
            "ou ne vient pas de l'émetteur annoncé. Il est refusé."
        ) from error


def region_signer(region_id: str) -> str:
    return f"region:{region_id}"


def site_signer(site_id: str) -> str:
    return f"site:{site_id}"


def dump_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def dump_gzip_json(document: dict[str, Any]) -> bytes:
    """Gzip-compressed JSON (mtime 0, so the same document always gives the same bytes)."""
    return gzip.compress(dump_json(document), compresslevel=6, mtime=0)


def load_json(data: bytes, expected_format: str) -> dict[str, Any]:
    """Parses JSON or gzip-compressed JSON and checks its `format`; French errors."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = _gunzip_limited(data)
        except (OSError, EOFError, zlib.error) as error:
            raise ProtocolError("Fichier compressé endommagé (gzip illisible).") from error
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProtocolError("Fichier illisible : ce n'est pas un document JSON valide.") from error
    if not isinstance(document, dict) or document.get("format") != expected_format:
        found = document.get("format") if isinstance(document, dict) else None
        raise ProtocolError(
            f"Ce fichier n'est pas du type attendu ({expected_format}) : type « {found} »."
        )
    return document


def _gunzip_limited(data: bytes) -> bytes:
    decompressor = zlib.decompressobj(wbits=31)
    out = decompressor.decompress(data, MAX_DOCUMENT_BYTES + 1)
    if len(out) > MAX_DOCUMENT_BYTES:
        raise ProtocolError("Document trop volumineux.")
    if not decompressor.eof:
        raise EOFError("truncated gzip stream")
    return out
