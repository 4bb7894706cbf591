"""Ed25519 signatures (RFC 8032, section 5.1.6) of a message too large to hold in memory.

Ed25519 hashes the message twice: first with the key's prefix (the nonce r), then after the
point R = r·B it depends on. A library signs bytes it holds whole; here the message is read
twice instead, as two iterables of chunks that must yield the same bytes, so that the
signer's memory does not grow with the message. The signature is the very one a library
gives for the concatenated bytes (Ed25519 is deterministic; tests compare both).

Only the hub's export of a whole replica uses it (hub.replica). The point arithmetic is
plain Python integers, not constant-time: it runs once per export, on the hub's host.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mediateur_tui.domain.signatures import public_key_bytes

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493  # the order of the base point
_D = -121665 * pow(121666, _P - 2, _P) % _P
_BX = 15112221349535400772501151409588531511454012693041857206046113283949847762202
_BY = 46316835694926478169428394003475163141307993866256225615783033603165251855960
_BASE = (_BX, _BY, 1, _BX * _BY % _P)  # extended coordinates (X, Y, Z, T)

Point = tuple[int, int, int, int]


def sign_streamed(
    private_key: Ed25519PrivateKey, first: Iterable[bytes], second: Iterable[bytes]
) -> bytes:
    """The Ed25519 signature of a message given twice, as `first` then `second` (each the
    same chunks' bytes); `first` is read to its end before `second` is started."""
    seed = private_key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    expanded = hashlib.sha512(seed).digest()
    scalar = int.from_bytes(expanded[:32], "little") & ((1 << 254) - 8) | (1 << 254)
    nonce_hash = hashlib.sha512(expanded[32:])
    for chunk in first:
        nonce_hash.update(chunk)
    nonce = int.from_bytes(nonce_hash.digest(), "little") % _L
    point_r = _compress(_multiply(nonce, _BASE))
    challenge_hash = hashlib.sha512(point_r + public_key_bytes(private_key))
    for chunk in second:
        challenge_hash.update(chunk)
    challenge = int.from_bytes(challenge_hash.digest(), "little") % _L
    return point_r + ((nonce + challenge * scalar) % _L).to_bytes(32, "little")


def _add(p: Point, q: Point) -> Point:
    a = (p[1] - p[0]) * (q[1] - q[0]) % _P
    b = (p[1] + p[0]) * (q[1] + q[0]) % _P
    c = 2 * p[3] * q[3] * _D % _P
    d = 2 * p[2] * q[2] % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _multiply(scalar: int, point: Point) -> Point:
    result: Point = (0, 1, 1, 0)  # the neutral element
    while scalar > 0:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _compress(point: Point) -> bytes:
    z_inverse = pow(point[2], _P - 2, _P)
    x, y = point[0] * z_inverse % _P, point[1] * z_inverse % _P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")
