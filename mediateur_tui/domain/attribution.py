"""Deciding a request for pass numériques by the règlement in force (docs/protocol.md,
« Attributions »; the rules themselves are the files of domain/rules/).

`decide(request, rulebook, today)` is pure: it applies one rulebook version (rulebooks.py) to
one request and says who gets which carnets, which proofs are missing and why, in French.
`decide_in_force` first picks the version in force on the day the request was received.

The requests come from a prescripteur's list, a JSON array or a CSV file: `read_requests`
parses the text into one `Row` per request, each either a `Request` or a French error, so a
malformed row never stops the others.

Conventions (also written as assumptions in the rule files):
- Ages are in whole years on `received_on`.
- A proof with `max_age_months` (the job-seeker certificate, 3 months) needs its date in
  `proof_dates`; it is valid from exactly N calendar months before `received_on` (31 May minus
  3 months is 28 February) up to `received_on`. Undated, too old or dated after the request, it
  counts as missing.
- In `missing_proofs`, a proof that may be any one of several documents (internship OR
  mission-locale certificate) lists all its alternatives; the French reason says "ou".
- The cap counts every pass the beneficiary already received; a carnet that no longer fits is
  replaced by the smallest one that does, and the request is refused when none fits.
- The lycée quota is region-wide: the caller says how many passes were already given
  (`lycee_passes_already_given`); a request that would pass the quota is refused.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.formatting import format_date
from mediateur_tui.domain.rulebooks import (
    CATEGORIES,
    PROOF_LABELS,
    PROOF_TOKENS,
    ProofGroup,
    Rulebook,
    rulebook_for,
)

REQUIRED_FIELDS = (
    "received_on",
    "category",
    "birth_date",
    "postcode",
    "accompanied",
    "proofs",
    "passes_already_received",
)
OPTIONAL_FIELDS = ("proof_dates", "establishment")
FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS
MAX_PASSES_FIELD = 1000  # a sanity bound on passes_already_received

TRUE_WORDS = {"true", "1", "oui", "o", "yes", "y", "vrai"}
FALSE_WORDS = {"false", "0", "non", "n", "no", "faux", ""}
POSTCODE = re.compile(r"[0-9]{5}")
FRENCH_DATE = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class RequestError(UserError, ValueError):
    """A malformed request (row): French message."""


class InputError(UserError, ValueError):
    """A file that cannot be read as a list of requests at all (French message)."""


@dataclass(frozen=True)
class Request:
    received_on: date
    category: str
    birth_date: date
    postcode: str
    accompanied: bool
    proofs: frozenset[str]
    passes_already_received: int
    proof_dates: Mapping[str, date] = field(default_factory=dict)
    establishment: str | None = None


@dataclass(frozen=True)
class Decision:
    eligible: bool
    rulebook: str | None  # the id of the version applied; None when none was in force
    carnets: tuple[int, ...]
    second_carnet_on_request: bool
    missing_proofs: tuple[str, ...]
    reasons: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "eligible": self.eligible,
            "rulebook": self.rulebook,
            "carnets": list(self.carnets),
            "second_carnet_on_request": self.second_carnet_on_request,
            "missing_proofs": list(self.missing_proofs),
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class Row:
    """One request of a file: `number` counts from 1 in the file's order of requests."""

    number: int
    request: Request | None = None
    error: str | None = None


# --- deciding ---------------------------------------------------------------------------------


def decide_in_force(
    request: Request,
    rulebooks: Sequence[Rulebook] | None,
    today: date,
    lycee_passes_already_given: int = 0,
) -> Decision:
    """`decide` with the version in force on `request.received_on`."""
    book = rulebook_for(request.received_on, rulebooks)
    if book is None:
        reason = (
            "Aucun règlement d'attribution n'était en vigueur le "
            f"{format_date(request.received_on)}, jour de réception de la demande."
        )
        return Decision(False, None, (), False, (), (reason,))
    return decide(request, book, today, lycee_passes_already_given)


def decide(
    request: Request,
    rulebook: Rulebook,
    today: date,
    lycee_passes_already_given: int = 0,
) -> Decision:
    """The decision of `rulebook` on `request` (see the module docstring)."""
    refusals: list[str] = []
    missing: list[str] = []
    received = request.received_on
    if received > today:
        refusals.append(
            f"La demande est datée du {format_date(received)}, après aujourd'hui "
            f"({format_date(today)}) : vérifiez la date de réception."
        )
    category = rulebook.categories.get(request.category)
    if category is None:
        refusals.append(
            f"La catégorie « {request.category} » n'est pas prévue par le règlement "
            f"en vigueur le {format_date(received)} ({rulebook.id})."
        )
        return _refused(rulebook, missing, refusals)

    # Residence: the postcode's department, and the proof.
    department = request.postcode[:2]
    if department not in rulebook.departments:
        refusals.append(
            f"Le code postal {request.postcode} n'est pas en Hauts-de-France "
            f"(départements {', '.join(rulebook.departments)})."
        )
    groups: list[ProofGroup] = [ProofGroup((rulebook.residence_proof,))]

    # Age.
    age = age_on(request.birth_date, received)
    if category.min_age is not None and age < category.min_age:
        refusals.append(
            f"{category.label} : il faut avoir au moins {category.min_age} ans le jour de la "
            f"demande ({age} ans le {format_date(received)})."
        )
    if category.max_age is not None and age > category.max_age:
        refusals.append(
            f"{category.label} : il faut avoir au plus {category.max_age} ans le jour de la "
            f"demande ({age} ans le {format_date(received)})."
        )
    groups.extend(category.proofs)

    # The experiment (lycées): period, criteria, establishment.
    experiment = category.experiment
    if experiment is not None:
        if not experiment.received_from <= received <= experiment.received_until:
            refusals.append(
                f"{category.label} : l'expérimentation ne vaut que pour les demandes reçues du "
                f"{format_date(experiment.received_from)} au "
                f"{format_date(experiment.received_until)}."
            )
        if experiment.criteria is None:
            refusals.append(experiment.criteria_pending_reason)
        else:
            groups.extend(experiment.criteria.proofs)
            if not request.establishment:
                refusals.append(f"{category.label} : l'établissement n'est pas indiqué.")
            elif _normalise(request.establishment) not in {
                _normalise(item) for item in experiment.establishments
            }:
                refusals.append(
                    f"{category.label} : l'établissement « {request.establishment} » "
                    "ne fait pas partie des établissements désignés pour l'expérimentation."
                )

    for group in groups:
        problem = _check_proof(group, request)
        if problem is not None:
            for token in group.any_of:
                if token not in missing:
                    missing.append(token)
            refusals.append(problem)

    # Carnets within the cap.
    grant = rulebook.accompanied if request.accompanied else rulebook.alone
    cap = rulebook.max_passes_per_beneficiary
    remaining = cap - request.passes_already_received
    carnets = _fit(grant.carnets, remaining, rulebook.carnet_sizes)
    if remaining <= 0:
        refusals.append(
            f"Le bénéficiaire a déjà reçu {request.passes_already_received} pass : "
            f"le plafond est de {cap} pass par personne."
        )
    elif not carnets:
        refusals.append(
            f"Le bénéficiaire a déjà reçu {request.passes_already_received} pass : il en reste "
            f"{remaining} sous le plafond de {cap}, moins qu'un carnet."
        )

    if experiment is not None and carnets:
        left = experiment.max_passes - lycee_passes_already_given
        if sum(carnets) > left:
            refusals.append(
                f"{category.label} : le plafond de {experiment.max_passes} pass de "
                f"l'expérimentation est atteint ({max(left, 0)} pass restants dans la région)."
            )

    if refusals:
        return _refused(rulebook, missing, refusals)

    given = sum(carnets)
    second = grant.second_carnet_on_request and (remaining - given >= min(rulebook.carnet_sizes))
    reasons = [f"{category.label} : conditions remplies, justificatifs complets."]
    how = "accompagnée par un prescripteur" if request.accompanied else "faite seule"
    listing = " + ".join(f"un carnet de {size}" for size in carnets)
    reasons.append(f"Demande {how} : {listing} pass ({given} pass).")
    if carnets != grant.carnets:
        reasons.append(
            f"Déjà {request.passes_already_received} pass reçus : le plafond de {cap} "
            "limite ce qui est remis."
        )
    if second:
        reasons.append(
            "Un second carnet pourra être remis sur une nouvelle demande "
            f"(au plus {cap} pass en tout)."
        )
    return Decision(True, rulebook.id, carnets, second, (), tuple(reasons))


def _refused(rulebook: Rulebook, missing: list[str], refusals: list[str]) -> Decision:
    return Decision(False, rulebook.id, (), False, tuple(missing), tuple(refusals))


def _fit(wanted: tuple[int, ...], remaining: int, sizes: tuple[int, ...]) -> tuple[int, ...]:
    """`wanted` when it fits under the cap, else the largest single carnet that does, else ()."""
    if sum(wanted) <= remaining:
        return wanted
    fitting = [size for size in sizes if size <= remaining]
    return (max(fitting),) if fitting else ()


def _check_proof(group: ProofGroup, request: Request) -> str | None:
    """None when the request holds a valid proof of `group`, else the French reason."""
    given = [token for token in group.any_of if token in request.proofs]
    what = " ou ".join(PROOF_LABELS[token] for token in group.any_of)
    if not given:
        return f"Justificatif manquant : {what}."
    if group.max_age_months is None:
        return None
    months = group.max_age_months
    earliest = months_before(request.received_on, months)
    problems = []
    for token in given:
        dated = request.proof_dates.get(token)
        if dated is None:
            problems.append(
                f"{PROOF_LABELS[token]} sans date : elle doit dater de {months} mois au plus, "
                "indiquez sa date."
            )
        elif dated > request.received_on:
            problems.append(
                f"{PROOF_LABELS[token]} datée du {format_date(dated)}, après la demande."
            )
        elif dated < earliest:
            problems.append(
                f"{PROOF_LABELS[token]} datée du {format_date(dated)} : plus de {months} mois "
                f"avant la demande (au plus tôt le {format_date(earliest)})."
            )
        else:
            return None
    return "Justificatif non valable : " + " ; ".join(problems)


def age_on(birth_date: date, day: date) -> int:
    """Whole years from `birth_date` to `day` (born 29 February: a year older on 1 March)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier, clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def _normalise(text: str) -> str:
    return " ".join(text.split()).casefold()


# --- reading requests -------------------------------------------------------------------------


def read_requests(text: str, kind: str) -> list[Row]:
    """The rows of a JSON array (`kind` "json") or a CSV (`kind` "csv", `;` or `,`).
    Raises InputError when the file as a whole is not a list of requests."""
    text = text.removeprefix("\ufeff")
    if kind == "json":
        return _read_json(text)
    if kind == "csv":
        return _read_csv(text)
    raise InputError(f"Format de fichier inconnu : {kind}.")


def guess_kind(name: str, text: str) -> str:
    """ "json" or "csv", from the file name's extension, else from its first character."""
    lowered = name.lower()
    if lowered.endswith(".json"):
        return "json"
    if lowered.endswith(".csv"):
        return "csv"
    return "json" if text.removeprefix("\ufeff").lstrip().startswith(("[", "{")) else "csv"


def _read_json(text: str) -> list[Row]:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise InputError(f"Fichier JSON invalide : {error}.") from error
    if not isinstance(document, list):
        raise InputError("Le fichier JSON doit contenir une liste de demandes ([…]).")
    return [_row(number, item) for number, item in enumerate(document, start=1)]


def _read_csv(text: str) -> list[Row]:
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise InputError("Le fichier CSV est vide : il faut une ligne d'en-tête.")
    delimiter = ";" if lines[0].count(";") >= lines[0].count(",") else ","
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise InputError(f"Fichier CSV illisible : {error}.") from error
    header = [name.strip() for name in records[0]]
    unknown = [name for name in header if name not in FIELDS]
    missing = [name for name in REQUIRED_FIELDS if name not in header]
    if unknown or missing or len(set(header)) != len(header):
        details = []
        if unknown:
            details.append(f"colonnes inconnues : {', '.join(unknown)}")
        if missing:
            details.append(f"colonnes manquantes : {', '.join(missing)}")
        if len(set(header)) != len(header):
            details.append("colonne en double")
        raise InputError(
            f"En-tête CSV invalide ({' ; '.join(details)}). Colonnes attendues : "
            f"{', '.join(FIELDS)}."
        )
    rows = []
    number = 0
    for record in records[1:]:
        if not any(cell.strip() for cell in record):
            continue  # blank line
        number += 1
        if len(record) != len(header):
            rows.append(
                Row(
                    number,
                    error=f"{len(record)} colonnes au lieu de {len(header)} "
                    f"(séparateur « {delimiter} »).",
                )
            )
            continue
        rows.append(_row(number, dict(zip(header, record, strict=True)), from_csv=True))
    return rows


def _row(number: int, raw: Any, from_csv: bool = False) -> Row:
    try:
        return Row(number, request=parse_request(raw, from_csv=from_csv))
    except RequestError as error:
        return Row(number, error=str(error))


def parse_request(raw: Any, from_csv: bool = False) -> Request:
    """A Request from a JSON object or a CSV record (all strings); RequestError otherwise."""
    if not isinstance(raw, dict):
        raise RequestError("Une demande doit être un objet {…}.")
    unknown = sorted(str(key) for key in raw if key not in FIELDS)
    if unknown:
        raise RequestError(f"Champ(s) inconnu(s) : {', '.join(unknown)}.")
    absent = [
        name
        for name in REQUIRED_FIELDS
        if raw.get(name) is None or (from_csv and name != "proofs" and not raw[name].strip())
    ]
    if absent:
        raise RequestError(f"Champ(s) manquant(s) : {', '.join(absent)}.")
    received_on = _parse_date(raw["received_on"], "received_on")
    birth_date = _parse_date(raw["birth_date"], "birth_date")
    if birth_date > received_on:
        raise RequestError("birth_date est après received_on.")
    category = _parse_text(raw["category"], "category")
    if category not in CATEGORIES:
        raise RequestError(f"category « {category} » inconnue (attendu : {', '.join(CATEGORIES)}).")
    postcode = _parse_text(raw["postcode"], "postcode")
    if not POSTCODE.fullmatch(postcode):
        raise RequestError(f"postcode « {postcode} » : 5 chiffres attendus.")
    proofs = _parse_proofs(raw["proofs"])
    proof_dates = _parse_proof_dates(raw.get("proof_dates"))
    establishment = raw.get("establishment")
    if establishment is not None:
        establishment = _parse_text(establishment, "establishment") or None
    return Request(
        received_on=received_on,
        category=category,
        birth_date=birth_date,
        postcode=postcode,
        accompanied=_parse_bool(raw["accompanied"]),
        proofs=proofs,
        passes_already_received=_parse_count(raw["passes_already_received"]),
        proof_dates=proof_dates,
        establishment=establishment,
    )


def _parse_text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise RequestError(f"{name} : texte attendu.")
    return value.strip()


def _parse_date(value: Any, name: str) -> date:
    text = _parse_text(value, name)
    try:
        if ISO_DATE.fullmatch(text):
            return date.fromisoformat(text)
        match = FRENCH_DATE.fullmatch(text)
        if match:
            day, month, year = (int(part) for part in match.groups())
            return date(year, month, day)
    except ValueError:
        pass
    raise RequestError(f"{name} « {text} » : date attendue (AAAA-MM-JJ ou JJ/MM/AAAA).")


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().casefold()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise RequestError(f"accompanied « {value} » : oui/non (true/false) attendu.")


def _parse_count(value: Any) -> int:
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PASSES_FIELD:
        raise RequestError(
            f"passes_already_received « {value} » : nombre entier positif ou nul attendu."
        )
    return value


def _parse_proofs(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        tokens = [token.strip() for token in value.split("|") if token.strip()]
    elif isinstance(value, list) and all(isinstance(token, str) for token in value):
        tokens = [token.strip() for token in value]
    else:
        raise RequestError("proofs : liste de justificatifs attendue.")
    unknown = [token for token in tokens if token not in PROOF_TOKENS]
    if unknown:
        raise RequestError(
            f"Justificatif(s) inconnu(s) : {', '.join(unknown)} "
            f"(attendu : {', '.join(PROOF_TOKENS)})."
        )
    return frozenset(tokens)


def _parse_proof_dates(value: Any) -> dict[str, date]:
    if value is None:
        return {}
    if isinstance(value, str):
        pairs = []
        for item in value.split("|"):
            if not item.strip():
                continue
            token, equals, day = item.partition("=")
            if not equals:
                raise RequestError(f"proof_dates « {item} » : justificatif=AAAA-MM-JJ attendu.")
            pairs.append((token.strip(), day))
    elif isinstance(value, dict):
        pairs = list(value.items())
    else:
        raise RequestError("proof_dates : objet {justificatif: date} attendu.")
    dates = {}
    for token, day in pairs:
        if token not in PROOF_TOKENS:
            raise RequestError(f"proof_dates : justificatif inconnu « {token} ».")
        dates[token] = _parse_date(day, f"proof_dates[{token}]")
    return dates
