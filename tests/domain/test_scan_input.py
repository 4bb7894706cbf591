"""Parsing what a scanner or a keyboard typed (docs/passes.md), and payload signatures."""

from __future__ import annotations

import base64
import string
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediateur_tui.domain.codes import ALPHABET, format_code, is_well_formed, make_code, normalise
from mediateur_tui.domain.keyboard import Situation, Typing
from mediateur_tui.domain.scan_input import (
    MAX_INPUT_LENGTH,
    InputKind,
    ScanInput,
    build_payload,
    parse_scan,
    signed_message,
)
from mediateur_tui.domain.signatures import (
    b32decode,
    b32encode,
    private_key_from_seed,
    public_key_bytes,
    sign,
    verify,
)

# --- US scanner on AZERTY, from a hand-written table (see test_keyboard for the reasoning) -----
AZERTY_SHOWS = dict(zip("1234567890", "&é\"'(-è_çà", strict=True))
AZERTY_SHOWS.update({letter: letter for letter in string.ascii_uppercase})
AZERTY_SHOWS.update({"A": "Q", "Q": "A", "Z": "W", "W": "Z", "M": "?", ":": "M", "-": ")"})


def garble(text: str) -> str:
    return "".join(AZERTY_SHOWS[char] for char in text)


KEY = private_key_from_seed(bytes(range(32)))
OTHER_KEY = private_key_from_seed(bytes(range(1, 33)))
PUBLIC = public_key_bytes(KEY)
CODE = make_code("7K3M9QXR4TB0")  # holds 0, M and Q (the US scanner moves M and Q)
CODE_WITH_ONE = make_code("1AQZW1MM0T1B")
PROGRAMME = "PNHDF2026"
UNTIL = date(2026, 12, 31)


def make_payload(programme: str = PROGRAMME, code: str = CODE, until: date = UNTIL) -> str:
    signature = sign(KEY, f"PN1:{programme}:{code}:{until:%Y%m%d}")
    return f"PN1:{programme}:{code}:{until:%Y%m%d}:{signature}"


codes = st.text(alphabet=ALPHABET, min_size=12, max_size=12).map(make_code)
programmes = st.text(alphabet=string.ascii_uppercase + string.digits + "-", min_size=1, max_size=32)
days = st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31))


# --- Bare codes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [CODE, CODE_WITH_ONE])
def test_bare_code_in_all_accepted_spellings(code):
    spellings = [
        code,
        code.lower(),
        format_code(code),
        format_code(code).lower(),
        f"  {format_code(code)}\n",
        " ".join([code[:4], code[4:8], code[8:]]),
        ".".join([code[:4], code[4:8], code[8:]]),
        code.replace("0", "O").replace("1", "I"),
        code.replace("0", "o").replace("1", "l"),
    ]
    for text in spellings:
        scan = parse_scan(text)
        assert scan.error is None, text
        assert scan.code == code
        assert scan.kind is InputKind.BARE
        assert scan.programme is None and scan.valid_until is None and scan.signature is None
        assert not scan.layout_fixed
        assert scan.signed_message is None


def test_bare_code_typed_by_us_scanner_is_fixed():
    garbled = garble(CODE)
    assert garbled != CODE
    scan = parse_scan(garbled)
    assert scan.error is None
    assert scan.code == CODE
    assert scan.layout_fixed
    assert scan.raw == garbled


@settings(max_examples=100)
@given(codes)
def test_bare_code_garbled_parses_back(code):
    # A scanner's burst (the desk knows it by its timing); without the timing, a person's
    # digits typed without Shift could also be meant: tests/domain/test_layouts.py.
    garbled = garble(code)
    if garbled == code or is_well_formed(normalise(garbled)):
        # Only letters that do not move, or an A/Q Z/W swap that happens to pass the check:
        # the text is a well-formed code as typed and is (rightly) taken as is.
        assert parse_scan(garbled, Typing.SCANNER).code == normalise(garbled)
        return
    scan = parse_scan(garbled, Typing.SCANNER)
    if not Situation.US_ON_AZERTY.shows_markers(garbled) and len(normalise(garbled)) == len(code):
        # Letters only, with an A/Q or Z/W swap: nothing shows a mis-set scanner, and a
        # right-length code failing its check is treated as a typo ("re-type"), by design.
        assert scan.code is None
        assert "vérifiez la saisie" in scan.error
        return
    assert scan.code == code
    assert scan.layout_fixed


# --- QR payloads ---------------------------------------------------------------------------------


def test_payload_round_trip_with_real_signature():
    payload = make_payload()
    scan = parse_scan(payload)
    assert scan.error is None
    assert scan.kind is InputKind.QR
    assert scan.code == CODE
    assert scan.programme == PROGRAMME
    assert scan.valid_until == UNTIL
    assert not scan.layout_fixed
    assert scan.raw == payload
    assert scan.signed_message == f"PN1:{PROGRAMME}:{CODE}:20261231"
    assert verify(PUBLIC, scan.signed_message, scan.signature)


def test_payload_helpers_build_the_brief_format():
    signature = sign(KEY, f"PN1:{PROGRAMME}:{CODE}:20261231")
    assert signed_message(PROGRAMME, CODE, UNTIL) == f"PN1:{PROGRAMME}:{CODE}:20261231"
    assert build_payload(PROGRAMME, CODE, UNTIL, signature) == make_payload()


def test_payload_with_dashed_code_and_lower_case():
    signature = sign(KEY, f"PN1:{PROGRAMME}:{CODE}:20261231")
    text = f"pn1:{PROGRAMME.lower()}:{format_code(CODE)}:20261231:{signature.lower()}"
    scan = parse_scan(text)
    assert scan.error is None
    assert (scan.code, scan.programme, scan.valid_until) == (CODE, PROGRAMME, UNTIL)
    assert verify(PUBLIC, scan.signed_message, scan.signature)


def test_garbled_payload_parses_with_layout_fixed():
    payload = make_payload()
    garbled = garble(payload)
    assert garbled.startswith("PN&M")
    scan = parse_scan(garbled)
    clean = parse_scan(payload)
    assert scan.error is None
    assert scan.layout_fixed
    assert scan.kind is InputKind.QR
    assert scan.raw == garbled
    assert (scan.code, scan.programme, scan.valid_until, scan.signature) == (
        clean.code,
        clean.programme,
        clean.valid_until,
        clean.signature,
    )
    assert verify(PUBLIC, scan.signed_message, scan.signature)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(codes, programmes, days)
def test_any_payload_survives_the_us_scanner(code, programme, until):
    payload = make_payload(programme, code, until)
    clean = parse_scan(payload)
    assert clean.error is None
    assert (clean.code, clean.programme, clean.valid_until) == (code, programme, until)
    assert not clean.layout_fixed

    scan = parse_scan(garble(payload))
    assert scan.error is None
    assert scan.layout_fixed
    assert scan.kind is InputKind.QR
    assert (scan.code, scan.programme, scan.valid_until, scan.signature) == (
        code,
        programme,
        until,
        clean.signature,
    )
    assert scan.signed_message == clean.signed_message
    assert verify(PUBLIC, scan.signed_message, scan.signature)


def _signature() -> str:
    return sign(KEY, f"PN1:{PROGRAMME}:{CODE}:20261231")


def _bad_check(code: str) -> str:
    return code[:-1] + ALPHABET[(ALPHABET.index(code[-1]) + 1) % 32]


BAD_PAYLOADS = {
    "too few fields": f"PN1:{PROGRAMME}:{CODE}:20261231",
    "too many fields": f"PN1:{PROGRAMME}:{CODE}:20261231:{'A' * 20}:X",
    "month 13": f"PN1:{PROGRAMME}:{CODE}:20261332:{'A' * 20}",
    "day 32": f"PN1:{PROGRAMME}:{CODE}:20261232:{'A' * 20}",
    "short date": f"PN1:{PROGRAMME}:{CODE}:2026123:{'A' * 20}",
    "signature with 0 1 8 9": f"PN1:{PROGRAMME}:{CODE}:20261231:ABC0189",
    "empty signature": f"PN1:{PROGRAMME}:{CODE}:20261231:",
    "empty programme": f"PN1::{CODE}:20261231:{'A' * 20}",
    "bad check symbol": f"PN1:{PROGRAMME}:{_bad_check(CODE)}:20261231:{'A' * 20}",
    "short code": f"PN1:{PROGRAMME}:{CODE[:-2]}:20261231:{'A' * 20}",
}


@pytest.mark.parametrize("text", list(BAD_PAYLOADS.values()), ids=list(BAD_PAYLOADS))
def test_bad_payload_gives_an_error(text):
    scan = parse_scan(text)
    assert isinstance(scan, ScanInput)
    assert scan.error
    assert scan.code is None
    assert scan.kind is InputKind.QR


@pytest.mark.parametrize("text", list(BAD_PAYLOADS.values()), ids=list(BAD_PAYLOADS))
def test_bad_payload_garbled_gives_an_error(text):
    scan = parse_scan(garble(text))
    assert isinstance(scan, ScanInput)
    assert scan.error
    assert scan.code is None


def test_bad_payload_errors_say_what_is_wrong():
    assert "Date" in parse_scan(BAD_PAYLOADS["month 13"]).error
    assert "Signature" in parse_scan(BAD_PAYLOADS["signature with 0 1 8 9"]).error
    assert "vérifiez la saisie" in parse_scan(BAD_PAYLOADS["bad check symbol"]).error
    assert "incomplet" in parse_scan(BAD_PAYLOADS["too few fields"]).error


def test_garbled_but_unreadable_scan_says_so():
    # A US scanner mangled the text and something else went wrong too (bad check symbol).
    text = garble(f"PN1:{PROGRAMME}:{_bad_check(CODE)}:20261231:{_signature()}")
    scan = parse_scan(text)
    assert scan.code is None
    assert "clavier américain" in scan.error


def test_empty_input():
    for text in ["", "   ", "\n\t"]:
        scan = parse_scan(text)
        assert scan.error
        assert scan.code is None


def test_input_longer_than_512_is_refused():
    assert MAX_INPUT_LENGTH == 512
    shown = format_code(CODE)
    longest = shown[:4] + "-" * (512 - len(shown)) + shown[4:]
    assert len(longest) == 512
    assert parse_scan(longest).code == CODE

    too_long = shown[:4] + "-" * (513 - len(shown)) + shown[4:]
    assert len(too_long) == 513
    scan = parse_scan(too_long)
    assert scan.code is None
    assert scan.error
    assert len(scan.raw) <= 512

    huge = make_payload() + "A" * 100_000
    scan = parse_scan(huge)
    assert scan.code is None and scan.error


def _check_never_raises(text: str) -> None:
    scan = parse_scan(text)
    assert isinstance(scan, ScanInput)
    assert (scan.error is None) == (scan.code is not None)
    assert len(scan.raw) <= MAX_INPUT_LENGTH
    if scan.code is not None:
        assert is_well_formed(scan.code)
        if scan.kind is InputKind.QR:
            assert scan.programme and scan.valid_until and scan.signature
            assert scan.signed_message is not None
    else:
        assert isinstance(scan.error, str) and scan.error


@settings(max_examples=300)
@given(st.text(max_size=700))
def test_fuzz_arbitrary_text_never_raises(text):
    _check_never_raises(text)


FIELD_CHARS = string.ascii_letters + string.digits + "&é\"'(-è_çà?M:. \t§!²°"


@settings(max_examples=300)
@given(
    st.one_of(
        st.lists(st.text(alphabet=FIELD_CHARS, max_size=20), max_size=7).map(
            lambda parts: "PN1:" + ":".join(parts)
        ),
        st.lists(st.text(alphabet=FIELD_CHARS, max_size=20), max_size=7).map(
            lambda parts: "PN&M" + "M".join(parts)
        ),
        st.text(alphabet=FIELD_CHARS, max_size=30),
        st.text(min_size=500, max_size=600),
        st.builds(lambda code, noise: code + noise, codes, st.text(max_size=5)),
    )
)
def test_fuzz_payload_like_text_never_raises(text):
    _check_never_raises(text)


# --- Signatures ----------------------------------------------------------------------------------


def test_sign_verify_round_trip():
    message = signed_message(PROGRAMME, CODE, UNTIL)
    signature = sign(KEY, message)
    assert set(signature) <= set(string.ascii_uppercase + "234567")
    assert "=" not in signature
    assert len(b32decode(signature)) == 64
    assert verify(PUBLIC, message, signature)
    assert not verify(public_key_bytes(OTHER_KEY), message, signature)
    assert not verify(PUBLIC, message, sign(OTHER_KEY, message))


def test_b32_matches_rfc4648_without_padding():
    for data in [b"", b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar", bytes(range(64))]:
        expected = base64.b32encode(data).decode().rstrip("=")
        assert b32encode(data) == expected
        assert b32decode(expected) == data


def test_every_flipped_character_of_the_message_fails():
    message = signed_message(PROGRAMME, CODE, UNTIL)
    signature = sign(KEY, message)
    for position, char in enumerate(message):
        other = "X" if char != "X" else "Y"
        assert not verify(PUBLIC, message[:position] + other + message[position + 1 :], signature)


def test_every_flipped_character_of_the_signature_fails():
    message = signed_message(PROGRAMME, CODE, UNTIL)
    signature = sign(KEY, message)
    base32 = string.ascii_uppercase + "234567"
    for position, char in enumerate(signature):
        for other in base32:
            if other != char:
                flipped = signature[:position] + other + signature[position + 1 :]
                assert not verify(PUBLIC, message, flipped), (position, other)


@pytest.mark.parametrize(
    "signature",
    ["", "A", "ABC", "!!!!", "é" * 103, "a" * 103, "A" * 103, "A" * 104, "=" * 8, "0189", "AB=CD"],
)
def test_garbage_signature_is_false_not_an_exception(signature):
    assert verify(PUBLIC, signed_message(PROGRAMME, CODE, UNTIL), signature) is False


def test_garbage_key_or_message_is_false_not_an_exception():
    message = signed_message(PROGRAMME, CODE, UNTIL)
    signature = sign(KEY, message)
    assert verify(b"", message, signature) is False
    assert verify(b"\x00" * 31, message, signature) is False
    assert verify(PUBLIC, message + "é", signature) is False


@settings(max_examples=200)
@given(st.text(max_size=200), st.text(max_size=40))
def test_fuzz_verify_never_raises(signature, message):
    assert verify(PUBLIC, message, signature) in (True, False)
    assert verify(PUBLIC, message, signature) is False or message.isascii()
