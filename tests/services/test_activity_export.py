"""The activity export (services/activity_export.py): XLSX and CSV with the Coop's headings
and labels, JSON valid against schema/coop-activity-export.schema.json; the defaults of the
next session (services/activity.py)."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from contract import validate
from openpyxl import load_workbook

from mediateur_tui.domain.activity import (
    Activity,
    Autonomie,
    Commune,
    Genre,
    Materiel,
    NiveauAtelier,
    StatutSocial,
    StructureDeRedirection,
    Thematique,
    TrancheAge,
    TypeActivite,
    TypeLieu,
)
from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.services.activity_export import ActivityExport, row_of, sessions
from mediateur_tui.services.auth import list_operators
from mediateur_tui.services.desk import Desk, DeskError

# The columns of the Coop's export of a médiateur's own activities, in its order (27 of every
# export, « Bénéficiaire » and « Notes supplémentaires » of a self export), then ours: the
# site's SIRET or RNA (the Coop has no column for it) and the passes.
EXPECTED_HEADINGS = [
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
    "SIRET ou RNA de la structure",
    "Pass numériques encaissés",
    "Montant des pass (€)",
]
JUNE = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
DAY = date(2026, 6, 15)


def atelier() -> Activity:
    return Activity(
        type=TypeActivite.COLLECTIF,
        date=DAY,
        duration_minutes=90,
        equipment=(Materiel.ORDINATEUR, Materiel.TABLETTE),
        thematiques=(Thematique.EMAIL, Thematique.NAVIGATION_SUR_INTERNET),
        title="Atelier e-mail",
        niveau=NiveauAtelier.DEBUTANT,
        participants=6,
        genres={Genre.FEMININ: 3, Genre.MASCULIN: 2},
        tranches_age={TrancheAge.SOIXANTE_DIX_PLUS: 4},
        statuts={StatutSocial.RETRAITE: 4},
        tags=("seniors",),
    )


def accompagnement() -> Activity:
    return Activity(
        type=TypeActivite.INDIVIDUEL,
        date=DAY,
        duration_minutes=45,
        place_type=TypeLieu.DOMICILE,
        place_commune=Commune("59440", "59036", "Avesnes-sur-Helpe"),
        equipment=(Materiel.TELEPHONE,),
        thematiques=(Thematique.AIDE_AUX_DEMARCHES_ADMINISTRATIVES, Thematique.SOCIAL_SANTE),
        precisions_demarche="Dossier CAF",
        autonomie=Autonomie.PARTIELLEMENT_AUTONOME,
        oriented=True,
        redirection=StructureDeRedirection.AIDE_SOCIALE,
        genres={Genre.FEMININ: 1},
        beneficiary_commune=Commune("59440", "59036", "Avesnes-sur-Helpe"),
    )


@pytest.fixture
def june(demo_db):
    """Two sessions of June with passes taken: the atelier 2 (one cancelled), the other 1."""
    desk = Desk(demo_db.engine, clock=fixed_clock(JUNE))
    operator = demo_db.operator.id
    codes = demo_db.demo.codes["valid"]
    first = desk.start_activity(operator, "ignoré", atelier())
    for code in codes[:3]:
        assert desk.redeem(first.id, operator, code).redeemable
    desk.cancel(desk.last_active_redemption(first.id).id, operator, "erreur")
    second = desk.start_activity(operator, "Démarche CAF", accompagnement())
    assert desk.redeem(second.id, operator, codes[3]).redeemable
    return demo_db


def test_xlsx_has_the_coops_headings_and_one_row_per_session(june, tmp_path):
    path = tmp_path / "activite.xlsx"
    assert ActivityExport(june.engine).export(path, "2026-06") == 2
    sheet = load_workbook(path)["Activités"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == EXPECTED_HEADINGS
    cells = [dict(zip(EXPECTED_HEADINGS, row, strict=True)) for row in rows[1:]]
    assert len(cells) == 2
    first, second = cells
    assert first["Date"] == datetime(2026, 6, 15)
    assert sheet.cell(row=2, column=1).number_format == "dd/mm/yyyy"
    assert first["Enregistré le"] == "15/06/2026 à 14:00"  # Paris time
    assert first["Type"] == "Atelier collectif"
    assert first["Participants"] == 6
    assert first["Nom de l’atelier"] == "Atelier e-mail"
    assert first["Matériel numérique utilisé"] == "Ordinateur\nTablette"
    assert first["Thématique(s) d’accompagnement"] == "E-mail\nNavigation sur internet"
    assert first["Niveau d’autonomie (ou de l’atelier)"] == "1/3"
    assert first["Genre du bénéficiaire"] == "Masculin : 2\nFéminin : 3\nNon communiqué : 1"
    assert first["Pass numériques encaissés"] == 2
    assert first["Montant des pass (€)"] == 20
    # Held at the site: the Coop gives the structure's commune, here the demo site's codes.
    assert first["Nom du lieu"] == "Espace public numérique d'Avesnes-sur-Helpe"
    assert (first["Code postal"], first["Code Insee"]) == ("59440", "59036")
    assert first["SIRET ou RNA de la structure"] == second["SIRET ou RNA de la structure"]
    assert first["SIRET ou RNA de la structure"] == "12345678200010"
    assert second["Canaux d’accompagnement"] == "À domicile"
    assert (second["Commune"], second["Code postal"], second["Code Insee"]) == (
        "Avesnes-sur-Helpe",
        "59440",
        "59036",
    )
    assert second["Niveau d’autonomie (ou de l’atelier)"] == "2/3"
    assert second["Bénéficiaire réorienté"] == "Oui"
    assert second["Genre du bénéficiaire"] == "Féminin"
    assert second["Statut du bénéficiaire"] == "Non communiqué ou hétérogène"
    assert second["Nom de la démarche administrative"] == "Dossier CAF"
    assert second["Montant des pass (€)"] == 10


def test_csv_reads_back_with_the_history_conventions(june, tmp_path):
    path = tmp_path / "activite.csv"
    ActivityExport(june.engine).export(path, "2026-06")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.reader(stream, delimiter=";"))
    assert rows[0] == EXPECTED_HEADINGS
    first = dict(zip(EXPECTED_HEADINGS, rows[1], strict=True))
    assert first["Date"] == "15/06/2026"
    assert first["Montant des pass (€)"] == "20,00"
    assert first["Thématique(s) d’accompagnement"] == "E-mail\nNavigation sur internet"
    assert len(rows) == 3


def test_json_is_the_coop_apis_activity_resource(june, tmp_path):
    path = tmp_path / "activite.json"
    ActivityExport(june.engine).export(path, "2026-06")
    document = json.loads(path.read_text(encoding="utf-8"))
    validate(document, "coop-activity-export")
    first, second = document["data"]
    attributes = first["attributes"]
    assert attributes["type"] == "collectif"
    assert attributes["duree"] == 90
    assert attributes["thematiques"] == ["email", "navigation_sur_internet"]
    assert attributes["niveau_atelier"] == "debutant"
    assert attributes["beneficiaires"]["total"] == 6
    assert attributes["beneficiaires"]["genres"] == {
        "masculin": 2,
        "feminin": 3,
        "non_communique": 1,
    }
    assert attributes["suppression"] is None
    assert first["pass_numeriques"] == {"count": 2, "value_cents": 2000}
    assert second["attributes"]["structure_de_redirection"] == "aide_sociale"
    assert second["attributes"]["lieu_code_insee"] == "59036"
    assert document["meta"] == {
        "total_count": 2,
        "structure": {
            "nom": "Espace public numérique d'Avesnes-sur-Helpe",
            "pivot": "12345678200010",
            "code_insee": "59036",
            "code_postal": "59440",
        },
    }
    assert first["attributes"]["lieu_code_insee"] is None  # the Coop API: its structure_id


def test_a_site_without_identity_exports_none(june, tmp_path):
    """A site the region gave no identity (an old hub): empty cells, no meta.structure."""
    with june.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE site SET pivot = NULL, code_insee = NULL")
    place, exported = sessions(june.engine, "2026-06")
    assert place.identity is None
    row = dict(zip(EXPECTED_HEADINGS, row_of(place, exported[0]), strict=True))
    assert row["SIRET ou RNA de la structure"] == row["Code Insee"] == row["Code postal"] == ""
    path = tmp_path / "activite.json"
    ActivityExport(june.engine).export(path, "2026-06")
    document = json.loads(path.read_text(encoding="utf-8"))
    validate(document, "coop-activity-export")
    assert document["meta"] == {"total_count": 2}


def test_another_month_exports_none_of_them(june, tmp_path):
    assert ActivityExport(june.engine).export(tmp_path / "mai.json", "2026-05") == 0


@pytest.mark.parametrize("kind", ["pdf", "txt"])
def test_an_unknown_format_is_refused_in_french(june, tmp_path, kind):
    with pytest.raises(Exception, match="Format d'export inconnu"):
        ActivityExport(june.engine).export(tmp_path / f"a.{kind}", None)


ENUM_FIELDS = [
    ("place_type", TypeLieu, "Canaux d’accompagnement"),
    ("equipment", Materiel, "Matériel numérique utilisé"),
    ("thematiques", Thematique, "Thématique(s) d’accompagnement"),
    ("autonomie", Autonomie, "Niveau d’autonomie (ou de l’atelier)"),
    ("redirection", StructureDeRedirection, "Structure de redirection"),
    ("genres", Genre, "Genre du bénéficiaire"),
    ("tranches_age", TrancheAge, "Tranche d’âge du bénéficiaire"),
    ("statuts", StatutSocial, "Statut du bénéficiaire"),
]
CASES = [(name, member, heading) for name, enum, heading in ENUM_FIELDS for member in enum]


@pytest.mark.parametrize(("name", "member", "heading"), CASES)
def test_every_enum_value_is_exported_with_its_label(demo_db, tmp_path, name, member, heading):
    """Each value stored in a session comes out of the XLSX as its label (stars for the
    autonomy) and out of the JSON as its database value."""
    base = replace(accompagnement(), place_type=TypeLieu.LIEU_ACTIVITE, place_commune=None)
    value = {
        "place_type": member,
        "equipment": (member,),
        "thematiques": tuple(
            dict.fromkeys((Thematique.AIDE_AUX_DEMARCHES_ADMINISTRATIVES, member))
        ),
        "autonomie": member,
        "redirection": member,
        "genres": {member: 1},
        "tranches_age": {member: 1},
        "statuts": {member: 1},
    }[name]
    activity = replace(base, **{name: value})
    if name == "place_type" and member in (TypeLieu.DOMICILE, TypeLieu.AUTRE):
        activity = replace(activity, place_commune=Commune("59440", "59036"))
    desk = Desk(demo_db.engine, clock=fixed_clock(JUNE))
    desk.start_activity(demo_db.operator.id, "Séance", activity)
    place, [exported] = sessions(demo_db.engine, "2026-06")
    cell = row_of(place, exported)[EXPECTED_HEADINGS.index(heading)]
    expected = f"{member.stars}/3" if name == "autonomie" else member.label
    assert expected in cell.split("\n")
    path = tmp_path / "a.json"
    ActivityExport(demo_db.engine).export(path, "2026-06")
    document = json.loads(path.read_text(encoding="utf-8"))
    validate(document, "coop-activity-export")
    assert member.value in json.dumps(document["data"][0]["attributes"])


def test_niveau_and_type_labels_are_exported(demo_db):
    desk = Desk(demo_db.engine, clock=fixed_clock(JUNE))
    for niveau in NiveauAtelier:
        desk.start_activity(demo_db.operator.id, "A", replace(atelier(), niveau=niveau))
    desk.start_activity(demo_db.operator.id, "B", accompagnement())
    place, exported = sessions(demo_db.engine, "2026-06")
    rows = [row_of(place, item) for item in exported]
    stars = EXPECTED_HEADINGS.index("Niveau d’autonomie (ou de l’atelier)")
    assert [row[stars] for row in rows[:3]] == ["1/3", "2/3", "3/3"]
    assert [row[3] for row in rows] == [*["Atelier collectif"] * 3, "Accompagnement individuel"]


# --- sessions and their defaults ----------------------------------------------------------


def test_the_next_session_starts_with_the_previous_ones_kind_of_work(demo_db):
    desk = Desk(demo_db.engine, clock=fixed_clock(JUNE))
    operator = demo_db.operator.id
    desk.start_activity(operator, "Atelier", atelier())
    # The screen's and the demo's call: Enter alone, as they always made it.
    info = desk.start_session(operator, "Suite", "collectif", "", 90)
    assert info.activity.thematiques == atelier().thematiques
    assert info.activity.equipment == atelier().equipment
    assert info.activity.niveau is NiveauAtelier.DEBUTANT
    assert info.activity.participants == 6
    assert dict(info.activity.genres) == {}  # the beneficiaries are not carried over
    alone = desk.start_session(operator, "Seule", "individuel", "courriel, CAF", 30)
    assert alone.activity.type is TypeActivite.INDIVIDUEL
    assert alone.activity.participants is None and alone.activity.niveau is None
    assert alone.activity.tags == ("courriel", "CAF")
    assert desk.last_activity(operator) == alone.activity


def test_a_first_session_with_enter_alone_is_valid_for_the_coop(demo_db):
    # An operator with no session yet: the demo's responsable.
    desk = Desk(demo_db.engine, clock=fixed_clock(JUNE))
    responsable = next(op for op in list_operators(demo_db.engine) if op.role == "responsable")
    assert desk.last_activity(responsable.id) is None
    info = desk.start_session(responsable.id, "Séance", "collectif", "", 60)
    assert info.activity.thematiques == (Thematique.NAVIGATION_SUR_INTERNET,)
    assert info.activity.participants == 1


def test_an_activity_the_coop_refuses_is_not_started(demo_db):
    desk = Desk(demo_db.engine, clock=fixed_clock(JUNE))
    with pytest.raises(DeskError, match="au moins une thématique"):
        desk.start_activity(demo_db.operator.id, "x", replace(atelier(), thematiques=()))
    assert sessions(demo_db.engine, "2026-06")[1] == []


def test_a_typed_text_like_a_formula_is_shown_never_run(demo_db, tmp_path):
    desk = Desk(demo_db.engine, clock=fixed_clock(JUNE))
    formula = '=HYPERLINK("http://exemple.invalid","clic")'
    desk.start_activity(
        demo_db.operator.id, "ignoré", replace(atelier(), title=formula, tags=("@SUM(A1)",))
    )
    export = ActivityExport(demo_db.engine)
    export.export(tmp_path / "activite.xlsx", "2026-06")
    sheet = load_workbook(tmp_path / "activite.xlsx")["Activités"]
    cells = next(sheet.iter_rows(min_row=2, values_only=True))
    row = dict(zip(EXPECTED_HEADINGS, cells, strict=True))
    assert row["Nom de l’atelier"] == "'" + formula  # text, not a formula openpyxl stores
    assert row["Tags"] == "'@SUM(A1)"
    assert row["Durée (min)"] == 90  # numbers are left as numbers
    export.export(tmp_path / "activite.csv", "2026-06")
    with (tmp_path / "activite.csv").open(encoding="utf-8-sig", newline="") as handle:
        [line] = list(csv.DictReader(handle, delimiter=";"))
    assert line["Nom de l’atelier"] == "'" + formula


def test_the_form_starts_with_the_previous_sessions_type_too(demo_db):
    desk = Desk(demo_db.engine, clock=fixed_clock(JUNE))
    responsable = next(op for op in list_operators(demo_db.engine) if op.role == "responsable")
    first = desk.next_session_defaults(responsable.id)
    assert (first.type, first.duration_minutes) == (TypeActivite.INDIVIDUEL, 60)
    desk.start_activity(responsable.id, "Atelier", atelier())
    following = desk.next_session_defaults(responsable.id)
    assert following.type is TypeActivite.COLLECTIF
    assert (following.title, following.participants) == (atelier().title, 6)
    assert dict(following.genres) == {}


def test_the_activity_of_a_session_under_way_is_corrected_not_once_it_ended(demo_db):
    desk = Desk(demo_db.engine, clock=fixed_clock(JUNE))
    info = desk.start_activity(demo_db.operator.id, "Séance", accompagnement())
    corrected = desk.correct_activity(
        info.id, demo_db.operator.id, "Séance", atelier()
    )  # an atelier's own title
    assert (corrected.id, corrected.kind, corrected.title) == (
        info.id,
        "collectif",
        "Atelier e-mail",
    )
    assert corrected.activity.participants == 6
    assert desk.open_session(demo_db.operator.id) == corrected
    with pytest.raises(DeskError, match="au moins une thématique"):
        desk.correct_activity(info.id, demo_db.operator.id, "x", replace(atelier(), thematiques=()))
    desk.end_session(info.id)
    with pytest.raises(DeskError, match="terminée"):
        desk.correct_activity(info.id, demo_db.operator.id, "x", atelier())
    assert desk.last_activity(demo_db.operator.id) == corrected.activity
