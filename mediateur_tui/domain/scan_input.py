"""Turn whatever a scanner or a keyboard typed into a pass code (and QR fields, if any).

Accepted: a bare code (typed or Code 128), or a QR payload
`PN2:<KID>:<PROGRAMME>:<CODE13>:<VALID_UNTIL YYYYMMDD>:<SIG>` (KID: the region key that signed
it) or `PN1:<PROGRAMME>:<CODE13>:<VALID_UNTIL YYYYMMDD>:<SIG>` (signed by the region's first
key, before key ids), as typed by a correctly set scanner or
by a US-layout scanner on an AZERTY system. Parsing never raises: a bad input becomes a
ScanInput with an `error` in French.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from mediateur_tui.domain.codes import CODE_LENGTH, MalformedCode, normalise, parse_code
from mediateur_tui.domain.keyboard import looks_garbled, undo_us_layout_on_azerty
from mediateur_tui.domain.signatures import KID_PATTERN
from mediateur_tui.domain.text import REPLACEMENT, inert

PAYLOAD_PREFIX = "PN1"  # signed by the region's first key, naming no key
KEYED_PAYLOAD_PREFIX = "PN2"  # names the key that signed it
MAX_INPUT_LENGTH = 512
UNREADABLE = (
    "Saisie illisible (des octets qui ne sont pas du texte) : relisez le pass ou tapez le code "
    "imprimé."
)
GARBLED_HINT = (
    "(Saisie corrigée comme venant d'un lecteur réglé en clavier américain, QWERTY, "
    "ou de chiffres tapés sans Maj : relisez le pass ou tapez le code imprimé.)"
)
_PROGRAMME = re.compile(r"[A-Z0-9-]{1,32}")
_SIGNATURE = re.compile(r"[A-Z2-7]{1,128}")


class InputKind(StrEnum):
    QR = "qr"
    BARE = "bare"


@dataclass(frozen=True)
class ScanInput:
    raw: str
    kind: InputKind
    code: str | None = None
    programme: str | None = None
    valid_until: date | None = None
    signature: str | None = None
    kid: str | None = None  # the key a PN2 payload names
    layout_fixed: bool = False
    error: str | None = None

    @property
    def signed_message(self) -> str | None:
        """The text the region signed, for a QR payload."""
        if self.kind is not InputKind.QR or self.code is None or self.valid_until is None:
            return None
        return signed_message(self.programme or "", self.code, self.valid_until, self.kid)


def signed_message(programme: str, code: str, valid_until: date, kid: str | None = None) -> str:
    """What the region signs: `PN2:<KID>:…` when it names its key, else `PN1:…`."""
    fields = f"{programme}:{code}:{valid_until:%Y%m%d}"
    return f"{KEYED_PAYLOAD_PREFIX}:{kid}:{fields}" if kid else f"{PAYLOAD_PREFIX}:{fields}"


def build_payload(
    programme: str, code: str, valid_until: date, signature: str, kid: str | None = None
) -> str:
    return f"{signed_message(programme, code, valid_until, kid)}:{signature}"


def parse_scan(text: str) -> ScanInput:
    """Reads one scan or typed entry. Tries the text as is, then as a mis-set scanner's output.

    What was read is kept inert (domain/text.py): it is shown, logged and stored as is."""
    raw = inert(text.strip())
    if not raw:
        return ScanInput(raw=raw, kind=InputKind.BARE, error="Rien n'a été saisi.")
    if REPLACEMENT in raw:  # invalid UTF-8 (or a character no pass ever holds)
        return ScanInput(raw=raw[:MAX_INPUT_LENGTH], kind=InputKind.BARE, error=UNREADABLE)
    if len(raw) > MAX_INPUT_LENGTH:
        return ScanInput(
            raw=raw[:MAX_INPUT_LENGTH], kind=InputKind.BARE, error="Saisie trop longue."
        )
    direct = _parse(raw, layout_fixed=False)
    if direct.error is None or not _worth_correcting(direct):
        return direct
    fixed = _parse(undo_us_layout_on_azerty(raw), layout_fixed=True)
    if fixed.error is None:
        return replace(fixed, raw=raw)
    return replace(direct, error=f"{fixed.error} {GARBLED_HINT}")


def _worth_correcting(failed: ScanInput) -> bool:
    """Whether a failed parse may be a US-layout scanner's output on AZERTY.

    Yes when the text shows characters only such a scanner (or digits typed on AZERTY without
    Shift) produce, or when a bare code does not have a code's length ("6" comes out as a
    dash, which normalisation drops). A code of the right length that fails its check is a
    typo: it must say "re-type" rather than be turned into another code.
    """
    if looks_garbled(failed.raw):
        return True
    return failed.kind is InputKind.BARE and len(normalise(failed.raw)) != CODE_LENGTH


def _parse(text: str, *, layout_fixed: bool) -> ScanInput:
    if text.upper().startswith((PAYLOAD_PREFIX + ":", KEYED_PAYLOAD_PREFIX + ":")):
        return _parse_payload(text, layout_fixed=layout_fixed)
    try:
        code = parse_code(text)
    except MalformedCode as error:
        return ScanInput(raw=text, kind=InputKind.BARE, layout_fixed=layout_fixed, error=str(error))
    return ScanInput(raw=text, kind=InputKind.BARE, code=code, layout_fixed=layout_fixed)


def _parse_payload(text: str, *, layout_fixed: bool) -> ScanInput:
    def failed(message: str) -> ScanInput:
        return ScanInput(raw=text, kind=InputKind.QR, layout_fixed=layout_fixed, error=message)

    parts = text.upper().split(":")
    kid = None
    if parts[0] == KEYED_PAYLOAD_PREFIX:
        if len(parts) != 6:
            return failed("QR code incomplet : relisez-le ou tapez le code imprimé.")
        kid = parts.pop(1)
        if not KID_PATTERN.fullmatch(kid):
            return failed("Clé de signature illisible dans le QR code.")
    if len(parts) != 5:
        return failed("QR code incomplet : relisez-le ou tapez le code imprimé.")
    _, programme, code_text, until_text, signature = parts
    if not _PROGRAMME.fullmatch(programme):
        return failed("Programme illisible dans le QR code.")
    try:
        code = parse_code(code_text)
    except MalformedCode as error:
        return failed(str(error))
    valid_until = _parse_yyyymmdd(until_text)
    if valid_until is None:
        return failed("Date de validité illisible dans le QR code.")
    if not _SIGNATURE.fullmatch(signature):
        return failed("Signature illisible dans le QR code.")
    return ScanInput(
        raw=text,
        kind=InputKind.QR,
        code=code,
        programme=programme,
        valid_until=valid_until,
        signature=signature,
        kid=kid,
        layout_fixed=layout_fixed,
    )


def _parse_yyyymmdd(text: str) -> date | None:
    if len(text) != 8 or not text.isascii() or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None
