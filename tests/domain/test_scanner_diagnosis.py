"""The scanner self-test's diagnosis of one burst of (character, arrival) pairs."""

from __future__ import annotations

from datetime import date

import pytest

from mediateur_tui.domain.codes import format_code, make_code
from mediateur_tui.domain.keyboard import Situation
from mediateur_tui.domain.scan_input import build_payload
from mediateur_tui.domain.scanner_diagnosis import Finding, diagnose, visible
from mediateur_tui.domain.signatures import private_key_from_seed, sign

CODE = make_code("7K3M9QXR4TB0")
MESSAGE = f"PN1:HDFNUM:{CODE}:20271231"
PAYLOAD = build_payload(
    "HDFNUM", CODE, date(2027, 12, 31), sign(private_key_from_seed(bytes(32)), MESSAGE)
)
SCANNER_PACE = 0.004  # seconds between two keys of a scanner


def burst(text: str, enter: bool = True, pace: float = SCANNER_PACE) -> list[tuple[str, float]]:
    keys = text + ("\r" if enter else "")
    return [(char, 10.0 + index * pace) for index, char in enumerate(keys)]


def test_a_well_set_scanner():
    diagnosis = diagnose(burst(PAYLOAD), ended_by_enter=True)
    assert diagnosis.findings == (Finding.WELL_SET,)
    assert diagnosis.text == PAYLOAD
    assert diagnosis.shown == PAYLOAD + "⏎"
    assert diagnosis.advice == []
    assert format_code(CODE) in diagnosis.reading and "correction" not in diagnosis.reading
    assert diagnosis.duration == pytest.approx(len(PAYLOAD) * SCANNER_PACE)
    assert diagnosis.largest_gap == pytest.approx(SCANNER_PACE)


@pytest.mark.parametrize(
    ("situation", "findings"),
    [
        (Situation.US_ON_AZERTY, (Finding.US_ON_AZERTY,)),
        (Situation.US_ON_AZERTY_CAPS, (Finding.US_ON_AZERTY, Finding.CAPS_LOCK)),
        (Situation.US_ON_AZERTY_CAPS_DIGITS, (Finding.US_ON_AZERTY, Finding.CAPS_LOCK)),
        (Situation.CAPS_DIGITS, (Finding.CAPS_LOCK,)),
        (Situation.AZERTY_ON_US, (Finding.AZERTY_ON_US,)),
        (Situation.AZERTY_ON_US_CAPS, (Finding.AZERTY_ON_US, Finding.CAPS_LOCK)),
    ],
    ids=lambda value: getattr(value, "name", ""),
)
def test_each_mis_set_keyboard_is_named_with_what_the_desk_reads(situation, findings):
    diagnosis = diagnose(burst(situation.type_as(PAYLOAD)), ended_by_enter=True)
    assert diagnosis.findings == findings
    assert format_code(CODE) in diagnosis.reading
    assert "après correction" in diagnosis.reading
    assert len(diagnosis.advice) == len(findings)


def test_caps_lock_on_a_well_set_scanner_under_linux_gives_lower_case():
    diagnosis = diagnose(burst(PAYLOAD.lower()), ended_by_enter=True)
    assert diagnosis.findings == (Finding.CAPS_LOCK,)
    assert format_code(CODE) in diagnosis.reading


def test_no_enter_suffix():
    diagnosis = diagnose(burst(PAYLOAD, enter=False), ended_by_enter=False)
    assert diagnosis.findings == (Finding.NO_ENTER,)
    assert diagnosis.shown == PAYLOAD
    assert "Enter suffix" in diagnosis.advice[0]


def test_a_slow_burst():
    keys = burst(CODE)
    keys[5] = (keys[5][0], keys[5][1] + 0.3)  # a pause before the sixth key
    keys[6:] = [(char, moment + 0.3) for char, moment in keys[6:]]
    diagnosis = diagnose(keys, ended_by_enter=True)
    assert diagnosis.findings == (Finding.SLOW,)
    assert diagnosis.largest_gap == pytest.approx(0.3 + SCANNER_PACE)


def test_a_burst_that_lost_characters():
    dropped = PAYLOAD[:20] + PAYLOAD[30:]
    diagnosis = diagnose(burst(dropped), ended_by_enter=True)
    assert diagnosis.findings == (Finding.UNREADABLE,)
    assert "refusée" in diagnosis.reading


def test_a_garbled_burst_still_names_the_layout_it_shows():
    typed = Situation.US_ON_AZERTY.type_as(PAYLOAD[:20] + PAYLOAD[30:])
    diagnosis = diagnose(burst(typed), ended_by_enter=True)
    assert diagnosis.findings == (Finding.US_ON_AZERTY,)
    assert "refusée" in diagnosis.reading


def test_an_ambiguous_scan_is_refused_in_the_reading():
    diagnosis = diagnose(burst("qndfzfbhsrtbh"), ended_by_enter=True)
    assert diagnosis.findings == (Finding.AMBIGUOUS,)
    assert "ambiguë" in diagnosis.reading and "refusée" in diagnosis.reading


def test_an_empty_burst_and_visible_symbols():
    assert visible(" a\tb\x01\x7f") == "␣a⇥b␁␡"
    diagnosis = diagnose([("\r", 1.0)], ended_by_enter=True)
    assert diagnosis.text == "" and diagnosis.duration == 0.0
    assert diagnosis.findings == (Finding.UNREADABLE,)
