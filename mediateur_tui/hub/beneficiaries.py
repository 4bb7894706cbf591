"""Beneficiaries on the hub: the form a reference is stored in, and the passes the region
counts for each reference (the cap per beneficiary).

Shared by the attributions of distributor sites (hub/attributions.py) and the region's own
`mediateur-hub attribute` (hub/registry.py), so that both count the same way: the sizes of
every carnet handed to the reference (hub_carnet.beneficiary_ref, exact match), whoever
handed it out.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func
from sqlmodel import Session, col, select

from mediateur_tui.domain.formatting import plural
from mediateur_tui.hub.models import HubCarnet

MAX_REFERENCE = 64  # characters of a reference given to `mediateur-hub attribute`
_DASHES = "-‐‑‒–—"


def normalise_reference(text: str) -> str:
    """The stored form of a reference typed by a person: spaces and dashes removed, upper
    case. "b-7k3m-9qxr-…" (as a receipt prints it) and "B7K3M9QXR…" are the same reference."""
    kept = "".join(char for char in text if not char.isspace() and char not in _DASHES)
    return kept.upper()


def beneficiary_passes(session: Session, references: Iterable[str]) -> dict[str, int]:
    """The passes the region counts for each reference: the sizes of the carnets handed to it
    (0 for a reference with none). Read in the caller's transaction: under the hub's write
    lock, nobody can hand out a carnet between this count and the caller's decision."""
    wanted = sorted(set(references))
    counted = dict.fromkeys(wanted, 0)
    if not wanted:
        return counted
    for reference, passes in session.exec(
        select(HubCarnet.beneficiary_ref, func.sum(HubCarnet.size))
        .where(col(HubCarnet.beneficiary_ref).in_(wanted))
        .group_by(HubCarnet.beneficiary_ref)
    ):
        assert reference is not None  # IN (...) never matches NULL
        counted[reference] = int(passes)
    return counted


def cap_message(already: int, passes: int, cap: int) -> str:
    """Why an attribution of `passes` is refused to a beneficiary who has `already` passes."""
    return (
        f"Le bénéficiaire a déjà reçu {plural(already, 'pass', 'pass')} dans toute la "
        f"région : avec ces {passes} pass, il dépasserait le plafond de {cap} pass par personne."
    )
