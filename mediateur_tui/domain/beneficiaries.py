"""Pseudonymous beneficiary references: no names in the replica (docs/passes.md, « Personal
data »).

A distributor site derives the reference of a person from identity fields with the region's
secret key (HMAC-SHA-256), so that every distributor of the region finds the same reference
for the same person, and nobody without the key can link a reference to a name. The names are
only used for this computation: they are never stored.

Identity fields are normalised first, so that "Lefèvre", "LEFEVRE" and " le-fevre " give the
same reference: accents removed, letters upper-cased, anything that is not a letter or a
digit dropped. The birth date goes in as ISO text.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from mediateur_tui.domain.codes import ALPHABET
from mediateur_tui.domain.errors import UserError

REFERENCE_PREFIX = "B"
REFERENCE_SYMBOLS = 20  # 100 bits of the HMAC, in Crockford base32
REFERENCE_PATTERN = re.compile(rf"{REFERENCE_PREFIX}[{ALPHABET}]{{{REFERENCE_SYMBOLS}}}")
BENEFICIARY_KEY_BYTES = 32
_DOMAIN = b"pn-beneficiary/1"  # separates this use of the key from any other


class IdentityError(UserError, ValueError):
    """An identity field that cannot be used (French message)."""


@dataclass(frozen=True)
class Identity:
    last_name: str
    first_name: str
    birth_date: date


def normalise_name(text: str) -> str:
    """Upper-case letters and digits only, accents removed ("Lefèvre-Dupont" → "LEFEVREDUPONT")."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    bare = bare.replace("ß", "SS").replace("Œ", "OE").replace("œ", "OE")
    bare = bare.replace("Æ", "AE").replace("æ", "AE")
    return "".join(char for char in bare.upper() if char.isalnum())


def beneficiary_reference(identity: Identity, key: bytes) -> str:
    """The region-wide pseudonymous reference of a person, e.g. "B7K3M9QXR4TBEZ0AB12CD"."""
    if len(key) != BENEFICIARY_KEY_BYTES:
        raise ValueError("the beneficiary key is 32 bytes")
    last, first = normalise_name(identity.last_name), normalise_name(identity.first_name)
    if not last:
        raise IdentityError("Le nom est vide : saisissez le nom de naissance ou d'usage.")
    if not first:
        raise IdentityError("Le prénom est vide.")
    message = b"\n".join(
        [_DOMAIN, last.encode(), first.encode(), identity.birth_date.isoformat().encode()]
    )
    digest = hmac.new(key, message, hashlib.sha256).digest()
    number = int.from_bytes(digest[:13], "big") >> (13 * 8 - 5 * REFERENCE_SYMBOLS)
    symbols = [ALPHABET[(number >> (5 * index)) & 31] for index in range(REFERENCE_SYMBOLS)]
    return REFERENCE_PREFIX + "".join(reversed(symbols))


def format_reference(reference: str) -> str:
    """The reference in groups of four for reading aloud: "B-7K3M-9QXR-4TBE-Z0AB-12CD"."""
    body = reference[len(REFERENCE_PREFIX) :]
    groups = [body[index : index + 4] for index in range(0, len(body), 4)]
    return "-".join([reference[: len(REFERENCE_PREFIX)], *groups])
