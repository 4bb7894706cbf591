"""A US-layout scanner typing on a French AZERTY system (docs/passes.md)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediateur_tui.domain.keyboard import CLEAN_CHARACTERS, Situation, Typing, ends_a_burst

undo_us_layout_on_azerty = Situation.US_ON_AZERTY.undo
looks_garbled = Situation.US_ON_AZERTY.shows_markers

# Hand-written from the AZERTY layout: the scanner means a US character, presses the key that
# holds it on a US keyboard (with shift for upper case and symbols), and the AZERTY system shows
# what that key (with the same shift state) carries on a French keyboard.
#   digits row, unshifted on US   -> AZERTY unshifted:  & é " ' ( - è _ ç à
#   upper-case letters are shifted -> AZERTY shifted letters: only A/Q, Z/W and M move
#   ':' is shift + (key right of L) -> 'M';  'M' is shift + (key right of N) -> '?'
US_DIGITS = "1234567890"
AZERTY_DIGITS = "&é\"'(-è_çà"
AZERTY_SHOWS = dict(zip(US_DIGITS, AZERTY_DIGITS, strict=True))
AZERTY_SHOWS.update({letter: letter for letter in string.ascii_uppercase})
AZERTY_SHOWS.update({"A": "Q", "Q": "A", "Z": "W", "W": "Z", "M": "?", ":": "M"})
# The rest of the QR alphanumeric set (space $ % * + - . /):
AZERTY_SHOWS.update({" ": " ", "$": "4", "%": "5", "*": "8", "+": "+", "-": ")", ".": ":"})
AZERTY_SHOWS["/"] = "!"

PAYLOAD_CHARS = US_DIGITS + string.ascii_uppercase + ":"
QR_ALPHANUMERIC = US_DIGITS + string.ascii_uppercase + " $%*+-./:"


def garble(text: str) -> str:
    return "".join(AZERTY_SHOWS[char] for char in text)


def test_the_reference_table_is_a_bijection_on_the_qr_set():
    shown = [AZERTY_SHOWS[char] for char in QR_ALPHANUMERIC]
    assert len(set(shown)) == len(QR_ALPHANUMERIC)


def test_brief_examples():
    assert undo_us_layout_on_azerty("&é\"'(-è_çà") == "1234567890"
    assert undo_us_layout_on_azerty("Q") == "A"
    assert undo_us_layout_on_azerty("A") == "Q"
    assert undo_us_layout_on_azerty("W") == "Z"
    assert undo_us_layout_on_azerty("Z") == "W"
    assert undo_us_layout_on_azerty("M") == ":"
    assert undo_us_layout_on_azerty("?") == "M"


@pytest.mark.parametrize("char", list(QR_ALPHANUMERIC))
def test_undo_inverts_every_qr_alphanumeric_char(char):
    assert undo_us_layout_on_azerty(AZERTY_SHOWS[char]) == char


def test_letters_that_do_not_move_are_unchanged():
    still = "".join(c for c in string.ascii_uppercase if c not in "AQZWM")
    assert garble(still) == still
    assert undo_us_layout_on_azerty(still) == still


@settings(max_examples=200)
@given(st.text(alphabet=PAYLOAD_CHARS, max_size=80))
def test_undo_inverts_garbled_payload_text(text):
    assert undo_us_layout_on_azerty(garble(text)) == text


@settings(max_examples=200)
@given(st.text(alphabet=QR_ALPHANUMERIC, max_size=80))
def test_undo_inverts_garbled_qr_text(text):
    assert undo_us_layout_on_azerty(garble(text)) == text


def test_garbled_payload_looks_garbled_and_clean_one_does_not():
    payload = "PN1:PNHDF2026:7K3M9QXR4TBEZ:20261231:ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    assert not looks_garbled(payload)
    assert looks_garbled(garble(payload))


@settings(max_examples=200)
@given(st.text(alphabet=PAYLOAD_CHARS, min_size=1, max_size=40))
def test_mistyped_text_looks_garbled_when_it_shows_a_non_payload_char(text):
    # '6' shows '-', which a clean scan may hold (programme names, dashed codes); the other
    # digits and 'M' show characters that a clean scan never contains.
    garbled = garble(text)
    assert looks_garbled(garbled) == any(char in "123457890M" for char in text)
    assert not looks_garbled(text)


def _arrivals(gap: float, keys: int = 14) -> list[float]:
    return [100.0 + index * gap for index in range(keys)]


@pytest.mark.parametrize(
    ("times", "typing"),
    [
        (_arrivals(0.004), Typing.SCANNER),
        (_arrivals(0.15), Typing.HAND),
        # A person's keys with one quick pair, a scanner's burst with one stall: the median.
        ([*_arrivals(0.15, 6), 100.76, *[101.0 + index * 0.15 for index in range(5)]], Typing.HAND),
        ([*_arrivals(0.004, 8), 101.0, 101.004, 101.008], Typing.SCANNER),
        ([100.0, 100.3], Typing.UNKNOWN),
        ([], Typing.UNKNOWN),
    ],
)
def test_the_typing_is_told_by_the_keys_timing(times, typing):
    assert Typing.of(times) is typing


def test_a_burst_is_five_keys_a_few_milliseconds_apart():
    assert ends_a_burst(_arrivals(0.004))
    assert not ends_a_burst(_arrivals(0.06))  # quick typing
    assert not ends_a_burst([*_arrivals(0.004, 8), 100.5])  # Enter pressed after a pause
    assert not ends_a_burst(_arrivals(0.004, 4))


@settings(max_examples=300)
@given(
    st.sampled_from(list(Situation)),
    st.text(alphabet=st.sampled_from("0123456789AQZWMEN:-. aqzwm&é\"'(-è_çà?!)§£µ")),
)
def test_undoes_cleanly_says_whether_the_undone_text_is_clean(situation, text):
    expected = CLEAN_CHARACTERS.issuperset(situation.undo(text))
    assert situation.undoes_cleanly(text) == expected
