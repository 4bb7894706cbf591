"""Scans typed through each mis-set keyboard (domain/keyboard.py) are read back, or refused as
ambiguous, never read silently as another code; a code typed as printed is always read as is."""

from __future__ import annotations

import string
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediateur_tui.domain.codes import ALPHABET, format_code, make_code
from mediateur_tui.domain.keyboard import SITUATIONS, Situation, Typing
from mediateur_tui.domain.scan_input import InputKind, build_payload, parse_scan
from mediateur_tui.domain.signatures import private_key_from_seed, sign
from mediateur_tui.domain.verdicts import PassFacts, ReplicaState, Verdict, decide

KEY = private_key_from_seed(bytes(range(32)))
UNTIL = date(2026, 12, 31)
NOW = datetime(2026, 6, 15, 12, 30, tzinfo=UTC)
codes = st.text(alphabet=ALPHABET, min_size=12, max_size=12).map(make_code)
# Codes of letters only (no M): those a US scanner's A/Q, Z/W swap may turn into another code.
LETTERS = "".join(symbol for symbol in ALPHABET if symbol.isalpha() and symbol != "M")
letter_codes = (
    st.text(alphabet=LETTERS, min_size=12, max_size=12)
    .map(make_code)
    .filter(lambda code: code[-1] in LETTERS)
)
programmes = st.text(alphabet=string.ascii_uppercase + string.digits + "-", min_size=1, max_size=12)
# Letter-only codes whose A/Q, Z/W swap is another well-formed code (found among random codes):
# the same keys pressed give either code, depending on the scanner's layout.
SWAPPED_PAIRS = [
    ("ANDFWFBHSRTBH", "QNDFZFBHSRTBH"),
    ("QVTATASCVRBGF", "AVTQTQSCVRBGF"),
    ("JJAYYCZPQSVHW", "JJQYYCWPASVHZ"),
]


def payload(programme: str, code: str) -> str:
    message = f"PN1:{programme}:{code}:{UNTIL:%Y%m%d}"
    return build_payload(programme, code, UNTIL, sign(KEY, message))


def test_the_brief_examples_of_caps_lock():
    # A US scanner on AZERTY with Caps Lock: ":" comes out as "m", letters in lower case.
    assert Situation.US_ON_AZERTY_CAPS.type_as("PN1:A") == "pn&mq"
    assert Situation.US_ON_AZERTY_CAPS_DIGITS.type_as("PN1:A7") == "pn1mq7"
    assert Situation.CAPS_DIGITS.type_as("PN1:A7") == "pn&:aè"
    assert Situation.AZERTY_ON_US.type_as("PN1:AM7") == "PN!.Q:&"


SCANNERS = Typing.SCANNER.situations
HAND = Situation.DIGITS_WITHOUT_SHIFT


def test_the_situations_split_into_a_scanners_and_a_persons():
    assert set(SCANNERS) | set(Typing.HAND.situations) == set(SITUATIONS)
    assert Typing.HAND.situations == (HAND,)
    assert Typing.UNKNOWN.situations == SITUATIONS


@pytest.mark.parametrize("situation", SCANNERS, ids=lambda situation: situation.name)
def test_every_mapping_reads_back_what_the_scanner_meant(situation):
    text = "PN1:HDFNUM:0123456789ABCDEFGHJKMNPQRSTVWXYZ-"
    assert situation.undo(situation.type_as(text)) == text
    assert situation.type_as(text) != text


@pytest.mark.parametrize("situation", SITUATIONS, ids=lambda situation: situation.name)
@settings(max_examples=300, deadline=None)
@given(code=codes | letter_codes)
def test_a_bare_code_through_any_mapping_is_never_silently_another_code(situation, code):
    scan = parse_scan(situation.type_as(code))
    if scan.code == code:
        assert scan.layout_fixed or situation.type_as(code) in (code, code.lower())
        return
    if scan.code is None:
        assert scan.error.endswith("vérifiez la saisie.") or "tapez le code" in scan.error
        return
    # Letters only, A/Q Z/W swapped, no sign of a mis-set scanner: read as is, the other
    # reading (the right one) named in the verdict.
    assert scan.other_reading == code


@pytest.mark.parametrize("situation", SCANNERS, ids=lambda situation: situation.name)
@settings(max_examples=60, deadline=None)
@given(programme=programmes, code=codes)
def test_a_payload_through_any_mapping_is_read_back_with_its_situation(situation, programme, code):
    text = payload(programme, code)
    scan = parse_scan(situation.type_as(text))
    clean = parse_scan(text)
    assert scan.error is None, scan.error
    assert (scan.code, scan.programme, scan.valid_until, scan.signature) == (
        clean.code,
        clean.programme,
        clean.valid_until,
        clean.signature,
    )
    assert scan.layout_fixed
    assert scan.layout is not None and scan.layout.label == situation.label


@settings(max_examples=300)
@given(code=codes)
def test_a_code_typed_as_printed_on_a_well_set_desk_is_always_read_as_is(code):
    for text in (code, format_code(code), " ".join([code[:4], code[4:8], code[8:]])):
        scan = parse_scan(text)
        assert scan.error is None
        assert scan.code == code
        assert not scan.layout_fixed


@settings(max_examples=300)
@given(code=codes)
def test_a_code_typed_in_lower_case_is_read_as_is_or_refused_never_another(code):
    scan = parse_scan(code.lower())
    assert scan.code in (code, None)
    if scan.code is None:
        assert "ambiguë" in scan.error


@pytest.mark.parametrize(("meant", "shown"), SWAPPED_PAIRS)
def test_caps_lock_text_that_reads_as_two_codes_is_refused(meant, shown):
    # A US scanner on AZERTY with Caps Lock types `meant` as lower-case `shown`: as typed it is
    # `shown`, a well-formed code too.
    assert Situation.US_ON_AZERTY_CAPS.type_as(meant) == shown.lower()
    scan = parse_scan(shown.lower())
    assert scan.code is None and scan.ambiguous
    assert scan.kind is InputKind.BARE
    assert "ambiguë" in scan.error
    assert format_code(meant) in scan.error and format_code(shown) in scan.error
    assert scan.error.endswith("vérifiez la saisie.")
    result = decide(scan, None, ReplicaState(updated_at=NOW - timedelta(hours=1)), NOW)
    assert result.verdict is Verdict.MALFORMED and result.message == scan.error


@pytest.mark.parametrize(("meant", "shown"), SWAPPED_PAIRS)
def test_upper_case_text_that_is_two_codes_is_read_as_is_and_names_the_other(meant, shown):
    scan = parse_scan(shown)
    assert scan.code == shown and not scan.layout_fixed
    assert scan.other_reading == meant
    result = decide(scan, None, ReplicaState(updated_at=NOW - timedelta(hours=1)), NOW)
    assert any(format_code(meant) in warning for warning in result.warnings)


def test_the_verdict_names_the_situation():
    facts = PassFacts(
        code=make_code("7K3M9QXR4TB0"),
        programme_id="HDF",
        programme_label="Pass",
        value_cents=1000,
        carnet_id="C-1",
        carnet_size=5,
        carnet_attributed=True,
        valid_from=date(2026, 1, 1),
        valid_until=UNTIL,
        grace_until=date(2027, 1, 31),
        accepted_here=True,
    )
    replica = ReplicaState(updated_at=NOW - timedelta(hours=1))
    expected = {
        Situation.US_ON_AZERTY: "clavier américain",
        Situation.US_ON_AZERTY_CAPS: "Verr. Maj activé",
        Situation.CAPS_DIGITS: "Verr. Maj activé",
        Situation.AZERTY_ON_US: "réglé en AZERTY sur un poste en clavier américain",
    }
    for situation, words in expected.items():
        scan = parse_scan(situation.type_as(facts.code))
        assert scan.code == facts.code, situation
        result = decide(scan, facts, replica, NOW)
        assert result.verdict is Verdict.VALID
        assert any(words in warning for warning in result.warnings), (situation, result.warnings)


# --- A person typing the digits without Shift on AZERTY (the keys' timing says it) -------------


def test_digits_typed_without_shift():
    assert HAND.type_as("AB12-CD90") == "AB&é-CDçà"
    assert HAND.undo("ab&é-cdçà") == "AB12-CD90"
    # "6" without Shift is "-", which a person also types between the groups: either is meant.
    assert HAND.type_as("6") == "-" and HAND.undo("-") == "-"
    assert HAND.meanings("a-b") == ["A-B", "A6B"]
    assert len(HAND.meanings("AB-CD-EF-GH")) == 8
    assert HAND.meanings("PN&:A-B") == ["PN1:A-B"]  # a QR payload is never typed by hand


# Letters that a US scanner moves (A/Q, Z/W) and digits: the text alone could be either.
SWAPPABLE = make_code("AQZW12345789")


def test_typed_by_hand_a_code_is_read_as_meant_and_as_a_burst_as_a_scanner_would():
    typed = HAND.type_as(SWAPPABLE)
    assert Situation.US_ON_AZERTY.undo(typed) != SWAPPABLE  # what a US scanner meant differs
    by_hand = parse_scan(typed, Typing.HAND)
    assert by_hand.code == SWAPPABLE and by_hand.layout is HAND
    assert parse_scan(typed, Typing.SCANNER).code != SWAPPABLE
    decided = decide(by_hand, None, ReplicaState(updated_at=NOW), NOW)
    assert any("tapez les chiffres avec la touche Maj" in warning for warning in decided.warnings)


@settings(max_examples=300)
@given(code=codes, formatted=st.booleans())
def test_a_code_typed_by_hand_without_shift_is_read_or_refused_never_another(code, formatted):
    typed = HAND.type_as(format_code(code) if formatted else code)
    by_hand = parse_scan(typed, Typing.HAND)
    # Each dash read as a dash or a 6: the check symbol keeps one reading, or two are refused.
    assert by_hand.code in (code, None)
    if by_hand.code is None:
        assert by_hand.ambiguous
    # Without the timing (a command line), a reading as a US scanner may compete: the code
    # meant, or a refusal as ambiguous, never another code.
    unknown = parse_scan(typed)
    assert unknown.code in (code, None)
    if unknown.code is None:
        assert unknown.ambiguous


@pytest.mark.parametrize("situation", SCANNERS, ids=lambda situation: situation.name)
@settings(max_examples=100, deadline=None)
@given(code=codes)
def test_a_slow_scanner_is_read_as_a_scanner_when_no_persons_reading_fits(situation, code):
    # A scanner set to type slowly (its "inter-character delay") sends keys a person's pace.
    typed = situation.type_as(format_code(code))
    by_hand = parse_scan(typed, Typing.HAND)
    # Rarely, the person's reading passes the check symbol too: it is taken, with its warning.
    if by_hand.layout is not HAND:
        assert by_hand.code == parse_scan(typed, Typing.SCANNER).code


def test_a_slow_scanner_whose_scan_is_another_code_as_typed_is_refused():
    # Found by the property above: Windows' Caps Lock swaps "6" and "-" on a scanner set to
    # AZERTY, and what this one typed, read as typed, is another well-formed code.
    typed = Situation.CAPS_DIGITS.type_as(format_code("66RSNREWAAAAC"))
    assert parse_scan(typed, Typing.SCANNER).ambiguous
    read_as_typed = parse_scan(typed.upper().replace("-", ""))
    assert read_as_typed.code == "RS6NREW6AAAAC"  # the other code the keys spell
    at_a_persons_pace = parse_scan(typed, Typing.HAND)
    assert at_a_persons_pace.ambiguous and at_a_persons_pace.code is None
