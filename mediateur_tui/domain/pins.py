"""Operator PINs: a slow salted hash (scrypt) and the lock-out rule.

5 failures in a row lock the account for 15 minutes, and so does each failure after that;
10 failures in a row lock it until a responsable unlocks it. The clock cannot move a lock: a
last failure "in the future" (the clock was put back) counts as now, so the lock ends at most
15 minutes from now, and no clock clears the lock of 10 failures.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_FAILED_ATTEMPTS = 5
MAX_FAILURES_BEFORE_UNLOCK = 10
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


@dataclass(frozen=True)
class Lockout:
    """An account that refuses every PIN for now."""

    failures: int
    until: datetime | None  # None: until a responsable unlocks it


def last_failure_seen_at(last_failure: datetime, now: datetime) -> datetime:
    """The last failure as the lock-out counts it: never later than now."""
    return min(last_failure, now)


def lockout(failures: int, last_failure: datetime | None, now: datetime) -> Lockout | None:
    """The lock on an account after `failures` failures in a row, or None when it may try."""
    if failures >= MAX_FAILURES_BEFORE_UNLOCK:
        return Lockout(failures, None)
    if failures < MAX_FAILED_ATTEMPTS or last_failure is None:
        return None
    until = last_failure_seen_at(last_failure, now) + LOCKOUT
    return Lockout(failures, until) if now < until else None
