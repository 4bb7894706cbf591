"""Turn whatever a scanner or a keyboard typed into a pass code (and QR fields, if any).

Accepted: a bare code (typed or Code 128), or a QR payload
`PN2:<KID>:<PROGRAMME>:<CODE13>:<VALID_UNTIL YYYYMMDD>:<SIG>` (KID: the region key that signed
it) or `PN1:<PROGRAMME>:<CODE13>:<VALID_UNTIL YYYYMMDD>:<SIG>` (signed by the region's first
key, before key ids), as typed by a correctly set scanner or by a mis-set one (a US layout on
AZERTY, Caps Lock, an AZERTY layout on a US system: domain/keyboard.py). Parsing never raises: a
bad input becomes a ScanInput with an `error` in French.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from mediateur_tui.domain.codes import (
    ALPHABET,
    CODE_LENGTH,
    MalformedCode,
    format_code,
    normalise,
    parse_code,
)
from mediateur_tui.domain.keyboard import Situation, Typing
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
    "(Saisie corrigée comme venant d'un lecteur mal réglé, clavier américain QWERTY ou "
    "Verr. Maj, ou de chiffres tapés sans Maj : relisez le pass ou tapez le code imprimé.)"
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
    layout: Situation | None = None  # the mis-set keyboard the text was read back from
    # A code the text would be under a mis-set keyboard that it shows no sign of: read as is,
    # the verdict names the other reading (the two are the same keys pressed).
    other_reading: str | None = None
    ambiguous: bool = False  # refused: two keyboards read it as two different codes
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


def parse_scan(text: str, typing: Typing = Typing.UNKNOWN) -> ScanInput:
    """Reads one scan or typed entry: as is, and as each mis-set keyboard would have typed it.

    A mis-set keyboard is considered when the text shows its marks (domain/keyboard.py), or
    when it fails as is for another reason than its check symbol (a typo); only a person's
    (digits without Shift) when the keys came by hand, only a scanner's when they came as a
    burst (`typing`; keys by hand that no person's reading explains are read as a slow
    scanner's), both when it is not known. When the readings
    give two different codes, the scan is refused as ambiguous: which one is meant cannot be
    known. What was read is kept inert (domain/text.py): it is shown, logged and stored as is."""
    raw = inert(text.strip())
    if not raw:
        return ScanInput(raw=raw, kind=InputKind.BARE, error="Rien n'a été saisi.")
    if REPLACEMENT in raw:  # invalid UTF-8 (or a character no pass ever holds)
        return ScanInput(raw=raw[:MAX_INPUT_LENGTH], kind=InputKind.BARE, error=UNREADABLE)
    if len(raw) > MAX_INPUT_LENGTH:
        return ScanInput(
            raw=raw[:MAX_INPUT_LENGTH], kind=InputKind.BARE, error="Saisie trop longue."
        )
    direct = _parse(raw, layout=None)
    readings, unmarked = _readings(raw, direct, typing.situations)
    if typing is Typing.HAND and not readings:
        # Slow keys are a person's, or a scanner set to type slowly: a person's reading first.
        return parse_scan(text, Typing.SCANNER)
    if typing is Typing.HAND and readings == [direct]:
        # Read as typed; a slow scanner may have meant another code (with Caps Lock, its "6"
        # shows "-" and its "-" shows "6"): when it would, which one is meant cannot be known.
        as_scanner = parse_scan(text, Typing.SCANNER)
        if as_scanner.ambiguous:
            return as_scanner
    distinct = {_meaning(reading): reading for reading in readings}
    if len(distinct) > 1:
        error = _ambiguous(list(distinct.values()))
        return ScanInput(raw=raw, kind=direct.kind, ambiguous=True, error=error)
    if readings:
        other = _other_code(readings[0], unmarked)
        return readings[0] if other is None else replace(readings[0], other_reading=other)
    return _refused(raw, direct, typing.situations)


def _readings(
    raw: str, direct: ScanInput, situations: tuple[Situation, ...]
) -> tuple[list[ScanInput], list[ScanInput]]:
    """The readings that count (as is, and under each mis-set keyboard the text shows signs
    of), and those of mis-set keyboards it shows no sign of."""
    readings = [direct] if direct.error is None else []
    unmarked: list[ScanInput] = []
    for situation in situations:
        if not situation.undoes_cleanly(raw):
            continue  # a scanner means what a pass holds: upper case, digits, ":" and "-"
        for meant in situation.meanings(raw):  # the undone text, its dashes read as - or 6
            if meant == raw:
                continue
            reading = _parse(meant, layout=situation)
            if reading.error is not None:
                continue
            if situation.shows_markers(raw) or (direct.error is not None and not _a_typo(direct)):
                readings.append(replace(reading, raw=raw))
            else:
                unmarked.append(reading)
    return readings, unmarked


def _refused(raw: str, direct: ScanInput, situations: tuple[Situation, ...]) -> ScanInput:
    """No reading: what is wrong as is, or, when the text shows a mis-set keyboard's marks,
    what is wrong once undone, with the hint."""
    # Lower case alone says nothing here: a code typed in lower case fails like any other.
    no_letters = "".join(char for char in raw if not "a" <= char <= "z")
    marked = [situation for situation in situations if situation.shows_markers(no_letters)]
    if not marked and (direct.kind is InputKind.QR or len(normalise(raw)) == CODE_LENGTH):
        return direct
    fixed = _parse((marked or list(situations))[0].undo(raw), layout=None)
    return replace(direct, error=f"{fixed.error} {GARBLED_HINT}")


def _a_typo(failed: ScanInput) -> bool:
    """A bare code of 13 symbols that fails only its check symbol: a typo (or a US scanner
    swapping A/Q, Z/W on a code of letters only, which nothing in the text shows). It is
    refused as "re-type" rather than turned into another code."""
    code = normalise(failed.raw)
    if failed.kind is not InputKind.BARE or len(code) != CODE_LENGTH:
        return False
    return all(symbol in ALPHABET for symbol in code)


def _meaning(reading: ScanInput) -> tuple[object, ...]:
    return (reading.code, reading.programme, reading.valid_until, reading.signature, reading.kid)


def _other_code(reading: ScanInput, unmarked: list[ScanInput]) -> str | None:
    others = [other.code for other in unmarked if other.code != reading.code]
    return others[0] if others and reading.layout is None else None


def _ambiguous(readings: list[ScanInput]) -> str:
    codes = dict.fromkeys(format_code(reading.code or "") for reading in readings)
    shown = " ou ".join(f"« {code} »" for code in list(codes)[:3])
    return (
        f"Saisie ambiguë : selon le réglage du clavier ou du lecteur, elle se lit {shown}. "
        "Tapez le code imprimé, en majuscules, et vérifiez la saisie."
    )


def _parse(text: str, *, layout: Situation | None) -> ScanInput:
    layout_fixed = layout is not None
    if text.upper().startswith((PAYLOAD_PREFIX + ":", KEYED_PAYLOAD_PREFIX + ":")):
        return _parse_payload(text, layout=layout)
    try:
        code = parse_code(text)
    except MalformedCode as error:
        return ScanInput(
            raw=text,
            kind=InputKind.BARE,
            layout_fixed=layout_fixed,
            layout=layout,
            error=str(error),
        )
    return ScanInput(
        raw=text, kind=InputKind.BARE, code=code, layout_fixed=layout_fixed, layout=layout
    )


def _parse_payload(text: str, *, layout: Situation | None) -> ScanInput:
    layout_fixed = layout is not None

    def failed(message: str) -> ScanInput:
        return ScanInput(
            raw=text, kind=InputKind.QR, layout_fixed=layout_fixed, layout=layout, error=message
        )

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
        layout=layout,
    )


def _parse_yyyymmdd(text: str) -> date | None:
    if len(text) != 8 or not text.isascii() or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None
