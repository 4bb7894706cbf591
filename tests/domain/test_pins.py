"""Operator PINs: salted slow hash and lock-out after repeated failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mediateur_tui.domain.pins import MAX_FAILED_ATTEMPTS, hash_pin, locked_until, verify_pin


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
    assert "4821" not in stored
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


def test_not_locked_below_the_limit():
    assert MAX_FAILED_ATTEMPTS == 5
    last = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
    for failures in range(5):
        assert locked_until(failures, last) is None


@pytest.mark.parametrize("failures", [5, 6, 50])
def test_locked_from_five_failures(failures):
    last = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
    until = locked_until(failures, last)
    assert until is not None
    assert until > last
    assert until - last <= timedelta(days=1)
