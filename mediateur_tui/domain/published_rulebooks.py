"""Rulebooks the region publishes after a release (`mediateur-hub rulebook publish`), beside
the ones shipped in the package (domain/rules/).

A published version is read as strictly as a shipped file: the constraints of
`schema/rules/rulebook.schema.json` the loader does not check itself (`check_rulebook_shape`:
no unknown field, the id's pattern, dates as YYYY-MM-DD, lists without repeats, the
assumptions starting with « Hypothèse : » …), then the loader's own checks
(`rulebook_from_json`). tests/domain/test_published_rulebooks.py keeps this function and the
schema in step. The `signature` the region adds is not part of the rulebook.

The versions in force are the shipped ones and the published ones together
(`with_published`): a published version with the id of a shipped one must be the same
version, and no two versions may take effect on the same day.

Pure: standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mediateur_tui.domain.rulebooks import (
    CATEGORIES,
    Rulebook,
    RulebookError,
    in_effect_order,
    rulebook_from_json,
)

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DEPARTMENT_PATTERN = re.compile(r"[0-9]{2}")
ASSUMPTION_PREFIX = "Hypothèse : "

_TOP_FIELDS = {
    "format",
    "id",
    "title",
    "sources",
    "effective_from",
    "unit_value_cents",
    "carnet_sizes",
    "max_passes_per_beneficiary",
    "allocation",
    "residence",
    "categories",
    "assumptions",
}
_GRANT_FIELDS = {"carnets", "second_carnet_on_request"}
_CATEGORY_FIELDS = {"label", "proofs"}
_CATEGORY_OPTIONAL = {"min_age", "max_age", "experiment"}
_EXPERIMENT_FIELDS = {
    "received_from",
    "received_until",
    "max_passes",
    "establishments",
    "criteria",
    "criteria_pending_reason",
}


def published_rulebook(document: Any) -> Rulebook:
    """The Rulebook of a published `pn-rulebook/1` document (its `signature` aside);
    RulebookError (French) when the schema or the loader refuses it."""
    if not isinstance(document, dict):
        raise RulebookError("un règlement est un objet JSON.")
    content = {key: value for key, value in document.items() if key != "signature"}
    check_rulebook_shape(content)
    return rulebook_from_json(content)


def with_published(shipped: Sequence[Rulebook], published: Iterable[Rulebook]) -> list[Rulebook]:
    """The versions in force, oldest first: the shipped ones and the published ones.

    A published version that is a shipped one (same id, same content) counts once; the same
    id with other content, or two versions taking effect on the same day, is a RulebookError.
    """
    books = {book.id: book for book in shipped}
    for book in published:
        known = books.get(book.id)
        if known is not None and known != book:
            raise RulebookError(
                f"Le règlement {book.id} existe déjà avec un autre contenu : une version n'est "
                "jamais modifiée une fois publiée (donnez un nouvel identifiant)."
            )
        books[book.id] = book
    return in_effect_order(list(books.values()))


def check_rulebook_shape(document: Mapping[str, Any]) -> None:
    """Raises RulebookError where `document` breaks a constraint of the rulebook schema that
    the loader does not check itself."""
    _fields(document, _TOP_FIELDS, set(), "le règlement")
    _pattern(document["id"], ID_PATTERN, "identifiant")
    _texts(document["sources"], "sources", at_least_one=True)
    _pattern(document["effective_from"], DATE_PATTERN, "date")
    _distinct(document["carnet_sizes"], "carnet_sizes", at_least_one=True)
    allocation = _object(document["allocation"], "allocation")
    _fields(allocation, {"accompanied", "alone"}, set(), "allocation")
    for name in ("accompanied", "alone"):
        grant = _object(allocation[name], name)
        _fields(grant, _GRANT_FIELDS, set(), name)
        if not isinstance(grant["second_carnet_on_request"], bool):
            raise RulebookError(f"{name} : second_carnet_on_request doit valoir true ou false.")
    residence = _object(document["residence"], "residence")
    _fields(residence, {"proof", "departments"}, set(), "residence")
    for department in _distinct(residence["departments"], "departments", at_least_one=True):
        _pattern(department, DEPARTMENT_PATTERN, "département")
    categories = _object(document["categories"], "categories")
    if not categories:
        raise RulebookError("aucune catégorie.")
    for key, value in categories.items():
        if key not in CATEGORIES:
            raise RulebookError(f"catégorie inconnue {key!r}.")
        _check_category(key, _object(value, key))
    assumptions = document["assumptions"]
    for line in _texts(assumptions, "assumptions", at_least_one=False):
        if not line.startswith(ASSUMPTION_PREFIX):
            raise RulebookError(f"une hypothèse doit commencer par « {ASSUMPTION_PREFIX}».")


def _check_category(key: str, category: Mapping[str, Any]) -> None:
    _fields(category, _CATEGORY_FIELDS, _CATEGORY_OPTIONAL, key)
    _check_proof_groups(category["proofs"], key)
    experiment = category.get("experiment")
    if experiment is None:
        if "experiment" in category:
            raise RulebookError(f"{key} : expérimentation nulle.")
        return
    experiment = _object(experiment, "experiment")
    _fields(experiment, _EXPERIMENT_FIELDS, set(), "experiment")
    for name in ("received_from", "received_until"):
        _pattern(experiment[name], DATE_PATTERN, "date")
    _texts(_distinct(experiment["establishments"], "establishments"), "establishments")
    criteria = experiment["criteria"]
    if criteria is not None:
        criteria = _object(criteria, "criteria")
        _fields(criteria, {"description", "proofs"}, set(), "criteria")
        _check_proof_groups(criteria["proofs"], "criteria")


def _check_proof_groups(groups: Any, where: str) -> None:
    if not isinstance(groups, list):
        raise RulebookError(f"{where} : liste de justificatifs attendue.")
    for group in groups:
        group = _object(group, where)
        _fields(group, {"any_of"}, {"max_age_months"}, where)
        _distinct(group["any_of"], "any_of", at_least_one=True)


def _fields(value: Mapping[str, Any], required: set[str], optional: set[str], where: str) -> None:
    missing = sorted(required - value.keys())
    if missing:
        raise RulebookError(f"{where} : champ(s) manquant(s) {', '.join(missing)}.")
    unknown = sorted(value.keys() - required - optional)
    if unknown:
        raise RulebookError(f"{where} : champ(s) inconnu(s) {', '.join(unknown)}.")


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise RulebookError(f"{where} : objet attendu, trouvé {value!r}.")
    return value


def _distinct(value: Any, where: str, *, at_least_one: bool = False) -> list[Any]:
    if not isinstance(value, list):
        raise RulebookError(f"{where} : liste attendue, trouvé {value!r}.")
    if at_least_one and not value:
        raise RulebookError(f"{where} : liste vide.")
    seen: list[Any] = []
    for item in value:
        if any(item == other and type(item) is type(other) for other in seen):
            raise RulebookError(f"{where} : {item!r} figure deux fois.")
        seen.append(item)
    return value


def _texts(value: Any, where: str, *, at_least_one: bool = False) -> list[str]:
    if not isinstance(value, list) or (at_least_one and not value):
        raise RulebookError(f"{where} : liste de textes non vide attendue.")
    if not all(isinstance(item, str) and item for item in value):
        raise RulebookError(f"{where} : chaque élément doit être un texte non vide.")
    return value


def _pattern(value: Any, pattern: re.Pattern[str], what: str) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise RulebookError(f"{what} invalide {value!r}.")
