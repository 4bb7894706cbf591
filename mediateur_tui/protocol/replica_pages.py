"""The compact carnets of a pn-replica-page/2 (docs/protocol.md, « Replica updates »).

A page /2 holds the same changes as a page /1 but for its `carnet` changes: their pass codes
come as one string `c`, each code's 12 data symbols one after the other, without the check
symbol (the site computes it back: domain/codes.py). The page is signed as it is sent, so the
check symbol would guard nothing the signature does not; leaving it out, and the quotes and
commas of a list, saves 1.8 bytes a pass gzip'd. A page holding a carnet whose codes would
not come back the same (a check symbol other than its data's, which the hub never issues) is
served as a page /1.
"""

from __future__ import annotations

from typing import Any

from mediateur_tui.domain.codes import DATA_LENGTH, codes_of_data, data_of_codes
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import CHANGE_CARNET

COMPACT_CODES = "c"


def compact_changes(changes: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The changes of a page /1 with their carnets made compact (the dicts are changed);
    None, and nothing changed, when a carnet's codes would not come back the same. The codes
    of the whole page are checked at once (domain/codes.py is fastest on many)."""
    carnets = [change for change in changes if change.get("t") == CHANGE_CARNET]
    lists = [carnet["codes"] for carnet in carnets]
    if not all(isinstance(codes, list) for codes in lists):
        return None
    joined = data_of_codes([code for codes in lists for code in codes])
    if joined is None:
        return None
    start = 0
    for carnet, codes in zip(carnets, lists, strict=True):
        end = start + DATA_LENGTH * len(codes)
        del carnet["codes"]
        carnet[COMPACT_CODES] = joined[start:end]
        start = end
    return changes


def expand_changes(changes: list[Any]) -> list[Any]:
    """The changes of a page /2 as a page /1 holds them: each carnet with its list of codes.
    ProtocolError, in French, for a carnet that is not a well-formed compact one. The codes
    of the whole page are read back at once."""
    carnets = [
        (position, change)
        for position, change in enumerate(changes, start=1)
        if isinstance(change, dict) and change.get("t") == CHANGE_CARNET
    ]
    for position, carnet in carnets:
        _check_compact(carnet, position)
    try:
        codes = codes_of_data("".join(carnet[COMPACT_CODES] for _position, carnet in carnets))
    except ValueError:
        for position, carnet in carnets:  # which one: said in French (one of them is)
            _check_symbols(carnet, position)
        raise
    expanded = {}
    start = 0
    for position, carnet in carnets:
        end = start + carnet["n"]
        expanded[position] = {key: value for key, value in carnet.items() if key != COMPACT_CODES}
        expanded[position]["codes"] = codes[start:end]
        start = end
    return [expanded.get(position, change) for position, change in enumerate(changes, start=1)]


def _where(carnet: dict[str, Any], position: int) -> str:
    return f"Page de réplique mal formée (changement n° {position}, carnet « {carnet.get('id')} »)"


def _check_compact(carnet: dict[str, Any], position: int) -> None:
    joined, size = carnet.get(COMPACT_CODES), carnet.get("n")
    if "codes" in carnet or not isinstance(joined, str):
        raise ProtocolError(
            f"{_where(carnet, position)} : ses codes sont attendus en une chaîne « c », sans liste."
        )
    if not isinstance(size, int) or isinstance(size, bool):
        raise ProtocolError(f"{_where(carnet, position)} : sa taille « n » manque.")
    if len(joined) != size * DATA_LENGTH:
        raise ProtocolError(
            f"{_where(carnet, position)} : ses codes font {len(joined)} caractères, "
            f"{size * DATA_LENGTH} attendus ({size} codes de {DATA_LENGTH} caractères)."
        )


def _check_symbols(carnet: dict[str, Any], position: int) -> None:
    try:
        codes_of_data(carnet[COMPACT_CODES])
    except ValueError as error:
        raise ProtocolError(
            f"{_where(carnet, position)} : ses codes contiennent un caractère qu'aucun code de "
            "pass n'a."
        ) from error
