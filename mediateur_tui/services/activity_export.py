"""The site's sessions as La Coop de la médiation numérique exports and serves its activities
(docs/coop-activite.md): XLSX and CSV with the headings of the Coop's own export of a
médiateur's activities, in its order and with its French labels, one row per session (a
session held at the site has the site's postcode and INSEE code, as the Coop gives its
structure's), then three added columns: the site's SIRET or RNA number and the passes taken in
the session; JSON with the attribute names and values of the Coop API's activity resource
(schema/coop-activity-export.schema.json), the passes under `pass_numeriques`, the site's
identity under `meta.structure` when the region gave it."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from mediateur_tui.domain.activity import (
    Activity,
    Commune,
    CoopEnum,
    E,
    Genre,
    StatutSocial,
    TrancheAge,
    TypeActivite,
    TypeLieu,
)
from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.formatting import (
    LOCAL_TZ,
    format_date,
    spreadsheet_euros,
    spreadsheet_text,
)
from mediateur_tui.domain.site_identity import SiteIdentity, identity_fields
from mediateur_tui.protocol.files import private_binary_file, private_text_file
from mediateur_tui.protocol.instants import iso_instant
from mediateur_tui.services.activity import activity_of
from mediateur_tui.store.models import DeskSession, Redemption, Site, stored_id
from mediateur_tui.store.queries import replica_meta

FORMATS = ("xlsx", "csv", "json")
SHEET_TITLE = "Activités"

# The Coop's export of a médiateur's own activities, in its order.
COOP_HEADINGS = (
    "Date",
    "Enregistré le",
    "Dernière modification le",
    "Type",
    "Participants",
    "Bénéficiaire",
    "Canaux d’accompagnement",
    "Nom du lieu",
    "Adresse",
    "Commune",
    "Code postal",
    "Code Insee",
    "Durée (min)",
    "Nom de l’atelier",
    "Matériel numérique utilisé",
    "Thématique(s) d’accompagnement",
    "Tags",
    "Nom de la démarche administrative",
    "Niveau d’autonomie (ou de l’atelier)",
    "Bénéficiaire réorienté",
    "Structure de redirection",
    "Commune du bénéficiaire",
    "Code postal du bénéficiaire",
    "Code Insee du bénéficiaire",
    "Genre du bénéficiaire",
    "Tranche d’âge du bénéficiaire",
    "Statut du bénéficiaire",
    "Notes supplémentaires",
    "ID CRA",
)
ADDED_HEADINGS = (
    "SIRET ou RNA de la structure",
    "Pass numériques encaissés",
    "Montant des pass (€)",
)
HEADINGS = COOP_HEADINGS + ADDED_HEADINGS


@dataclass(frozen=True)
class ExportedSession:
    """A session with what the export says of it."""

    id: str  # the site's id and the session's number: unique in the region
    activity: Activity
    created_at: datetime
    pass_count: int
    pass_cents: int


@dataclass(frozen=True)
class Place:
    """The site itself, for the sessions held there."""

    name: str
    identity: SiteIdentity | None = None


def format_of(path: Path, given: str | None) -> str:
    """The format asked, else the one of the file's extension."""
    name = (given or path.suffix.removeprefix(".")).lower()
    if name not in FORMATS:
        raise UserError(
            f"Format d'export inconnu : « {name or path.name} » (xlsx, csv ou json ; "
            "--format ou l'extension du fichier)."
        )
    return name


def sessions(engine: Engine, period: str | None) -> tuple[Place, list[ExportedSession]]:
    """Every session (of the month `period`, YYYY-MM, by its day), oldest first, with its
    active redemptions."""
    with Session(engine) as session:
        meta = replica_meta(session)
        site_id = meta.site_id if meta else ""
        site = session.get(Site, site_id) if site_id else None
        passes = {
            session_id: (count, cents)
            for session_id, count, cents in session.exec(
                select(Redemption.session_id, func.count(), func.sum(Redemption.value_cents))
                .where(col(Redemption.cancelled_at).is_(None))
                .group_by(col(Redemption.session_id))
            ).all()
        }
        rows = session.exec(
            select(DeskSession).order_by(col(DeskSession.started_at), col(DeskSession.id))
        ).all()
        exported = []
        for row in rows:
            activity = activity_of(row)
            if period and activity.date.isoformat()[:7] != period:
                continue
            number = stored_id(row.id)
            count, cents = passes.get(number, (0, 0))
            exported.append(
                ExportedSession(
                    id=f"{site_id}-{number}" if site_id else str(number),
                    activity=activity,
                    created_at=row.started_at,
                    pass_count=count,
                    pass_cents=cents or 0,
                )
            )
        place = Place(site.name, site.identity()) if site else Place("")
        return place, exported


def write(path: Path, kind: str, place: Place, exported: list[ExportedSession]) -> Path:
    """Writes the export (0600, whole or not at all)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "xlsx":
            _write_xlsx(path, place, exported)
        elif kind == "csv":
            _write_csv(path, place, exported)
        else:
            document = json_document(exported, place)
            with private_text_file(path) as stream:
                json.dump(document, stream, ensure_ascii=False, indent=2)
    except OSError as error:
        raise UserError(f"Export impossible vers {path} : {error.strerror or error}.") from error
    return path


# --- the rows of the XLSX and the CSV ---------------------------------------------------


def row_of(place: Place, exported: ExportedSession) -> list[Any]:
    """The cells of one session under HEADINGS: texts, numbers, the day as a date."""
    activity = exported.activity
    at_site = activity.place_type is TypeLieu.LIEU_ACTIVITE
    commune = None if at_site else activity.place_commune
    if at_site and place.identity:
        commune = Commune(place.identity.code_postal, place.identity.code_insee)
    beneficiary = activity.beneficiary_commune
    total = activity.participant_count
    cells = [
        activity.date,
        _registered(exported.created_at),
        "",
        activity.type.label,
        total,
        "Bénéficiaire anonyme" if total <= 1 else "Bénéficiaires anonymes",
        activity.place_type.label,
        place.name if at_site else "",
        "",
        commune.nom if commune else "",
        commune.code_postal if commune else "",
        commune.code_insee if commune else "",
        activity.duration_minutes,
        activity.title or "" if activity.type is TypeActivite.COLLECTIF else "",
        _lines(member.label for member in activity.equipment),
        _lines(member.label for member in activity.thematiques),
        _lines(activity.tags),
        activity.precisions_demarche or "",
        _stars(activity),
        "" if activity.oriented is None else ("Oui" if activity.oriented else "Non"),
        activity.redirection.label if activity.redirection else "",
        beneficiary.nom if beneficiary else "",
        beneficiary.code_postal if beneficiary else "",
        beneficiary.code_insee if beneficiary else "",
        _breakdown(Genre, activity.genres, total),
        _breakdown(TrancheAge, activity.tranches_age, total),
        _breakdown(StatutSocial, activity.statuts, total),
        "",
        exported.id,
        place.identity.pivot if place.identity else "",
        exported.pass_count,
        exported.pass_cents,
    ]
    return [spreadsheet_text(cell) for cell in cells]


def _registered(moment: datetime) -> str:
    return f"{moment.astimezone(LOCAL_TZ):%d/%m/%Y à %H:%M}"


def _lines(texts: Any) -> str:
    return "\n".join(texts)


def _stars(activity: Activity) -> str:
    rated = activity.autonomie or activity.niveau
    return f"{rated.stars}/3" if rated else ""


def _breakdown(enum: type[E], counts: Mapping[E, int], total: int) -> str:
    """One label when everybody is counted the same (an individuel), else `label : n` per
    line; those not counted are « non communiqué »."""
    full = _full_counts(enum, counts, total)
    present = [(member, count) for member, count in full.items() if count]
    if len(present) == 1:
        return present[0][0].label
    return "\n".join(f"{member.label} : {count}" for member, count in present)


def _full_counts(enum: type[E], counts: Mapping[E, int], total: int) -> dict[E, int]:
    """Every value of `enum` with its count, the participants not counted as NON_COMMUNIQUE."""
    full = {member: counts.get(member, 0) for member in enum}
    unknown = enum("non_communique")
    full[unknown] += max(total - sum(counts.values()), 0)
    return full


def _write_xlsx(path: Path, place: Place, exported: list[ExportedSession]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment

    book = Workbook()
    sheet = book.active
    sheet.title = SHEET_TITLE
    sheet.append(list(HEADINGS))
    wrapped = Alignment(wrap_text=True, vertical="top")
    for exported_session in exported:
        cells = row_of(place, exported_session)
        cells[-1] = exported_session.pass_cents / 100
        sheet.append(cells)
        sheet.cell(row=sheet.max_row, column=1).number_format = "dd/mm/yyyy"
        sheet.cell(row=sheet.max_row, column=len(HEADINGS)).number_format = "#,##0.00"
        for cell in sheet[sheet.max_row]:
            cell.alignment = wrapped
    with private_binary_file(path) as stream:
        book.save(stream)


def _write_csv(path: Path, place: Place, exported: list[ExportedSession]) -> None:
    """`;` separated, UTF-8 with BOM, days JJ/MM/AAAA, € with a decimal comma, as the
    history's CSV (services/history.py)."""
    with private_text_file(path, encoding="utf-8-sig") as stream:
        writer = csv.writer(stream, delimiter=";")
        writer.writerow(HEADINGS)
        for exported_session in exported:
            cells = row_of(place, exported_session)
            cells[0] = format_date(exported_session.activity.date)
            cells[-1] = spreadsheet_euros(exported_session.pass_cents)
            writer.writerow(cells)


# --- the JSON of the Coop API's activity resource ---------------------------------------


def json_document(exported: list[ExportedSession], place: Place | None = None) -> dict[str, Any]:
    """`{"data": [activity resources], "meta": {"total_count": n}}`, as the Coop API lists
    activities; `meta.structure`, the site's name and identity, when the region gave it."""
    meta: dict[str, Any] = {"total_count": len(exported)}
    if place is not None and place.identity is not None:
        meta["structure"] = {"nom": place.name, **identity_fields(place.identity)}
    return {"data": [_resource(item) for item in exported], "meta": meta}


def _resource(exported: ExportedSession) -> dict[str, Any]:
    activity = exported.activity
    place = activity.place_commune if activity.place_type is not TypeLieu.LIEU_ACTIVITE else None
    individuel = activity.type is TypeActivite.INDIVIDUEL
    total = activity.participant_count
    created = iso_instant(exported.created_at)
    return {
        "type": "activite",
        "id": exported.id,
        "attributes": {
            "type": activity.type.value,
            "accompagnements": total,
            "date": activity.date.isoformat(),
            "duree": activity.duration_minutes,
            "type_lieu": activity.place_type.value,
            "lieu_code_postal": _part(place, "code_postal"),
            "lieu_commune": _part(place, "nom"),
            "lieu_code_insee": _part(place, "code_insee"),
            "creation": created,
            "modification": created,
            "suppression": None,
            "autonomie": _value(activity.autonomie),
            "oriente_vers_structure": activity.oriented if individuel else None,
            "structure_de_redirection": _value(activity.redirection),
            "materiel": [member.value for member in activity.equipment],
            "thematiques": [member.value for member in activity.thematiques],
            "tags": list(activity.tags),
            "precisions_demarche": activity.precisions_demarche or None,
            "titre_atelier": None if individuel else activity.title,
            "niveau_atelier": _value(activity.niveau),
            "beneficiaires": {
                "total": total,
                "genres": _json_counts(Genre, activity.genres, total),
                "tranches_age": _json_counts(TrancheAge, activity.tranches_age, total),
                "statuts": _json_counts(StatutSocial, activity.statuts, total),
            },
        },
        "pass_numeriques": {"count": exported.pass_count, "value_cents": exported.pass_cents},
    }


def _part(commune: Commune | None, name: str) -> str | None:
    value = getattr(commune, name) if commune else ""
    return value or None


def _value(member: CoopEnum | None) -> str | None:
    return None if member is None else member.value


def _json_counts(enum: type[E], counts: Mapping[E, int], total: int) -> dict[str, int]:
    return {member.value: count for member, count in _full_counts(enum, counts, total).items()}


class ActivityExport:
    """The activity export of one site's database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def export(self, path: Path, period: str | None, kind: str | None = None) -> int:
        """Writes the sessions (of the month `period`, YYYY-MM) to `path` in `kind` (xlsx,
        csv, json; default: the file's extension); the number of sessions written."""
        chosen = format_of(path, kind)
        place, exported = sessions(self._engine, period)
        write(path, chosen, place, exported)
        return len(exported)
