"""The activity of a paper log (`redeem … --session-type collectif --duration 90 --themes …`)
and `mediateur-tui activity export`."""

from __future__ import annotations

import csv
import json
import sqlite3

import pytest
from openpyxl import load_workbook

from mediateur_tui.cli import main
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME

from .conftest import DEMO_OPERATOR, DEMO_PIN, run_cli

ATELIER = [
    "--session-type",
    "collectif",
    "--duration",
    "90",
    "--themes",
    "email,navigation_sur_internet",
    "--participants",
    "6",
    "--title",
    "Atelier e-mail",
    "--level",
    "debutant",
    "--equipment",
    "ordinateur,tablette",
    "--genres",
    "feminin=3,masculin=2",
    "--age-bands",
    "soixante_dix_plus=4",
    "--statuses",
    "retraite=4",
    "--date",
    "27/11/2026",
    "--tags",
    "seniors",
]


def session_rows(data_dir) -> list[tuple]:
    with sqlite3.connect(data_dir / DATABASE_FILENAME) as db:
        return db.execute(
            "SELECT kind, title, duration_minutes, thematiques, participants, niveau, "
            "equipment, genres, tranches_age, statuts, activity_date, tags, autonomie, "
            "redirection, oriented, place_type, place_code_insee FROM desk_session ORDER BY id"
        ).fetchall()


def redeem(data_dir, codes, options) -> int:
    args = ["redeem", *codes, "--operator", DEMO_OPERATOR, "--data-dir", str(data_dir)]
    return main([*args, *options])


def test_a_paper_log_atelier_is_recorded_in_the_coops_vocabulary(demo_dir, monkeypatch, capsys):
    monkeypatch.setenv("MEDIATEUR_PIN", DEMO_PIN)
    assert redeem(demo_dir.path, demo_dir.codes["valid"][:2], ATELIER) == 0
    [row] = session_rows(demo_dir.path)
    assert row[:11] == (
        "collectif",
        "Atelier e-mail",
        90,
        '["email", "navigation_sur_internet"]',
        6,
        "debutant",
        '["ordinateur", "tablette"]',
        '{"feminin": 3, "masculin": 2}',
        '{"soixante_dix_plus": 4}',
        '{"retraite": 4}',
        "2026-11-27",
    )
    assert "Atelier e-mail" in capsys.readouterr().out

    # The next paper log starts from it: individuel, the kind of work kept.
    options = [
        "--session-type",
        "individuel",
        "--themes",
        "aide_aux_demarches_administratives,social_sante",
        "--autonomy",
        "partiellement_autonome",
        "--redirection",
        "aide_sociale",
        "--place-type",
        "domicile",
        "--place-commune",
        "59440:59036:Avesnes-sur-Helpe",
    ]
    assert redeem(demo_dir.path, demo_dir.codes["valid"][2:3], options) == 0
    second = session_rows(demo_dir.path)[1]
    assert second[0] == "individuel" and second[2] == 90  # the duration remembered
    assert second[4:6] == (None, None)  # the atelier's own fields cleared
    assert second[6] == '["ordinateur", "tablette"]'
    assert second[11:] == (
        '["seniors"]',
        "partiellement_autonome",
        "aide_sociale",
        1,
        "domicile",
        "59036",
    )


def test_without_options_a_paper_log_is_valid(demo_dir, monkeypatch):
    monkeypatch.setenv("MEDIATEUR_PIN", DEMO_PIN)
    assert redeem(demo_dir.path, demo_dir.codes["valid"][:1], []) == 0
    [row] = session_rows(demo_dir.path)
    assert (row[0], row[2], row[3]) == ("individuel", 60, '["navigation_sur_internet"]')


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--session-type", "atelier"], "Valeurs possibles : individuel, collectif."),
        (["--themes", "email,courriel"], "« courriel ». Valeurs possibles : diagnostic_numerique"),
        (["--place-type", "mairie"], "lieu_activite, domicile, a_distance, autre."),
        (["--equipment", "smartphone"], "ordinateur, telephone, tablette, autre, aucun."),
        (["--autonomy", "seul"], "entierement_accompagne, partiellement_autonome, autonome."),
        (["--level", "expert"], "debutant, intermediaire, avance."),
        (["--redirection", "caf"], "administration, mediation_numerique"),
        (["--genres", "femme=2"], "masculin, feminin, non_communique."),
        (["--age-bands", "senior=1"], "moins_de_douze, douze_dix_huit"),
        (["--statuses", "etudiant=1"], "scolarise, sans_emploi, en_emploi, retraite"),
        (["--duration", "une heure"], "Durée illisible"),
        (["--place-commune", "Avesnes"], "Commune illisible"),
        (["--date", "31/02/2026"], "Date illisible pour --date"),
    ],
)
def test_a_wrong_value_exits_2_with_the_valid_ones_before_the_pin(demo_dir, options, message):
    """No PIN in the environment: the value is refused before the PIN is asked."""
    result = run_cli(
        "redeem",
        "6W0ZMDSGPPR4Y",
        "--operator",
        DEMO_OPERATOR,
        "--data-dir",
        str(demo_dir.path),
        *options,
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert session_rows(demo_dir.path) == []


def test_an_activity_the_coop_refuses_exits_2_and_records_nothing(demo_dir):
    result = run_cli(
        "redeem",
        "6W0ZMDSGPPR4Y",
        "--operator",
        DEMO_OPERATOR,
        "--data-dir",
        str(demo_dir.path),
        "--themes",
        "email,logement",
        pin=DEMO_PIN,
    )
    assert result.returncode == 2
    assert "« Aide aux démarches administratives »" in result.stderr
    assert session_rows(demo_dir.path) == []
    with sqlite3.connect(demo_dir.path / DATABASE_FILENAME) as db:
        assert db.execute("SELECT count(*) FROM redemption").fetchone() == (0,)


@pytest.fixture
def logged(demo_dir, monkeypatch, capsys):
    monkeypatch.setenv("MEDIATEUR_PIN", DEMO_PIN)
    assert redeem(demo_dir.path, demo_dir.codes["valid"][:2], ATELIER) == 0
    capsys.readouterr()
    return demo_dir


def test_activity_export_writes_each_format_from_the_extension(logged, tmp_path, capsys):
    for name in ("a.xlsx", "a.csv", "a.json"):
        path = tmp_path / name
        assert main(["activity", "export", str(path), "--data-dir", str(logged.path)]) == 0
        assert "1 séance" in capsys.readouterr().out
    sheet = load_workbook(tmp_path / "a.xlsx")["Activités"]
    headings = [cell.value for cell in sheet[1]]
    assert headings[0] == "Date" and headings[-2:] == [
        "Pass numériques encaissés",
        "Montant des pass (€)",
    ]
    with (tmp_path / "a.csv").open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.reader(stream, delimiter=";"))
    assert rows[1][0] == "27/11/2026" and rows[1][-2:] == ["2", "20,00"]
    document = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert document["data"][0]["attributes"]["thematiques"] == [
        "email",
        "navigation_sur_internet",
    ]


def test_activity_export_by_month_and_format(logged, tmp_path, capsys):
    path = tmp_path / "sans-extension"
    args = ["activity", "export", str(path), "--data-dir", str(logged.path), "--format", "json"]
    assert main([*args, "--month", "2026-10"]) == 0
    assert json.loads(path.read_text(encoding="utf-8"))["data"] == []
    assert main([*args, "--month", "2026-11"]) == 0
    assert len(json.loads(path.read_text(encoding="utf-8"))["data"]) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["a.pdf"], "Format d'export inconnu"),
        (["a.csv", "--month", "11/2026x"], "Mois invalide"),
    ],
)
def test_activity_export_refuses_bad_input_in_french(logged, tmp_path, args, message):
    result = run_cli(
        "activity", "export", str(tmp_path / args[0]), *args[1:], "--data-dir", str(logged.path)
    )
    assert result.returncode == 2
    assert message in result.stderr
