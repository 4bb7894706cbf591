"""Pseudonymous beneficiary references: stable across spellings, secret without the key."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediateur_tui.domain.beneficiaries import (
    REFERENCE_PATTERN,
    Identity,
    IdentityError,
    beneficiary_reference,
    format_reference,
    normalise_name,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
JEANNE = Identity("Dupont", "Jeanne", date(1958, 3, 14))


@pytest.mark.parametrize(
    ("last", "first"),
    [
        ("DUPONT", "JEANNE"),
        ("dupont", "jeanne"),
        ("  Du-pont ", "Jeanne"),
        ("Dupont", "Jéanne"),
        ("Du pont", "JEANNE "),
    ],
)
def test_the_same_person_spelled_differently_gets_the_same_reference(last, first):
    variant = Identity(last, first, JEANNE.birth_date)
    assert beneficiary_reference(variant, KEY) == beneficiary_reference(JEANNE, KEY)


@pytest.mark.parametrize(
    "other",
    [
        Identity("Dupond", "Jeanne", date(1958, 3, 14)),
        Identity("Dupont", "Jean", date(1958, 3, 14)),
        Identity("Dupont", "Jeanne", date(1958, 3, 15)),
        Identity("Jeanne", "Dupont", date(1958, 3, 14)),  # last and first names swapped
    ],
)
def test_another_person_gets_another_reference(other):
    assert beneficiary_reference(other, KEY) != beneficiary_reference(JEANNE, KEY)


def test_another_key_gives_another_reference():
    assert beneficiary_reference(JEANNE, OTHER_KEY) != beneficiary_reference(JEANNE, KEY)


def test_reference_has_the_published_shape_and_groups_for_reading():
    reference = beneficiary_reference(JEANNE, KEY)
    assert REFERENCE_PATTERN.fullmatch(reference)
    shown = format_reference(reference)
    assert shown.replace("-", "") == reference
    assert [len(group) for group in shown.split("-")] == [1, 4, 4, 4, 4, 4]


def test_names_are_normalised_without_accents_case_or_punctuation():
    assert normalise_name("  Lefèvre-Dupont d'Œillet ") == "LEFEVREDUPONTDOEILLET"
    assert normalise_name("Straße") == "STRASSE"


@pytest.mark.parametrize(
    ("identity", "message"),
    [
        (Identity("", "Jeanne", date(1958, 3, 14)), "Le nom est vide"),
        (Identity("Dupont", " - ", date(1958, 3, 14)), "Le prénom est vide"),
    ],
)
def test_an_empty_name_is_refused_in_french(identity, message):
    with pytest.raises(IdentityError, match=message):
        beneficiary_reference(identity, KEY)


def test_a_key_of_the_wrong_length_is_a_programming_error():
    with pytest.raises(ValueError):
        beneficiary_reference(JEANNE, b"short")


@given(
    last=st.text(max_size=40),
    first=st.text(max_size=40),
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)),
)
def test_any_identity_gives_a_well_formed_reference_or_a_french_error(last, first, born):
    try:
        reference = beneficiary_reference(Identity(last, first, born), KEY)
    except IdentityError as error:
        assert "vide" in str(error)
        assert not normalise_name(last) or not normalise_name(first)
    else:
        assert REFERENCE_PATTERN.fullmatch(reference)


@given(st.text(max_size=60))
def test_normalising_twice_changes_nothing(text):
    once = normalise_name(text)
    assert normalise_name(once) == once
