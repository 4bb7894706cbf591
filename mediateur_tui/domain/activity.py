"""A session as La Coop de la médiation numérique records an activity (its *compte-rendu
d'activité*): its enumerations with their database values and French labels, in the Coop's
order, the `Activity` of one session and the rules its form applies (docs/coop-activite.md).

Pure: the services store and export it, the command line parses it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import TypeVar

from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.site_identity import is_code_postal, parse_code_insee

Day = date  # `Activity.date` hides the type inside the class


class CoopEnum(StrEnum):
    """An enumeration of the Coop: the value is its database value."""

    @property
    def label(self) -> str:
        return _LABELS[(type(self), self.value)]


E = TypeVar("E", bound=CoopEnum)
_LABELS: dict[tuple[type[CoopEnum], str], str] = {}


def _labelled(enum: type[E], labels: Iterable[str]) -> type[E]:
    for member, label in zip(enum, labels, strict=True):
        _LABELS[(enum, member.value)] = label
    return enum


class TypeActivite(CoopEnum):
    INDIVIDUEL = "individuel"
    COLLECTIF = "collectif"

    @property
    def plural_label(self) -> str:
        return _PLURAL_LABELS[self]


_labelled(TypeActivite, ["Accompagnement individuel", "Atelier collectif"])
_PLURAL_LABELS = {
    TypeActivite.INDIVIDUEL: "Accompagnements individuels",
    TypeActivite.COLLECTIF: "Participants aux ateliers",
}


class TypeLieu(CoopEnum):
    LIEU_ACTIVITE = "lieu_activite"
    DOMICILE = "domicile"
    A_DISTANCE = "a_distance"
    AUTRE = "autre"


_labelled(TypeLieu, ["Lieu d’activité", "À domicile", "À distance", "Autre lieu"])


class Materiel(CoopEnum):
    ORDINATEUR = "ordinateur"
    TELEPHONE = "telephone"
    TABLETTE = "tablette"
    AUTRE = "autre"
    AUCUN = "aucun"


_labelled(Materiel, ["Ordinateur", "Téléphone", "Tablette", "Autre", "Pas de matériel"])


class Thematique(CoopEnum):
    DIAGNOSTIC_NUMERIQUE = "diagnostic_numerique"
    PRENDRE_EN_MAIN_DU_MATERIEL = "prendre_en_main_du_materiel"
    MAINTENANCE_DE_MATERIEL = "maintenance_de_materiel"
    GERE_SES_CONTENUS_NUMERIQUES = "gere_ses_contenus_numeriques"
    NAVIGATION_SUR_INTERNET = "navigation_sur_internet"
    EMAIL = "email"
    BUREAUTIQUE = "bureautique"
    RESEAUX_SOCIAUX = "reseaux_sociaux"
    SANTE = "sante"
    BANQUE_ET_ACHATS_EN_LIGNE = "banque_et_achats_en_ligne"
    ENTREPRENEURIAT = "entrepreneuriat"
    INSERTION_PROFESSIONNELLE = "insertion_professionnelle"
    SECURITE_NUMERIQUE = "securite_numerique"
    PARENTALITE = "parentalite"
    SCOLARITE_ET_NUMERIQUE = "scolarite_et_numerique"
    CREER_AVEC_LE_NUMERIQUE = "creer_avec_le_numerique"
    CULTURE_NUMERIQUE = "culture_numerique"
    INTELLIGENCE_ARTIFICIELLE = "intelligence_artificielle"
    AIDE_AUX_DEMARCHES_ADMINISTRATIVES = "aide_aux_demarches_administratives"
    PAPIERS_ELECTIONS_CITOYENNETE = "papiers_elections_citoyennete"
    FAMILLE_SCOLARITE = "famille_scolarite"
    SOCIAL_SANTE = "social_sante"
    TRAVAIL_FORMATION = "travail_formation"
    LOGEMENT = "logement"
    TRANSPORTS_MOBILITE = "transports_mobilite"
    ARGENT_IMPOTS = "argent_impots"
    JUSTICE = "justice"
    ETRANGERS_EUROPE = "etrangers_europe"
    LOISIRS_SPORTS_CULTURE = "loisirs_sports_culture"
    ASSOCIATIONS = "associations"

    @property
    def administrative(self) -> bool:
        """One of the 11 administrative thématiques (allowed with AIDE_AUX_DEMARCHES_…)."""
        return self in ADMINISTRATIVE_THEMATIQUES


_labelled(
    Thematique,
    [
        "Diagnostic numérique",
        "Prendre en main du matériel",
        "Maintenance de matériel",
        "Gérer ses contenus numériques",
        "Navigation sur internet",
        "E-mail",
        "Bureautique",
        "Réseaux sociaux communication",
        "Santé",
        "Banque et achats en ligne",
        "Accompagner un professionnel",
        "Insertion professionnelle",
        "Prévention en sécurité numérique",
        "Parentalité",
        "Scolarité et numérique",
        "Créer avec le numérique",
        "Culture numérique",
        "Intelligence artificielle (IA)",
        "Aide aux démarches administratives",
        "Papiers - Élections - Citoyenneté",
        "Famille - Scolarité",
        "Social - Santé",
        "Travail - Formation - Entreprise",
        "Logement",
        "Transports - Mobilité",
        "Argent - Impôts",
        "Justice",
        "Étrangers - Europe",
        "Loisirs - Sports - Culture",
        "Associations",
    ],
)
_THEMATIQUES = list(Thematique)
NON_ADMINISTRATIVE_THEMATIQUES = tuple(_THEMATIQUES[:19])
ADMINISTRATIVE_THEMATIQUES = tuple(_THEMATIQUES[19:])


class Autonomie(CoopEnum):
    ENTIEREMENT_ACCOMPAGNE = "entierement_accompagne"
    PARTIELLEMENT_AUTONOME = "partiellement_autonome"
    AUTONOME = "autonome"

    @property
    def stars(self) -> int:
        return list(Autonomie).index(self) + 1


_labelled(Autonomie, ["Avec guidage", "Autonome avec guidage en cas de besoin", "Autonome"])


class NiveauAtelier(CoopEnum):
    DEBUTANT = "debutant"
    INTERMEDIAIRE = "intermediaire"
    AVANCE = "avance"

    @property
    def stars(self) -> int:
        return list(NiveauAtelier).index(self) + 1


_labelled(NiveauAtelier, ["Débutant", "Intermédiaire", "Avancé"])


class StructureDeRedirection(CoopEnum):
    ADMINISTRATION = "administration"
    MEDIATION_NUMERIQUE = "mediation_numerique"
    OPERATEUR_OU_ORGANISME_EN_CHARGE = "operateur_ou_organisme_en_charge"
    AIDE_SOCIALE = "aide_sociale"
    INSERTION_PROFESSIONNELLE = "insertion_professionnelle"
    AIDE_AUX_DEMARCHES_ADMINISTRATIVES = "aide_aux_demarches_administratives"
    AUTRE = "autre"


_labelled(
    StructureDeRedirection,
    [
        "Administration (mairie, préfecture…)",
        "Autre structure de médiation numérique",
        "Opérateur ou organisme en charge de la démarche administrative",
        "Structure d’aide sociale (maison des solidarités, centre social…)",
        "Structure d’insertion professionnelle (France Travail, mission locale, chambre de "
        "commerce…)",
        "Structure d’aide aux démarches administratives (France Services…)",
        "Autre",
    ],
)


class Genre(CoopEnum):
    MASCULIN = "masculin"
    FEMININ = "feminin"
    NON_COMMUNIQUE = "non_communique"


_labelled(Genre, ["Masculin", "Féminin", "Non communiqué"])


class TrancheAge(CoopEnum):
    MOINS_DE_DOUZE = "moins_de_douze"
    DOUZE_DIX_HUIT = "douze_dix_huit"
    DIX_HUIT_VINGT_QUATRE = "dix_huit_vingt_quatre"
    VINGT_CINQ_TRENTE_NEUF = "vingt_cinq_trente_neuf"
    QUARANTE_CINQUANTE_NEUF = "quarante_cinquante_neuf"
    SOIXANTE_SOIXANTE_NEUF = "soixante_soixante_neuf"
    SOIXANTE_DIX_PLUS = "soixante_dix_plus"
    NON_COMMUNIQUE = "non_communique"


_labelled(
    TrancheAge,
    [
        "Moins de 12 ans",
        "12 - 17 ans",
        "18 - 24 ans",
        "25 - 39 ans",
        "40 - 59 ans",
        "60 - 69 ans",
        "70 ans et plus",
        "Non communiqué",
    ],
)


class StatutSocial(CoopEnum):
    SCOLARISE = "scolarise"
    SANS_EMPLOI = "sans_emploi"
    EN_EMPLOI = "en_emploi"
    RETRAITE = "retraite"
    NON_COMMUNIQUE = "non_communique"


_labelled(
    StatutSocial,
    ["Scolarisé", "Sans emploi", "En emploi", "Retraité", "Non communiqué ou hétérogène"],
)

# What each enumeration is called in a French message.
ENUM_NAMES: dict[type[CoopEnum], str] = {
    TypeActivite: "type d'activité",
    TypeLieu: "type de lieu",
    Materiel: "matériel",
    Thematique: "thématique",
    Autonomie: "autonomie",
    NiveauAtelier: "niveau d'atelier",
    StructureDeRedirection: "structure de redirection",
    Genre: "genre",
    TrancheAge: "tranche d'âge",
    StatutSocial: "statut social",
}


def parse_value(enum: type[E], text: str) -> E:
    """The member whose database value is `text`; a French message listing the valid values
    otherwise."""
    try:
        return enum(text.strip())
    except ValueError:
        valid = ", ".join(member.value for member in enum)
        raise UserError(
            f"Valeur inconnue pour {ENUM_NAMES[enum]} : « {text} ». Valeurs possibles : {valid}."
        ) from None


def parse_values(enum: type[E], text: str) -> tuple[E, ...]:
    """Comma-separated database values (blanks skipped, each once, in the given order)."""
    members = [parse_value(enum, part) for part in text.split(",") if part.strip()]
    return tuple(dict.fromkeys(members))


def parse_counts(enum: type[E], text: str) -> dict[E, int]:
    """`feminin=3,masculin=2` -> {FEMININ: 3, MASCULIN: 2}."""
    counts: dict[E, int] = {}
    for part in (part.strip() for part in text.split(",")):
        if not part:
            continue
        name, sign, number = part.partition("=")
        if not sign or not number.strip().isdigit():
            raise UserError(
                f"Décompte illisible : « {part} » (attendu valeur=nombre, par ex. feminin=3)."
            )
        member = parse_value(enum, name)
        counts[member] = counts.get(member, 0) + int(number)
    return counts


# --- durations ------------------------------------------------------------------------------

DURATION_PRESETS = (15, 30, 45, 60, 90, 120)
CUSTOM_DURATION_LABEL = "Personnaliser"
MAX_DURATION_MINUTES = 23 * 60 + 59  # the custom value: hours 0–23, minutes 0–59


def duration_label(minutes: int) -> str:
    """The Coop's label of a duration: `45mn`, `1h`, `1h30`."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest}mn"
    return f"{hours}h" if not rest else f"{hours}h{rest:02d}"


# --- the activity of a session --------------------------------------------------------------


@dataclass(frozen=True)
class Commune:
    """A commune by its postcode and INSEE code (the name is optional)."""

    code_postal: str
    code_insee: str
    nom: str = ""


def parse_commune(text: str) -> Commune:
    """`59440:59036` or `59440:59036:Avesnes-sur-Helpe`."""
    parts = [part.strip() for part in text.split(":", 2)]
    if len(parts) < 2 or not is_code_postal(parts[0]):
        raise UserError(
            f"Commune illisible : « {text} » (attendu CODE_POSTAL:CODE_INSEE[:NOM], par ex. "
            "59440:59036:Avesnes-sur-Helpe)."
        )
    return Commune(parts[0], parse_code_insee(parts[1]), parts[2] if len(parts) > 2 else "")


@dataclass(frozen=True)
class Activity:
    """What a session was, in the Coop's vocabulary. Counts are anonymous (no name)."""

    type: TypeActivite
    date: date
    duration_minutes: int
    place_type: TypeLieu = TypeLieu.LIEU_ACTIVITE
    place_commune: Commune | None = None
    equipment: tuple[Materiel, ...] = ()
    thematiques: tuple[Thematique, ...] = ()
    precisions_demarche: str | None = None
    autonomie: Autonomie | None = None  # individuel
    oriented: bool | None = None  # individuel: « Bénéficiaire réorienté »
    redirection: StructureDeRedirection | None = None  # individuel, when oriented
    title: str | None = None  # collectif: « Nom de l'atelier »
    niveau: NiveauAtelier | None = None  # collectif
    participants: int | None = None  # collectif
    genres: Mapping[Genre, int] = field(default_factory=dict)
    tranches_age: Mapping[TrancheAge, int] = field(default_factory=dict)
    statuts: Mapping[StatutSocial, int] = field(default_factory=dict)
    beneficiary_commune: Commune | None = None
    tags: tuple[str, ...] = ()

    @property
    def participant_count(self) -> int:
        """1 for an individuel, the atelier's participants for a collectif (0 when unset)."""
        if self.type is TypeActivite.INDIVIDUEL:
            return 1
        return self.participants or 0

    def with_type(self, kind: TypeActivite) -> Activity:
        """The same activity as another type: the other type's own fields are cleared."""
        if kind is self.type:
            return self
        if kind is TypeActivite.COLLECTIF:
            return replace(
                self, type=kind, autonomie=None, oriented=None, redirection=None, participants=1
            )
        return replace(self, type=kind, title=None, niveau=None, participants=None)

    def as_defaults(self, day: Day) -> Activity:
        """What the next session of the same médiatrice starts with: this one's kind of work
        (type, duration, place, equipment, thématiques, atelier, tags) on `day`, without what
        describes its beneficiaries."""
        return replace(
            self,
            date=day,
            precisions_demarche=None,
            autonomie=None,
            oriented=None,
            redirection=None,
            genres={},
            tranches_age={},
            statuts={},
            beneficiary_commune=None,
        )


# The thématique a médiatrice's first session gets, so that Enter alone starts a session the
# Coop accepts (it requires one); her later sessions start with her previous one's.
DEFAULT_THEMATIQUES = (Thematique.NAVIGATION_SUR_INTERNET,)


def default_activity(kind: TypeActivite, day: date, duration_minutes: int) -> Activity:
    """A médiatrice's first session: at the site, one default thématique, and for an atelier
    the one participant the Coop requires at least."""
    return Activity(
        type=kind,
        date=day,
        duration_minutes=duration_minutes,
        thematiques=DEFAULT_THEMATIQUES,
        participants=1 if kind is TypeActivite.COLLECTIF else None,
    )


# A problem of an activity: the `Activity` field to correct (a form puts the focus there) and
# the French sentence that says why.
Problem = tuple[str, str]


def problems(activity: Activity) -> list[str]:
    """What the Coop's form would refuse in `activity`, as French sentences (empty: valid)."""
    return [message for _, message in field_problems(activity)]


def field_problems(activity: Activity) -> list[Problem]:
    """What the Coop's form would refuse in `activity`, each with the field to correct."""
    found: list[Problem] = []
    if not 1 <= activity.duration_minutes <= MAX_DURATION_MINUTES:
        found.append(("duration_minutes", "La durée doit être comprise entre 1 minute et 23 h 59."))
    if not activity.thematiques:
        found.append(("thematiques", "Choisissez au moins une thématique."))
    for name, attribute, members in (
        ("thématique", "thematiques", activity.thematiques),
        ("matériel", "equipment", activity.equipment),
    ):
        if len(set(members)) != len(members):
            found.append((attribute, f"« {name} » : une même valeur est choisie deux fois."))
    found += _administrative_problems(activity)
    found += _place_problems(activity)
    found += _type_problems(activity)
    found += _count_problems(activity)
    return found


def validate(activity: Activity) -> Activity:
    """`activity` when the Coop would accept it; its problems as one UserError otherwise."""
    found = problems(activity)
    if found:
        raise UserError(" ".join(found))
    return activity


def _administrative_problems(activity: Activity) -> list[Problem]:
    unlocked = Thematique.AIDE_AUX_DEMARCHES_ADMINISTRATIVES in activity.thematiques
    if unlocked:
        return []
    found = []
    administrative = [theme for theme in activity.thematiques if theme.administrative]
    if administrative:
        names = ", ".join(f"« {theme.label} »" for theme in administrative)
        found.append(
            (
                "thematiques",
                f"Les thématiques administratives ({names}) demandent aussi la thématique "
                "« Aide aux démarches administratives ».",
            )
        )
    if activity.precisions_demarche:
        found.append(
            (
                "precisions_demarche",
                "Le nom de la démarche administrative demande la thématique "
                "« Aide aux démarches administratives ».",
            )
        )
    return found


def _place_problems(activity: Activity) -> list[Problem]:
    if activity.place_type in (TypeLieu.DOMICILE, TypeLieu.AUTRE) and not activity.place_commune:
        return [
            ("place_commune", f"Indiquez la commune du lieu (« {activity.place_type.label} »).")
        ]
    return []


def _type_problems(activity: Activity) -> list[Problem]:
    found = []
    if activity.type is TypeActivite.INDIVIDUEL:
        if activity.niveau is not None or activity.title:
            found.append(
                ("niveau", "Le titre et le niveau d'atelier sont réservés aux ateliers collectifs.")
            )
        if activity.participants not in (None, 1):
            found.append(("participants", "Un accompagnement individuel a un seul participant."))
        if activity.redirection is not None and activity.oriented is not True:
            found.append(
                ("redirection", "Une structure de redirection suppose un bénéficiaire réorienté.")
            )
    else:
        if activity.autonomie is not None or activity.oriented is not None:
            found.append(
                (
                    "autonomie",
                    "L'autonomie et la réorientation sont réservées aux accompagnements "
                    "individuels.",
                )
            )
        if activity.redirection is not None:
            found.append(
                (
                    "redirection",
                    "La structure de redirection est réservée aux accompagnements individuels.",
                )
            )
        if not activity.participants or activity.participants < 1:
            found.append(("participants", "Un atelier collectif compte au moins un participant."))
    return found


def _count_problems(activity: Activity) -> list[Problem]:
    found = []
    total = activity.participant_count
    groups = [
        ("genre", "genres", list(activity.genres.values())),
        ("tranche d'âge", "tranches_age", list(activity.tranches_age.values())),
        ("statut social", "statuts", list(activity.statuts.values())),
    ]
    for name, attribute, counts in groups:
        if any(count < 0 for count in counts):
            found.append((attribute, f"Les décomptes par {name} ne peuvent pas être négatifs."))
        elif sum(counts) > total:
            found.append(
                (
                    attribute,
                    f"Les décomptes par {name} ({sum(counts)}) dépassent le nombre de "
                    f"participants ({total}).",
                )
            )
    return found


def tags_of(text: str) -> tuple[str, ...]:
    """Free-text themes as tags: split on commas and semicolons, blanks dropped, each once."""
    parts = (part.strip() for part in re.split(r"[,;]", text))
    return tuple(dict.fromkeys(part for part in parts if part))
