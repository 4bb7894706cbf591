"""The options of a session's activity in the Coop's vocabulary (`redeem … --session-type
collectif --duration 90 --themes email,navigation_sur_internet --participants 6`): database
values of La Coop de la médiation numérique, each checked, a wrong one refused with the list of
the valid ones (exit 2)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

from mediateur_tui.cli.common import CliError
from mediateur_tui.domain.activity import (
    Activity,
    Autonomie,
    Genre,
    Materiel,
    NiveauAtelier,
    StatutSocial,
    StructureDeRedirection,
    Thematique,
    TrancheAge,
    TypeActivite,
    TypeLieu,
    parse_commune,
    parse_counts,
    parse_value,
    parse_values,
    tags_of,
)
from mediateur_tui.domain.formatting import parse_day
from mediateur_tui.domain.text import inert


def add_activity_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "activité (vocabulaire de La Coop de la médiation numérique ; par défaut celle de la "
        "séance précédente de l'opérateur·rice)"
    )
    add = group.add_argument
    add("--session-type", metavar="TYPE", help=_values(TypeActivite))
    add("--date", metavar="JJ/MM/AAAA", help="jour de la séance (défaut : aujourd'hui)")
    add("--duration", metavar="MINUTES", help="durée en minutes (15, 30, 45, 60, 90, 120…)")
    add("--place-type", metavar="LIEU", help=_values(TypeLieu))
    add("--place-commune", metavar="CP:INSEE[:NOM]", help="commune du lieu (domicile, autre)")
    add("--equipment", metavar="M1,M2", help=_values(Materiel))
    add("--themes", metavar="T1,T2", help="thématiques (au moins une) : " + _values(Thematique))
    add("--precisions-demarche", metavar="TEXTE", help="nom de la démarche administrative")
    add("--autonomy", metavar="NIVEAU", help="individuel : " + _values(Autonomie))
    add("--oriented", choices=("oui", "non"), help="individuel : bénéficiaire réorienté")
    add("--redirection", metavar="STRUCTURE", help=_values(StructureDeRedirection))
    add("--title", metavar="TITRE", help="collectif : nom de l'atelier")
    add("--level", metavar="NIVEAU", help="collectif : " + _values(NiveauAtelier))
    add("--participants", metavar="N", help="collectif : nombre de participants")
    add("--genres", metavar="G=N,…", help=_values(Genre))
    add("--age-bands", metavar="T=N,…", help=_values(TrancheAge))
    add("--statuses", metavar="S=N,…", help=_values(StatutSocial))
    add("--beneficiary-commune", metavar="CP:INSEE[:NOM]", help="commune des bénéficiaires")
    add("--tags", metavar="TAG1,TAG2", help="étiquettes libres")


def _values(enum: Any) -> str:
    return ", ".join(member.value for member in enum)


def session_type(args: argparse.Namespace) -> TypeActivite | None:
    return None if args.session_type is None else parse_value(TypeActivite, args.session_type)


def duration(args: argparse.Namespace) -> int | None:
    if args.duration is None:
        return None
    text = args.duration.strip()
    if not text.isdigit() or int(text) < 1:
        raise CliError(f"Durée illisible : « {inert(text)} » (un nombre de minutes, par ex. 90).")
    return int(text)


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The activity's fields the options give (parsed: a wrong value is a UserError)."""
    readers: dict[str, tuple[str, Callable[[str], Any]]] = {
        "date": ("date", _day),
        "place_type": ("place_type", lambda text: parse_value(TypeLieu, text)),
        "place_commune": ("place_commune", parse_commune),
        "equipment": ("equipment", lambda text: parse_values(Materiel, text)),
        "themes": ("thematiques", lambda text: parse_values(Thematique, text)),
        "precisions_demarche": ("precisions_demarche", str.strip),
        "autonomy": ("autonomie", lambda text: parse_value(Autonomie, text)),
        "oriented": ("oriented", lambda text: text == "oui"),
        "redirection": ("redirection", lambda text: parse_value(StructureDeRedirection, text)),
        "title": ("title", str.strip),
        "level": ("niveau", lambda text: parse_value(NiveauAtelier, text)),
        "participants": ("participants", _count),
        "genres": ("genres", lambda text: parse_counts(Genre, text)),
        "age_bands": ("tranches_age", lambda text: parse_counts(TrancheAge, text)),
        "statuses": ("statuts", lambda text: parse_counts(StatutSocial, text)),
        "beneficiary_commune": ("beneficiary_commune", parse_commune),
        "tags": ("tags", tags_of),
    }
    given: dict[str, Any] = {}
    for option, (name, read) in readers.items():
        text = getattr(args, option)
        if text is not None:
            given[name] = read(text)
    if "redirection" in given and "oriented" not in given:
        given["oriented"] = True  # a structure named: the beneficiary was referred to it
    return given


def activity_for(defaults: Activity, given: dict[str, Any]) -> Activity:
    """`defaults` with the fields the options gave."""
    return replace(defaults, **given)


def _day(text: str) -> date:
    try:
        return parse_day(text)
    except ValueError:
        raise CliError(
            f"Date illisible pour --date : « {inert(text)} » (attendu JJ/MM/AAAA ou AAAA-MM-JJ)."
        ) from None


def _count(text: str) -> int:
    if not text.strip().isdigit():
        raise CliError(f"Nombre de participants illisible : « {inert(text)} ».")
    return int(text)
