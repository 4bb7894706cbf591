"""The operators' roles: what each is called, and what each may do.

The desk, the screens and the command line all ask here, so that a role never may in one
place what it may not in another. Each refusal says why, in French (REFUSALS).
"""

from __future__ import annotations

ROLE_LABELS = {
    "mediateur": "médiateur·rice",
    "responsable": "responsable",
    "distributeur": "distributeur·rice",
}
# Which roles may do what; a responsable may do everything.
ALLOWED_ROLES: dict[str, tuple[str, ...]] = {
    "new_session": ("mediateur", "responsable"),
    "month_end": ("responsable",),
    "reconciliation": ("responsable",),
    "attribution": ("distributeur", "responsable"),
}
REFUSALS = {
    "new_session": "Les séances sont réservées aux médiateur·rices et aux responsables du lieu "
    ": connectez-vous avec l'un de leurs comptes.",
    "month_end": "La fin de mois est réservée aux responsables du lieu : connectez-vous avec un "
    "compte responsable.",
    "reconciliation": "Le rapprochement des remises est réservé aux responsables du lieu : "
    "connectez-vous avec un compte responsable.",
    "attribution": "L'attribution de carnets est réservée aux distributeur·rices et aux "
    "responsables du lieu : connectez-vous avec l'un de leurs comptes.",
}


def may(role: str, what: str) -> bool:
    """Whether an operator of `role` may do `what` (a key of ALLOWED_ROLES)."""
    return role in ALLOWED_ROLES[what]
