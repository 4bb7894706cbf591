"""A site's identity: SIRET (Luhn, La Poste), RNA, INSEE code, postcode, their consistency."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.site_identity import (
    LA_POSTE_SIREN,
    SiteIdentity,
    identity_fields,
    identity_of,
    luhn_valid,
    parse_code_insee,
    parse_code_postal,
    parse_identity,
    parse_rna,
    parse_siret,
    siret_valid,
)


def _luhn_completed(digits: str) -> str:
    """`digits` and the one digit that makes the whole pass the Luhn checksum."""
    return next(digits + str(last) for last in range(10) if luhn_valid(digits + str(last)))


@st.composite
def sirets(draw: st.DrawFn) -> str:
    """A valid SIRET that is not La Poste's: a Luhn SIREN, then a NIC closing the Luhn."""
    siren = _luhn_completed(draw(st.text("0123456789", min_size=8, max_size=8)))
    if siren == LA_POSTE_SIREN:
        siren = "732829320"  # a SIREN whose Luhn holds
    return _luhn_completed(siren + draw(st.text("0123456789", min_size=4, max_size=4)))


@given(sirets())
def test_any_valid_siret_is_read(siret):
    assert parse_siret(siret) == siret
    spaced = f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"
    assert parse_siret(spaced) == siret


@given(sirets(), st.integers(0, 13), st.integers(1, 9))
def test_any_one_digit_change_is_refused(siret, position, shift):
    changed = siret[:position] + str((int(siret[position]) + shift) % 10) + siret[position + 1 :]
    if changed.startswith(LA_POSTE_SIREN):
        return  # another rule applies: tested below
    with pytest.raises(UserError, match="clé de contrôle"):
        parse_siret(changed)


@given(st.text("0123456789", min_size=5, max_size=5))
def test_la_poste_sirets_sum_to_a_multiple_of_five(nic):
    siret = LA_POSTE_SIREN + nic
    expected = siret == "35600000000048" or sum(int(digit) for digit in siret) % 5 == 0
    assert siret_valid(siret) == expected


def test_la_poste_head_office_and_known_sirets():
    assert siret_valid("35600000000048")  # La Poste's head office: its Luhn holds
    assert siret_valid("35600000049837")  # an establishment: its digits sum to 40
    assert not luhn_valid("35600000049837")
    assert not siret_valid("35600000000055")  # its Luhn holds, its sum does not
    assert siret_valid("73282932000074")
    assert not siret_valid("73282932000075")


@pytest.mark.parametrize("text", ["7328293200007", "732829320000744", "7328293200007A", ""])
def test_a_siret_without_14_digits_is_refused(text):
    with pytest.raises(UserError, match="14 chiffres attendus"):
        parse_siret(text)


@given(st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=9, max_size=9))
def test_rna_numbers(rest):
    assert parse_rna(f" w{rest.lower()} ") == f"W{rest}"


@pytest.mark.parametrize("text", ["W59500123", "W5950012345", "X595001234", "W59500123-"])
def test_a_wrong_rna_number_is_refused(text):
    with pytest.raises(UserError, match="W suivi de 9 caractères"):
        parse_rna(text)


@pytest.mark.parametrize(
    ("text", "code"),
    [("59036", "59036"), ("2a004", "2A004"), ("2B033", "2B033"), ("97411", "97411")],
)
def test_insee_codes(text, code):
    assert parse_code_insee(text) == code


@pytest.mark.parametrize("text", ["5903", "590366", "20004", "00123", "96001", "2C004", "99101"])
def test_a_wrong_insee_code_says_what_is_expected(text):
    with pytest.raises(UserError, match="2A ou 2B en Corse, 97x ou 98x outre-mer"):
        parse_code_insee(text)


@pytest.mark.parametrize("text", ["5944", "594400", "00100", "99000", "2A000"])
def test_a_wrong_postcode_is_refused(text):
    with pytest.raises(UserError, match="Code postal invalide"):
        parse_code_postal(text)


@pytest.mark.parametrize(
    ("code_insee", "code_postal"),
    [("59036", "59440"), ("2A004", "20000"), ("2B033", "20200"), ("97411", "97400")],
)
def test_postcode_and_insee_code_of_one_departement(code_insee, code_postal):
    assert SiteIdentity("73282932000074", code_insee, code_postal).departement_warning() is None


@pytest.mark.parametrize(
    ("code_insee", "code_postal"), [("59036", "62000"), ("97411", "97100"), ("2A004", "21000")]
)
def test_postcode_of_another_departement_is_warned(code_insee, code_postal):
    warning = SiteIdentity("73282932000074", code_insee, code_postal).departement_warning()
    assert warning is not None and "pas du même département" in warning


def test_identity_needs_one_pivot_and_its_commune():
    identity = parse_identity("732 829 320 00074", None, "59036", "59440")
    assert identity == SiteIdentity("73282932000074", "59036", "59440")
    assert identity.line() == "SIRET 732 829 320 00074 · code INSEE 59036 · code postal 59440"
    association = parse_identity(None, "w595001234", "59036", "59440")
    assert association.pivot_kind == "RNA" and association.rna == "W595001234"
    with pytest.raises(UserError, match="pas les deux"):
        parse_identity("73282932000074", "W595001234", "59036", "59440")
    with pytest.raises(UserError, match="manquant"):
        parse_identity(None, None, "59036", "59440")
    with pytest.raises(UserError, match="vont avec"):
        parse_identity("73282932000074", None, "59036", None)


def test_identity_fields_round_trip():
    identity = SiteIdentity("W595001234", "59036", "59440")
    assert identity_of(identity_fields(identity)) == identity
    assert identity_fields(None) == {}
    assert identity_of({"pivot": "W595001234", "code_insee": "59036"}) is None
