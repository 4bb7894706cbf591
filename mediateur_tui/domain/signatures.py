"""Ed25519 signatures of pass payloads, encoded in base32 (RFC 4648, no padding)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

KID_PATTERN = re.compile(r"[A-Z2-7]{8}")  # what key_id makes


def b32encode(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=")


def b32decode(text: str) -> bytes:
    padding = "=" * (-len(text) % 8)
    return base64.b32decode(text + padding)


def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_from_seed(seed: bytes) -> Ed25519PrivateKey:
    """A deterministic key from 32 bytes (used by the demo region)."""
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key_bytes(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public_key: bytes) -> str:
    """The key's id (KID) that a region signature names: the first 40 bits of the key's
    SHA-256 in base32, 8 characters of A–Z and 2–7 (a QR code's alphanumeric mode holds them)."""
    return b32encode(hashlib.sha256(public_key).digest()[:5])


def key_fingerprint(public_key: bytes) -> str:
    """What a person compares by eye: the first 16 bytes of the key's SHA-256, in groups of 4
    hex digits, e.g. `3F2A-9C1B-…` (8 groups)."""
    digest = hashlib.sha256(public_key).hexdigest()[:32].upper()
    return "-".join(digest[i : i + 4] for i in range(0, 32, 4))


def sign(private_key: Ed25519PrivateKey, message: str) -> str:
    return b32encode(private_key.sign(message.encode("ascii")))


def verify(public_key: bytes, message: str, signature: str) -> bool:
    """True when `signature` (base32) is the key's signature of `message`."""
    try:
        raw_signature = b32decode(signature)
        if b32encode(raw_signature) != signature:
            return False  # only the canonical encoding: unused trailing bits must be zero
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            raw_signature, message.encode("ascii")
        )
    except (InvalidSignature, ValueError, binascii.Error, UnicodeEncodeError):
        return False
    return True
