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
    None, and nothing changed, when a carnet's codes would not come back the same."""
    carnets = [change for change in changes if change.get("t") == CHANGE_CARNET]
    joined = [data_of_codes(carnet["codes"]) for carnet in carnets]
    if None in joined:
        return None
    for carnet, codes in zip(carnets, joined, strict=True):
        del carnet["codes"]
        carnet[COMPACT_CODES] = codes
    return changes


def expand_changes(changes: list[Any]) -> list[Any]:
    """The changes of a page /2 as a page /1 holds them: each carnet with its list of codes.
    ProtocolError, in French, for a carnet that is not a well-formed compact one."""
    return [
        _expanded(change, position) if _is_carnet(change) else change
        for position, change in enumerate(changes, start=1)
    ]


def _is_carnet(change: Any) -> bool:
    return isinstance(change, dict) and change.get("t") == CHANGE_CARNET


def _expanded(change: dict[str, Any], position: int) -> dict[str, Any]:
    where = f"Page de réplique mal formée (changement n° {position}, carnet « {change.get('id')} »)"
    joined, size = change.get(COMPACT_CODES), change.get("n")
    if "codes" in change or not isinstance(joined, str):
        raise ProtocolError(f"{where} : ses codes sont attendus en une chaîne « c », sans liste.")
    if not isinstance(size, int) or isinstance(size, bool):
        raise ProtocolError(f"{where} : sa taille « n » manque.")
    if len(joined) != size * DATA_LENGTH:
        raise ProtocolError(
            f"{where} : ses codes font {len(joined)} caractères, "
            f"{size * DATA_LENGTH} attendus ({size} codes de {DATA_LENGTH} caractères)."
        )
    try:
        codes = codes_of_data(joined)
    except ValueError as error:
        raise ProtocolError(
            f"{where} : ses codes contiennent un caractère qu'aucun code de pass n'a."
        ) from error
    expanded = {key: value for key, value in change.items() if key != COMPACT_CODES}
    expanded["codes"] = codes
    return expanded
