"""Operator PINs: salted slow hash and lock-out after repeated failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mediateur_tui.domain.pins import (
    LOCKOUT,
    MAX_FAILED_ATTEMPTS,
    MAX_FAILURES_BEFORE_UNLOCK,
    Lockout,
    hash_pin,
    last_failure_seen_at,
    lockout,
    verify_pin,
)


@pytest.fixture(scope="module")
def stored() -> str:
    return hash_pin("4821")


def test_round_trip(stored):
    assert verify_pin("4821", stored)


@pytest.mark.parametrize("pin", ["4822", "482", "48211", "", " 4821", "4821 "])
def test_wrong_pin_fails(stored, pin):
    assert not verify_pin(pin, stored)


def test_hash_does_not_contain_the_pin_and_is_salted(stored):
    again = hash_pin("4821")
    assert again != stored
    # Not a field, nor in the salt's or digest's bytes (as hex digits it may appear by chance).
    *fields, salt, digest = stored.split("$")
    assert "4821" not in fields
    assert b"4821" not in bytes.fromhex(salt) + bytes.fromhex(digest)
    assert verify_pin("4821", again)


def test_unicode_pin():
    assert verify_pin("çà 12", hash_pin("çà 12"))


def _corrupt(stored: str) -> list[str]:
    scheme, n, r, p, salt, digest = stored.split("$")
    flipped_digest = digest[:-1] + ("0" if digest[-1] != "0" else "1")
    return [
        "",
        "garbage",
        stored[:-1],  # odd-length hex digest
        stored + "$",
        stored.replace("scrypt", "bcrypt", 1),
        "$".join([scheme, n, r, p, salt, flipped_digest]),
        "$".join([scheme, n, r, p, salt[:-2], digest]),
        "$".join([scheme, n, r, p, "zz", digest]),
        "$".join([scheme, "3", r, p, salt, digest]),  # n not a power of two
        "$".join([scheme, "abc", r, p, salt, digest]),
        "$".join([scheme, "-1", r, p, salt, digest]),
        "$".join([scheme, "9" * 30, r, p, salt, digest]),
        "$".join([scheme, n, "9" * 30, p, salt, digest]),
        "$".join([scheme, n, r, "0", salt, digest]),
        "$".join([scheme, str(2**30), r, p, salt, digest]),  # far too much memory
        "$".join([scheme, n, r, p, salt, "é" * len(digest)]),
        "$".join([scheme, n, r, p, salt, ""]),
    ]


def test_corrupt_stored_string_returns_false(stored):
    for corrupt in _corrupt(stored):
        assert verify_pin("4821", corrupt) is False, corrupt


NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


def test_not_locked_below_the_limit():
    assert MAX_FAILED_ATTEMPTS == 5
    for failures in range(5):
        assert lockout(failures, NOW, NOW) is None


@pytest.mark.parametrize("failures", [5, 6, 9])
def test_five_to_nine_failures_lock_for_fifteen_minutes(failures):
    lock = lockout(failures, NOW, NOW + timedelta(minutes=14))
    assert lock == Lockout(failures, NOW + LOCKOUT)
    assert lockout(failures, NOW, NOW + LOCKOUT) is None


@pytest.mark.parametrize("failures", [10, 11, 50])
def test_ten_failures_lock_until_a_responsable_unlocks(failures):
    assert MAX_FAILURES_BEFORE_UNLOCK == 10
    for later in (timedelta(0), timedelta(minutes=16), timedelta(days=3650)):
        assert lockout(failures, NOW, NOW + later) == Lockout(failures, None)


def test_a_clock_put_back_never_makes_a_lock_longer_than_fifteen_minutes():
    """Five failures with the clock set a year ahead, then the clock corrected."""
    future = NOW + timedelta(days=365)
    lock = lockout(5, future, NOW)
    assert lock is not None and lock.until == NOW + LOCKOUT
    assert last_failure_seen_at(future, NOW) == NOW
    assert last_failure_seen_at(NOW, future) == NOW


def test_no_last_failure_no_lock_below_ten():
    assert lockout(7, None, NOW) is None
