"""A session's activity summary as the protocol carries it: the optional `activity` of a
session in pn-batch/1 and pn-declaration/1 (schema/batch.schema.json $defs/activity).

The summary completes the session's own `kind` and `duration_minutes` (the Coop's type and
duration) with what the region counts: the activity's day, its place type, its thématiques,
its participants and, if the médiatrice gave them, the Coop's anonymous counts. Nothing in it
names anyone. A session without `activity` comes from a site older than the summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeGuard

from mediateur_tui.domain.activity import (
    ENUM_NAMES,
    Activity,
    E,
    Genre,
    StatutSocial,
    Thematique,
    TrancheAge,
    TypeActivite,
    TypeLieu,
)
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.ids import DAY, matches

SHOWN = 40  # characters of an unknown value a message repeats
_FIELDS = {"date", "place", "thematiques", "participants", "genres", "tranches_age", "statuts"}


@dataclass(frozen=True)
class ActivitySummary:
    """What a document says of a session's activity (module docstring)."""

    date: date
    place_type: TypeLieu
    thematiques: tuple[Thematique, ...]
    participants: int
    genres: Mapping[Genre, int] = field(default_factory=dict)
    tranches_age: Mapping[TrancheAge, int] = field(default_factory=dict)
    statuts: Mapping[StatutSocial, int] = field(default_factory=dict)

    @classmethod
    def of(cls, activity: Activity) -> ActivitySummary:
        return cls(
            date=activity.date,
            place_type=activity.place_type,
            thematiques=activity.thematiques,
            participants=activity.participant_count,
            genres=_nonzero(activity.genres),
            tranches_age=_nonzero(activity.tranches_age),
            statuts=_nonzero(activity.statuts),
        )

    def document(self) -> dict[str, Any]:
        """The summary on the wire: the counts only when there are some."""
        document: dict[str, Any] = {
            "date": self.date.isoformat(),
            "place": self.place_type.value,
            "thematiques": [theme.value for theme in self.thematiques],
            "participants": self.participants,
        }
        for name, counts in (
            ("genres", self.genres),
            ("tranches_age", self.tranches_age),
            ("statuts", self.statuts),
        ):
            if counts:
                document[name] = {member.value: count for member, count in counts.items()}
        return document

    def activity(
        self, kind: TypeActivite, duration_minutes: int, tags: tuple[str, ...]
    ) -> Activity:
        """The activity a site takes back from the summary (a recovery), with the session's
        type, duration and free-text tags; what the summary does not carry keeps its default."""
        collectif = kind is TypeActivite.COLLECTIF
        return Activity(
            type=kind,
            date=self.date,
            duration_minutes=duration_minutes,
            place_type=self.place_type,
            thematiques=self.thematiques,
            participants=(self.participants or None) if collectif else None,
            genres=dict(self.genres),
            tranches_age=dict(self.tranches_age),
            statuts=dict(self.statuts),
            tags=tags,
        )


def parse_summary(value: object, where: str) -> ActivitySummary:
    """The summary `value` holds, or ProtocolError in French (`where`: « Séance n° 2 de la
    remise »). Checks the shape and the values (real dates, known Coop values, counts that
    are whole numbers), not the Coop's form rules: a sealed batch never changes, so the hub takes
    whatever activity the site recorded."""
    if not isinstance(value, dict):
        raise ProtocolError(f"{where} : activité illisible (un objet est attendu).")
    unknown = sorted(set(value) - _FIELDS)
    if unknown:
        raise ProtocolError(f"{where} : champ d'activité inconnu « {_shown(unknown[0])} ».")
    day = value.get("date")
    if not matches(DAY, day):
        raise ProtocolError(f"{where} : date d'activité invalide (AAAA-MM-JJ attendu).")
    try:
        parsed_day = date.fromisoformat(str(day))
    except ValueError:
        raise ProtocolError(f"{where} : date d'activité invalide (AAAA-MM-JJ attendu).") from None
    participants = value.get("participants")
    if not _is_count(participants):
        raise ProtocolError(f"{where} : nombre de participants invalide (un entier, 0 ou plus).")
    themes = value.get("thematiques")
    if not isinstance(themes, list):
        raise ProtocolError(f"{where} : liste des thématiques absente.")
    thematiques = tuple(_member(Thematique, item, where) for item in themes)
    if len(set(thematiques)) != len(thematiques):
        raise ProtocolError(f"{where} : une même thématique est donnée deux fois.")
    return ActivitySummary(
        date=parsed_day,
        place_type=_member(TypeLieu, value.get("place"), where),
        thematiques=thematiques,
        participants=participants,
        genres=_counts(Genre, value, "genres", where),
        tranches_age=_counts(TrancheAge, value, "tranches_age", where),
        statuts=_counts(StatutSocial, value, "statuts", where),
    )


def _member(enum: type[E], value: object, where: str) -> E:
    if isinstance(value, str) and value in enum._value2member_map_:
        return enum(value)
    raise ProtocolError(f"{where} : valeur inconnue pour {ENUM_NAMES[enum]} : « {_shown(value)} ».")


def _counts(enum: type[E], value: dict[str, Any], name: str, where: str) -> dict[E, int]:
    if name not in value:
        return {}
    counts = value[name]
    if not isinstance(counts, dict):
        raise ProtocolError(f"{where} : décomptes « {name} » illisibles.")
    found: dict[E, int] = {}
    for key, count in counts.items():
        if not _is_count(count) or count < 1:
            raise ProtocolError(f"{where} : décompte « {name} » invalide pour « {_shown(key)} ».")
        found[_member(enum, key, where)] = count
    return found


def _shown(value: object) -> str:
    """Outside input in a message: at most SHOWN characters of it."""
    text = str(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def _is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _nonzero(counts: Mapping[E, int]) -> dict[E, int]:
    return {member: count for member, count in counts.items() if count}
