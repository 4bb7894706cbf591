"""Operator PINs: a slow salted hash (scrypt) and the lock-out rule."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

MAX_FAILED_ATTEMPTS = 5
LOCKOUT = timedelta(minutes=15)
_N, _R, _P = 2**14, 8, 1


def hash_pin(pin: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(digest_hex)
        digest = hashlib.scrypt(
            pin.encode(), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r), p=int(p)
        )
    except (ValueError, TypeError, OverflowError):  # a corrupt stored hash never matches
        return False
    return hmac.compare_digest(digest, expected)


def locked_until(failed_attempts: int, last_failure: datetime) -> datetime | None:
    """When the operator may try again, or None when not locked."""
    if failed_attempts < MAX_FAILED_ATTEMPTS:
        return None
    return last_failure + LOCKOUT
