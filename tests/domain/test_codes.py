"""Pass codes: Crockford base32 symbols with a Damm check over GF(32) (docs/passes.md)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediateur_tui.domain.codes import (
    ALPHABET,
    MalformedCode,
    check_symbol,
    code_of_number,
    codes_of_data,
    data_of_codes,
    format_code,
    is_well_formed,
    make_code,
    normalise,
    parse_code,
)

# --- An independent implementation, written from docs/passes.md only --------------------------

SPEC_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def brief_mul2(v: int) -> int:
    return (v << 1) ^ (0x25 if v & 0x10 else 0)


def brief_check(data: str) -> str:
    r = 0
    for symbol in data:
        r = brief_mul2(r) ^ SPEC_ALPHABET.index(symbol)
    return SPEC_ALPHABET[brief_mul2(r)]


def brief_well_formed(code: str) -> bool:
    r = 0
    for symbol in code:
        r = brief_mul2(r) ^ SPEC_ALPHABET.index(symbol)
    return r == 0


data_symbols = st.text(alphabet=SPEC_ALPHABET, min_size=12, max_size=12)
valid_codes = data_symbols.map(lambda data: data + brief_check(data))

# Codes built by hand from the brief, used for the exhaustive checks below.
SAMPLE_DATA = ["7K3M9QXR4TBE", "000000000000", "ZZZZZZZZZZZZ", "0123456789AB", "MNPQRSTVWXYZ"]
SAMPLE_CODES = [data + brief_check(data) for data in SAMPLE_DATA]


def test_alphabet_is_crockford_base32():
    assert ALPHABET == SPEC_ALPHABET
    assert len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)


def test_brief_mul2_stays_in_gf32():
    # Sanity of the reference implementation itself: doubling is a permutation of 0..31.
    assert sorted(brief_mul2(v) for v in range(32)) == list(range(32))


@settings(max_examples=300)
@given(data_symbols)
def test_check_symbol_agrees_with_brief_algorithm(data):
    assert check_symbol(data) == brief_check(data)
    code = make_code(data)
    assert code == data + brief_check(data)
    assert brief_well_formed(code)
    assert is_well_formed(code)


def test_known_example_from_brief_has_the_right_shape():
    # The brief shows codes as 7K3M-9QXR-4TBEZ; whatever its check, ours must be self-consistent.
    code = SAMPLE_CODES[0]
    assert is_well_formed(code) == brief_well_formed(code) is True
    assert parse_code(code) == code


@pytest.mark.parametrize("code", SAMPLE_CODES)
def test_every_single_substitution_is_detected_exhaustively(code):
    for position in range(len(code)):
        for symbol in ALPHABET:
            if symbol == code[position]:
                continue
            typo = code[:position] + symbol + code[position + 1 :]
            assert not is_well_formed(typo), (code, position, symbol)
            with pytest.raises(MalformedCode):
                parse_code(typo)


@settings(max_examples=200)
@given(valid_codes, st.integers(0, 12), st.integers(1, 31))
def test_random_single_substitution_is_detected(code, position, shift):
    symbol = ALPHABET[(ALPHABET.index(code[position]) + shift) % 32]
    typo = code[:position] + symbol + code[position + 1 :]
    assert not is_well_formed(typo)


def swapped(code: str, position: int) -> str:
    return code[:position] + code[position + 1] + code[position] + code[position + 2 :]


@pytest.mark.parametrize("code", SAMPLE_CODES)
def test_every_adjacent_transposition_is_detected(code):
    for position in range(len(code) - 1):
        if code[position] != code[position + 1]:
            assert not is_well_formed(swapped(code, position)), (code, position)


@settings(max_examples=200)
@given(valid_codes, st.integers(0, 11))
def test_random_adjacent_transposition_is_detected(code, position):
    if code[position] == code[position + 1]:
        assert is_well_formed(swapped(code, position))  # a no-op swap stays valid
    else:
        assert not is_well_formed(swapped(code, position))
        with pytest.raises(MalformedCode, match="vérifiez la saisie"):
            parse_code(swapped(code, position))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7k3m9qxr4tbez", "7K3M9QXR4TBEZ"),
        ("7K3M-9QXR-4TBEZ", "7K3M9QXR4TBEZ"),
        ("7K3M 9QXR 4TBEZ", "7K3M9QXR4TBEZ"),
        ("7K3M.9QXR.4TBEZ", "7K3M9QXR4TBEZ"),
        (" 7k3m - 9qxr . 4tbez ", "7K3M9QXR4TBEZ"),
        ("o0Oo", "0000"),
        ("iIlL1", "11111"),
        ("", ""),
    ],
)
def test_normalise(text, expected):
    assert normalise(text) == expected


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from("0aAoOiIlL7zZ -.\t:ﬁß")))
def test_normalise_reads_ascii_as_it_reads_any_text(text):
    # A character that stays outside ASCII once upper-cased takes the Unicode path: the text
    # before it is normalised the same by both paths.
    assert normalise(text + "É") == normalise(text) + "É"


@pytest.mark.parametrize("code", SAMPLE_CODES)
def test_parse_code_accepts_all_spellings(code):
    spelled = [
        code,
        code.lower(),
        format_code(code),
        format_code(code).lower(),
        " ".join(code),
        ".".join([code[:4], code[4:8], code[8:]]),
        code.replace("0", "O").replace("1", "I"),
        code.replace("0", "o").replace("1", "l"),
        code.replace("1", "L"),
    ]
    for text in spelled:
        assert parse_code(text) == code, text


@pytest.mark.parametrize("code", SAMPLE_CODES)
def test_format_code_groups_4_4_5(code):
    shown = format_code(code)
    groups = shown.split("-")
    assert [len(group) for group in groups] == [4, 4, 5]
    assert "".join(groups) == code
    assert normalise(shown) == code


@pytest.mark.parametrize("text", ["7K3M9QXR4TB", "7K3M9QXR4TBEZZ", "0", "7K3M-9QXR-4TBEZ-7"])
def test_parse_code_wrong_length(text):
    with pytest.raises(MalformedCode) as caught:
        parse_code(text)
    message = str(caught.value)
    assert "13 caractères" in message
    assert str(len(normalise(text))) in message


@pytest.mark.parametrize(("text", "bad"), [("7K3M9QXR4TBEU", "U"), ("7K3M*9QXR4TBE", "*")])
def test_parse_code_bad_characters(text, bad):
    with pytest.raises(MalformedCode) as caught:
        parse_code(text)
    message = str(caught.value)
    assert "non autorisé" in message
    assert f"« {bad} »" in message


def test_parse_code_bad_check_symbol():
    code = SAMPLE_CODES[0]
    wrong = code[:-1] + ALPHABET[(ALPHABET.index(code[-1]) + 1) % 32]
    with pytest.raises(MalformedCode) as caught:
        parse_code(wrong)
    assert "contrôle" in str(caught.value)
    assert "vérifiez la saisie" in str(caught.value)


def test_malformed_code_is_a_value_error():
    assert issubclass(MalformedCode, ValueError)


@pytest.mark.parametrize("data", ["7K3M9QXR4TB", "7K3M9QXR4TBEZ", "7K3M9QXR4TBU", "7k3m9qxr4tbe"])
def test_make_code_refuses_bad_data(data):
    with pytest.raises(ValueError):
        make_code(data)


def _check_parse_outcome(text: str) -> None:
    try:
        code = parse_code(text)
    except MalformedCode as error:
        assert str(error)  # always says something
        return
    assert len(code) == 13
    assert set(code) <= set(SPEC_ALPHABET)
    assert brief_well_formed(code)
    assert code == normalise(text)


@settings(max_examples=300)
@given(st.text(max_size=60))
def test_parse_code_fuzz_arbitrary_text(text):
    _check_parse_outcome(text)


@settings(max_examples=300)
@given(
    st.one_of(
        st.text(alphabet=SPEC_ALPHABET + SPEC_ALPHABET.lower() + "oOiIlL -.", max_size=20),
        valid_codes.map(format_code),
        valid_codes.map(str.lower),
    )
)
def test_parse_code_fuzz_code_like_text(text):
    _check_parse_outcome(text)


@settings(max_examples=500)
@given(st.integers(min_value=0, max_value=(1 << 60) - 1))
def test_code_of_number_is_make_code_of_its_base32_digits(number):
    data = "".join(ALPHABET[(number >> (55 - 5 * index)) & 0x1F] for index in range(12))
    assert code_of_number(number) == make_code(data)


@pytest.mark.parametrize("number", [-1, 1 << 60])
def test_code_of_number_refuses_a_number_outside_60_bits(number):
    with pytest.raises(ValueError):
        code_of_number(number)


# --- codes one after the other, without their check symbols (pn-replica-page/2) ------------


@settings(max_examples=300)
@given(st.lists(valid_codes, max_size=12))
def test_codes_without_their_check_symbols_come_back_whole(codes):
    joined = data_of_codes(codes)
    assert joined == "".join(code[:12] for code in codes)
    assert codes_of_data(joined) == codes


@given(st.lists(data_symbols, max_size=12))
def test_codes_of_data_adds_the_brief_s_check_symbol(data):
    assert codes_of_data("".join(data)) == [part + brief_check(part) for part in data]


@given(st.lists(valid_codes, min_size=1, max_size=10), st.data())
def test_a_code_whose_check_symbol_is_not_its_data_s_is_not_written_without_it(codes, data):
    index = data.draw(st.integers(0, len(codes) - 1))
    code = codes[index]
    other = data.draw(st.sampled_from([s for s in SPEC_ALPHABET if s != code[12]]))
    codes[index] = code[:12] + other
    assert data_of_codes(codes) is None


@pytest.mark.parametrize(
    "codes", [["7K3M9QXR4TBE"], ["7K3M9QXR4TBEXY"], ["7k3m9qxr4tbe" + "0"], [None]]
)
def test_what_is_not_a_normalised_code_is_not_written_without_its_check(codes):
    assert data_of_codes(codes) is None


@pytest.mark.parametrize(
    "joined",
    [
        "7K3M9QXR4TB",
        "7K3M9QXR4TBE0",
        "7K3M9QXR4TBU",
        "7k3m9qxr4tbe",
        "7K3M9_XR4TBE",
        " 7K3M9QXR4TB",
    ],
)
def test_codes_of_data_refuses_what_is_not_whole_normalised_symbols(joined):
    with pytest.raises(ValueError):
        codes_of_data(joined)


def test_the_first_character_no_code_holds_is_found_where_it_was_typed():
    from mediateur_tui.domain.codes import first_unknown_symbol

    assert first_unknown_symbol("7K3M-9QXR-4TB0Q") is None
    assert first_unknown_symbol("7k3m 9qxr.4tbo") is None  # case, separators, look-alikes
    assert first_unknown_symbol("7K3M-9Q!R-4TB0Q") == 7
    assert first_unknown_symbol("7K3M-U") == 5  # U is not in Crockford's alphabet
