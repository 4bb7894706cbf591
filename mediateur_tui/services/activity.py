"""A session's activity (domain/activity.py) as the session's row stores it, and the defaults
of a médiatrice's next session."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from mediateur_tui.domain.activity import (
    Activity,
    Autonomie,
    Commune,
    CoopEnum,
    E,
    Genre,
    Materiel,
    NiveauAtelier,
    StatutSocial,
    StructureDeRedirection,
    Thematique,
    TrancheAge,
    TypeActivite,
    TypeLieu,
    default_activity,
)
from mediateur_tui.domain.formatting import local_date
from mediateur_tui.store.models import DeskSession

# The columns of desk_session that hold the activity (migration 0010), copied as they are by
# a merge of two copies of the site (services/merge.py).
ACTIVITY_COLUMNS = (
    "activity_date",
    "place_type",
    "place_code_postal",
    "place_code_insee",
    "place_commune",
    "equipment",
    "thematiques",
    "precisions_demarche",
    "autonomie",
    "oriented",
    "redirection",
    "niveau",
    "participants",
    "genres",
    "tranches_age",
    "statuts",
    "beneficiary_code_postal",
    "beneficiary_code_insee",
    "beneficiary_commune",
    "tags",
)


def activity_columns(activity: Activity) -> dict[str, Any]:
    """The row's values of `activity` (database values of the enums, JSON for lists)."""
    place = activity.place_commune
    beneficiary = activity.beneficiary_commune
    return {
        "activity_date": activity.date,
        "place_type": activity.place_type.value,
        "place_code_postal": place.code_postal if place else None,
        "place_code_insee": place.code_insee if place else None,
        "place_commune": place.nom or None if place else None,
        "equipment": _json_list(activity.equipment),
        "thematiques": _json_list(activity.thematiques),
        "precisions_demarche": activity.precisions_demarche or None,
        "autonomie": _value(activity.autonomie),
        "oriented": activity.oriented,
        "redirection": _value(activity.redirection),
        "niveau": _value(activity.niveau),
        "participants": activity.participants,
        "genres": _json_counts(activity.genres),
        "tranches_age": _json_counts(activity.tranches_age),
        "statuts": _json_counts(activity.statuts),
        "beneficiary_code_postal": beneficiary.code_postal if beneficiary else None,
        "beneficiary_code_insee": beneficiary.code_insee if beneficiary else None,
        "beneficiary_commune": beneficiary.nom or None if beneficiary else None,
        "tags": json.dumps(list(activity.tags), ensure_ascii=False),
    }


def activity_of(row: DeskSession) -> Activity:
    """The activity a session's row holds; a column left NULL (a journal line written before
    migration 0010) reads as the default."""
    kind = TypeActivite(row.kind)
    return Activity(
        type=kind,
        date=row.activity_date or local_date(row.started_at),
        duration_minutes=row.duration_minutes,
        place_type=TypeLieu(row.place_type or TypeLieu.LIEU_ACTIVITE.value),
        place_commune=_commune(row.place_code_postal, row.place_code_insee, row.place_commune),
        equipment=_members(Materiel, row.equipment),
        thematiques=_members(Thematique, row.thematiques),
        precisions_demarche=row.precisions_demarche,
        autonomie=Autonomie(row.autonomie) if row.autonomie else None,
        oriented=row.oriented,
        redirection=StructureDeRedirection(row.redirection) if row.redirection else None,
        title=row.title if kind is TypeActivite.COLLECTIF else None,
        niveau=NiveauAtelier(row.niveau) if row.niveau else None,
        participants=row.participants,
        genres=_counts(Genre, row.genres),
        tranches_age=_counts(TrancheAge, row.tranches_age),
        statuts=_counts(StatutSocial, row.statuts),
        beneficiary_commune=_commune(
            row.beneficiary_code_postal, row.beneficiary_code_insee, row.beneficiary_commune
        ),
        tags=tuple(json.loads(row.tags)) if row.tags else (),
    )


def last_activity(engine: Engine, operator_id: int) -> Activity | None:
    """The activity of the operator's latest session, if she has one."""
    with Session(engine) as session:
        row = session.exec(
            select(DeskSession)
            .where(DeskSession.operator_id == operator_id)
            .order_by(col(DeskSession.started_at).desc(), col(DeskSession.id).desc())
        ).first()
        return activity_of(row) if row else None


def defaults_for(
    engine: Engine, operator_id: int, kind: TypeActivite, day: date, duration_minutes: int
) -> Activity:
    """What the operator's next session starts with: her previous session's kind of work
    (Activity.as_defaults) as `kind`, else the first session's defaults."""
    previous = last_activity(engine, operator_id)
    if previous is None:
        return default_activity(kind, day, duration_minutes)
    return previous.as_defaults(day).with_type(kind)


def _value(member: CoopEnum | None) -> str | None:
    return None if member is None else member.value


def _json_list(members: tuple[CoopEnum, ...]) -> str:
    return json.dumps([member.value for member in members])


def _json_counts(counts: Mapping[E, int]) -> str:
    return json.dumps({member.value: count for member, count in counts.items() if count})


def _members(enum: type[E], text: str | None) -> tuple[E, ...]:
    return tuple(enum(value) for value in json.loads(text)) if text else ()


def _counts(enum: type[E], text: str | None) -> dict[E, int]:
    return {enum(value): int(count) for value, count in json.loads(text).items()} if text else {}


def _commune(postcode: str | None, insee: str | None, name: str | None) -> Commune | None:
    if not postcode and not insee:
        return None
    return Commune(postcode or "", insee or "", name or "")
