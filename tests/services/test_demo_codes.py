"""The demo's codes stay the ones it always made: UI snapshots and guides show them."""

from __future__ import annotations

import random

from mediateur_tui.domain.codes import ALPHABET, DATA_LENGTH, is_well_formed, make_code
from mediateur_tui.services.demo import _CodeMaker


def symbol_by_symbol(seed: int, count: int) -> list[str]:
    """The demo's first way of making codes: rng.choice per symbol, each new code kept."""
    rng = random.Random(seed)
    seen: set[str] = set()
    codes: list[str] = []
    while len(codes) < count:
        code = make_code("".join(rng.choice(ALPHABET) for _ in range(DATA_LENGTH)))
        if code not in seen:
            seen.add(code)
            codes.append(code)
    return codes


def test_the_bulk_maker_gives_the_codes_of_rng_choice_in_the_same_order():
    maker = _CodeMaker(2026)
    codes = [code for size in (5, 5, 1, 10, 3000, 7) for code in maker.take(size)]
    assert codes == symbol_by_symbol(2026, len(codes))
    assert all(is_well_formed(code) for code in codes)


def test_another_seed_gives_other_codes():
    assert _CodeMaker(1).take(10) != _CodeMaker(2).take(10)
