"""Ed25519 over a message read twice: the very signature the library gives for its bytes."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from mediateur_tui.protocol.streamed_signing import sign_streamed

SEEDS = st.binary(min_size=32, max_size=32)
CHUNKS = st.lists(st.binary(max_size=300), max_size=12)


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, chunks=CHUNKS)
def test_a_streamed_signature_is_the_librarys(seed: bytes, chunks: list[bytes]) -> None:
    key = Ed25519PrivateKey.from_private_bytes(seed)
    message = b"".join(chunks)
    signature = sign_streamed(key, iter(chunks), [message])
    assert signature == key.sign(message)
    key.public_key().verify(signature, message)


def test_a_second_reading_that_differs_gives_no_valid_signature() -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    signature = sign_streamed(key, [b"la r\xc3\xa9plique"], [b"une autre"])
    assert signature != key.sign(b"la r\xc3\xa9plique")
    assert signature != key.sign(b"une autre")
