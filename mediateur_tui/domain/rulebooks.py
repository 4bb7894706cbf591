"""The region's attribution rules (règlement) as data: one JSON file per version in
`mediateur_tui/domain/rules/` (package data: a wheel carries them), validated by
`schema/rules/rulebook.schema.json` (the tests check every shipped file against it).

A request is judged by the version in force on the day it was received: the latest whose
`effective_from` is on or before `received_on` (`rulebook_for`). A version is never edited once
published; the region adds a new file with a later `effective_from`.

The rule files shipped by default live beside this module (one copy); `RULES_DIR` finds them
from this file, in a checkout as in an installed package. Every loader takes the directory as a
parameter too.

Pure: standard library only. The loader checks what the code relies on and raises
`RulebookError` (French) on a file that does not fit.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from mediateur_tui.domain.errors import UserError

RULES_DIR = Path(__file__).resolve().parent / "rules"
RULEBOOK_FORMAT = "pn-rulebook/1"
RULEBOOK_GLOB = "rulebook-*.json"

PROOF_TOKENS = (
    "residence",
    "job_seeker_certificate",
    "internship_certificate",
    "mission_locale_certificate",
    "age_proof",
    "school_certificate",
)
PROOF_LABELS = {
    "residence": "un justificatif de domicile en Hauts-de-France",
    "job_seeker_certificate": "une attestation d'inscription comme demandeur·euse d'emploi",
    "internship_certificate": "une attestation de stage",
    "mission_locale_certificate": "une attestation d'accompagnement par une mission locale",
    "age_proof": "un justificatif d'âge (pièce d'identité)",
    "school_certificate": "un certificat de scolarité",
}
CATEGORIES = ("job_seeker", "youth_insertion", "senior", "lycee")


class RulebookError(UserError, ValueError):
    """A rule file that cannot be used (French message)."""


@dataclass(frozen=True)
class ProofGroup:
    """One proof to give: any one of `any_of`, at most `max_age_months` old when set."""

    any_of: tuple[str, ...]
    max_age_months: int | None = None


@dataclass(frozen=True)
class Grant:
    carnets: tuple[int, ...]
    second_carnet_on_request: bool


@dataclass(frozen=True)
class LyceeCriteria:
    description: str
    proofs: tuple[ProofGroup, ...]


@dataclass(frozen=True)
class Experiment:
    received_from: date
    received_until: date
    max_passes: int
    establishments: tuple[str, ...]
    criteria: LyceeCriteria | None  # None: "to be set by a later deliberation"
    criteria_pending_reason: str


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    proofs: tuple[ProofGroup, ...]
    min_age: int | None = None
    max_age: int | None = None
    experiment: Experiment | None = None


@dataclass(frozen=True)
class Rulebook:
    id: str
    title: str
    effective_from: date
    unit_value_cents: int
    carnet_sizes: tuple[int, ...]
    max_passes_per_beneficiary: int
    accompanied: Grant
    alone: Grant
    residence_proof: str
    departments: tuple[str, ...]
    categories: dict[str, Category]
    sources: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()


def load_rulebooks(directory: Path | None = None) -> list[Rulebook]:
    """Every version in `directory` (default `RULES_DIR`), oldest first."""
    folder = RULES_DIR if directory is None else directory
    paths = sorted(folder.glob(RULEBOOK_GLOB))
    if not paths:
        raise RulebookError(f"Aucun règlement d'attribution ({RULEBOOK_GLOB}) dans {folder}.")
    return in_effect_order([load_rulebook(path) for path in paths])


def in_effect_order(books: Sequence[Rulebook]) -> list[Rulebook]:
    """The versions oldest first; RulebookError when two share a day or an id."""
    ordered = sorted(books, key=lambda book: book.effective_from)
    for earlier, later in itertools.pairwise(ordered):
        if earlier.effective_from == later.effective_from:
            raise RulebookError(
                f"Deux règlements entrent en vigueur le même jour ({later.effective_from}) : "
                f"{earlier.id} et {later.id}."
            )
    if len({book.id for book in ordered}) != len(ordered):
        raise RulebookError("Deux fichiers de règlement portent le même identifiant.")
    return ordered


def load_rulebook(path: Path) -> Rulebook:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RulebookError(f"Règlement illisible : {path.name} ({error}).") from error
    try:
        return rulebook_from_json(document)
    except RulebookError as error:
        raise RulebookError(f"{path.name} : {error}") from error


@cache
def default_rulebooks() -> tuple[Rulebook, ...]:
    """The versions shipped in the package (`RULES_DIR`), loaded once."""
    return tuple(load_rulebooks())


def rulebook_for(received_on: date, rulebooks: Sequence[Rulebook] | None = None) -> Rulebook | None:
    """The version in force for a request received on `received_on`: the latest whose
    effective_from is on or before it (None before the first). Default: the shipped versions."""
    books = default_rulebooks() if rulebooks is None else rulebooks
    in_force = [book for book in books if book.effective_from <= received_on]
    return max(in_force, key=lambda book: book.effective_from) if in_force else None


def rulebook_from_json(document: Any) -> Rulebook:
    """A Rulebook from a parsed `pn-rulebook/1` document (see the schema)."""
    try:
        if document.get("format") != RULEBOOK_FORMAT:
            raise RulebookError(f"format attendu {RULEBOOK_FORMAT}.")
        sizes = tuple(_positive(size) for size in document["carnet_sizes"])
        allocation = document["allocation"]
        book = Rulebook(
            id=_text(document["id"]),
            title=_text(document["title"]),
            effective_from=_date(document["effective_from"]),
            unit_value_cents=_positive(document["unit_value_cents"]),
            carnet_sizes=sizes,
            max_passes_per_beneficiary=_positive(document["max_passes_per_beneficiary"]),
            accompanied=_grant(allocation["accompanied"], sizes),
            alone=_grant(allocation["alone"], sizes),
            residence_proof=_proof(document["residence"]["proof"]),
            departments=tuple(_text(dep) for dep in document["residence"]["departments"]),
            categories={
                key: _category(key, value) for key, value in document["categories"].items()
            },
            sources=tuple(_text(source) for source in document.get("sources", [])),
            assumptions=tuple(_text(line) for line in document.get("assumptions", [])),
        )
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        if isinstance(error, RulebookError):
            raise
        raise RulebookError(f"fichier de règlement mal formé ({error!r}).") from error
    return book


def _category(key: str, value: dict[str, Any]) -> Category:
    if key not in CATEGORIES:
        raise RulebookError(f"catégorie inconnue {key!r}.")
    experiment = value.get("experiment")
    return Category(
        key=key,
        label=_text(value["label"]),
        proofs=_proof_groups(value["proofs"]),
        min_age=_age(value.get("min_age")),
        max_age=_age(value.get("max_age")),
        experiment=None if experiment is None else _experiment(experiment),
    )


def _experiment(value: dict[str, Any]) -> Experiment:
    criteria = value["criteria"]
    return Experiment(
        received_from=_date(value["received_from"]),
        received_until=_date(value["received_until"]),
        max_passes=_positive(value["max_passes"]),
        establishments=tuple(_text(item) for item in value["establishments"]),
        criteria=None
        if criteria is None
        else LyceeCriteria(_text(criteria["description"]), _proof_groups(criteria["proofs"])),
        criteria_pending_reason=_text(value["criteria_pending_reason"]),
    )


def _proof_groups(values: list[dict[str, Any]]) -> tuple[ProofGroup, ...]:
    groups = []
    for value in values:
        months = value.get("max_age_months")
        any_of = tuple(_proof(token) for token in value["any_of"])
        if not any_of:
            raise RulebookError("un justificatif sans document possible.")
        groups.append(ProofGroup(any_of, None if months is None else _positive(months)))
    return tuple(groups)


def _grant(value: dict[str, Any], sizes: tuple[int, ...]) -> Grant:
    carnets = tuple(_positive(size) for size in value["carnets"])
    if not carnets or any(size not in sizes for size in carnets):
        raise RulebookError(f"carnets {list(carnets)} hors des tailles prévues {list(sizes)}.")
    return Grant(carnets, bool(value["second_carnet_on_request"]))


def _proof(token: Any) -> str:
    if not isinstance(token, str) or token not in PROOF_TOKENS:
        raise RulebookError(f"justificatif inconnu {token!r}.")
    return token


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RulebookError(f"texte attendu, trouvé {value!r}.")
    return value


def _positive(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RulebookError(f"nombre entier positif attendu, trouvé {value!r}.")
    return value


def _age(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RulebookError(f"âge invalide {value!r}.")
    return value


def _date(value: Any) -> date:
    if not isinstance(value, str):
        raise RulebookError(f"date attendue, trouvé {value!r}.")
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise RulebookError(f"date invalide {value!r}.") from error
