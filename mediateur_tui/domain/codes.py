"""Pass codes: 12 Crockford base32 data symbols plus a Damm check symbol over GF(32).

See docs/passes.md (« Pass codes »). The Damm check catches every single-symbol error and
every swap of two neighbouring symbols, so a typo is reported as "re-type", never as "unknown
pass".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from operator import add, itemgetter

from mediateur_tui.domain.errors import UserError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DATA_LENGTH = 12
CODE_LENGTH = DATA_LENGTH + 1
_VALUES = {symbol: value for value, symbol in enumerate(ALPHABET)}
_SYMBOLS = frozenset(ALPHABET)
_SYMBOL_VALUES = bytes(_VALUES.get(chr(byte), 0) for byte in range(256))  # of ASCII symbols
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_IGNORED = str.maketrans("", "", " -.\t")
_ASCII_LOOKALIKES = bytes.maketrans(b"OIL", b"011")
_ASCII_IGNORED = b" -.\t"
_MODULUS = 0x25  # x^5 + x^2 + 1


class MalformedCode(UserError, ValueError):
    """Raised with a French explanation when a text cannot be a pass code."""


def _mul2(value: int) -> int:
    return ((value << 1) ^ (_MODULUS if value & 0x10 else 0)) & 0x1F


# _mul2(state) ^ value for each state and value, at state * 32 + value: the check of a scan
# without a function call per symbol.
_DAMM_STEP = bytes(_mul2(state) ^ value for state in range(32) for value in range(32))


def _damm_state(values: Iterable[int]) -> int:
    state = 0
    for value in values:
        state = _DAMM_STEP[state << 5 | value]
    return state


def check_symbol(data: str) -> str:
    """The check symbol for 12 data symbols (already normalised)."""
    values = [_VALUES[symbol] for symbol in data]
    return ALPHABET[_mul2(_damm_state(values))]


def make_code(data: str) -> str:
    """Appends the check symbol to 12 normalised data symbols."""
    if len(data) != DATA_LENGTH or any(symbol not in _VALUES for symbol in data):
        raise ValueError(f"need {DATA_LENGTH} Crockford symbols, got {data!r}")
    return data + check_symbol(data)


# The Damm state is linear over GF(2) (each step multiplies by x and adds a symbol), so the
# check of 12 symbols is the sum (XOR) of each symbol's own contribution at its position:
# the Damm state of that symbol alone, zeros elsewhere. Built from those 12 × 32 states (not
# from a state per table entry: `check` imports this module and must start at once).
_SINGLE = [
    [_damm_state([value] + [0] * (DATA_LENGTH - position - 1)) for value in range(32)]
    for position in range(DATA_LENGTH)
]  # the zeros before the symbol leave the state at 0
# Two tables of 1,024 entries per pair position make `code_of_number` several times faster
# than `make_code`, for the demo's million codes.
_PAIRS = [a + b for a in ALPHABET for b in ALPHABET]
_CONTRIBUTIONS = [
    [high ^ low for high in _SINGLE[2 * pair] for low in _SINGLE[2 * pair + 1]]
    for pair in range(DATA_LENGTH // 2)
]
_CHECKS = [ALPHABET[_mul2(state)] for state in range(32)]


def code_of_number(number: int) -> str:
    """The code whose 12 data symbols are the 60-bit `number` written in base 32, with its
    check symbol: the same as make_code on those symbols."""
    if not 0 <= number < 1 << (5 * DATA_LENGTH):
        raise ValueError(f"need a number of {5 * DATA_LENGTH} bits, got {number}")
    a, b, c = number >> 50, (number >> 40) & 0x3FF, (number >> 30) & 0x3FF
    d, e, f = (number >> 20) & 0x3FF, (number >> 10) & 0x3FF, number & 0x3FF
    t = _CONTRIBUTIONS
    state = t[0][a] ^ t[1][b] ^ t[2][c] ^ t[3][d] ^ t[4][e] ^ t[5][f]
    p = _PAIRS
    return p[a] + p[b] + p[c] + p[d] + p[e] + p[f] + _CHECKS[state]


# The check symbols of many codes at once, from their data symbols one after the other: the
# Damm state is the XOR of each position's own contribution, so a byte table per position
# (`bytes.translate` of that position's column) and one XOR of big integers (a byte a code: no
# carry between codes) give every code's state, and a last table its check symbol.
_POSITION_TABLES = [
    bytes(_SINGLE[position][_VALUES[chr(b)]] if chr(b) in _VALUES else 0 for b in range(256))
    for position in range(DATA_LENGTH)
]
_CHECK_TABLE = bytes(ord(_CHECKS[state]) if state < 32 else 0 for state in range(256))
_DATA_SYMBOLS = re.compile(f"[{ALPHABET}]*")
_DATA_PARTS = re.compile(f".{{{DATA_LENGTH}}}", re.DOTALL)
_DATA_PART = itemgetter(slice(0, DATA_LENGTH))


def _check_symbols(joined: str) -> str:
    """The check symbol of each code whose data symbols follow one another in `joined`.
    ValueError when `joined` is not a whole number of 12 normalised symbols."""
    if len(joined) % DATA_LENGTH:
        raise ValueError(f"need a multiple of {DATA_LENGTH} symbols, got {len(joined)}")
    if _DATA_SYMBOLS.fullmatch(joined) is None:
        raise ValueError("only normalised Crockford symbols")
    count = len(joined) // DATA_LENGTH
    data = joined.encode("ascii")
    state = 0
    for position, table in enumerate(_POSITION_TABLES):
        state ^= int.from_bytes(data[position::DATA_LENGTH].translate(table), "big")
    return state.to_bytes(count, "big").translate(_CHECK_TABLE).decode("ascii")


def codes_of_data(joined: str) -> list[str]:
    """The codes whose 12 data symbols follow one another in `joined`, each with its check
    symbol added: `"".join(code[:12] for code in codes)` read back. ValueError when `joined`
    is not a whole number of 12 normalised symbols."""
    checks = _check_symbols(joined)
    return list(map(add, _DATA_PARTS.findall(joined), checks))


def data_of_codes(codes: list[str]) -> str | None:
    """The 12 data symbols of each code, one after the other (what `codes_of_data` reads
    back); None when a code would not come back the same (not 13 normalised symbols, or a
    check symbol other than its data's)."""
    if not all(isinstance(code, str) and len(code) == CODE_LENGTH for code in codes):
        return None
    joined = "".join(map(_DATA_PART, codes))
    try:
        checks = _check_symbols(joined)
    except ValueError:
        return None
    return joined if checks == "".join(codes)[DATA_LENGTH::CODE_LENGTH] else None


def normalise(text: str) -> str:
    """Upper-cases, drops spaces, dashes and dots, maps O to 0 and I/L to 1."""
    upper = text.upper()
    if upper.isascii():  # the same on bytes, ten times faster (every scan comes here)
        return upper.encode().translate(_ASCII_LOOKALIKES, _ASCII_IGNORED).decode()
    return upper.translate(_IGNORED).translate(_LOOKALIKES)


def is_well_formed(code: str) -> bool:
    """True when a normalised 13-symbol code passes the check symbol."""
    if len(code) != CODE_LENGTH or not _SYMBOLS.issuperset(code):
        return False
    return _passes_its_check(code)


def _passes_its_check(code: str) -> bool:
    """Whether the Damm state of `code`, of known symbols only, is 0."""
    return _damm_state(code.encode().translate(_SYMBOL_VALUES)) == 0


def parse_code(text: str) -> str:
    """Returns the normalised code, or raises MalformedCode saying what is wrong."""
    code = normalise(text)
    if not _SYMBOLS.issuperset(code):
        bad = sorted(set(code) - _SYMBOLS)
        shown = " ".join(f"« {symbol} »" for symbol in bad[:5])
        raise MalformedCode(f"Caractère non autorisé dans un code de pass : {shown}.")
    if len(code) != CODE_LENGTH:
        raise MalformedCode(
            f"Un code de pass a {CODE_LENGTH} caractères ; celui-ci en a {len(code)}."
        )
    if not _passes_its_check(code):
        raise MalformedCode("Le caractère de contrôle ne correspond pas : vérifiez la saisie.")
    return code


def first_unknown_symbol(text: str) -> int | None:
    """Where in `text`, as typed, the first character that no code holds is (spaces, dashes,
    dots and look-alikes are fine); None when there is none."""
    for index, character in enumerate(text):
        if normalise(character) and normalise(character) not in _VALUES:
            return index
    return None


def format_code(code: str) -> str:
    """Shows a 13-symbol code as XXXX-XXXX-XXXXX."""
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"
