"""`mediateur-tui operator add` and `operator list`: the accounts of a site's operators. Adding
one is a responsable's: --operator and MEDIATEUR_PIN, the new PIN in MEDIATEUR_NEW_PIN."""

from __future__ import annotations

import json
import sqlite3

import pytest

from mediateur_tui.cli import main
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME

from .conftest import DEMO_OPERATOR, bare, run_cli

NEW_OPERATOR, NEW_PIN = "Dominique Petit", "24681357"
RESPONSABLE = ("--operator", "Karim Benali")  # the demo's responsable, PIN 5678
DEMO_LIST = (
    "Camille Martin (médiateur·rice)\n"
    "Karim Benali (responsable)\n"
    "Nadia Lefèvre (distributeur·rice)\n"
)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def operators(data_dir) -> list[tuple[str, str]]:
    with sqlite3.connect(data_dir / DATABASE_FILENAME) as db:
        return db.execute("SELECT name, role FROM operator ORDER BY name").fetchall()


@pytest.fixture
def as_responsable(monkeypatch):
    monkeypatch.setenv("MEDIATEUR_PIN", "5678")


def test_add_with_the_pin_from_the_environment_then_log_in(
    demo_dir, capsys, monkeypatch, as_responsable
):
    data = ("--data-dir", str(demo_dir.path))
    monkeypatch.setenv("MEDIATEUR_NEW_PIN", NEW_PIN)
    code, out, err = run(
        capsys, "operator", "add", f"  {NEW_OPERATOR} ", "--role", "mediateur", *RESPONSABLE, *data
    )
    assert code == 0, err
    assert out == f"Compte créé : {NEW_OPERATOR} (médiateur·rice).\n"
    assert (NEW_OPERATOR, "mediateur") in operators(demo_dir.path)
    with sqlite3.connect(demo_dir.path / DATABASE_FILENAME) as db:
        (pin_hash,) = db.execute(
            "SELECT pin_hash FROM operator WHERE name = ?", (NEW_OPERATOR,)
        ).fetchone()
        (details,) = db.execute(
            "SELECT details FROM audit_event WHERE kind = 'operator_added'"
        ).fetchone()
    assert NEW_PIN not in pin_hash  # only a salted hash is stored
    assert json.loads(details) == {"name": NEW_OPERATOR, "role": "mediateur"}

    # The new account logs in: it can take a pass with its PIN, and not with another.
    monkeypatch.setenv("MEDIATEUR_PIN", NEW_PIN)
    valid = bare(demo_dir.codes["valid"][0])
    code, out, err = run(capsys, "redeem", valid, "--operator", NEW_OPERATOR, "--json", *data)
    assert code == 0, err
    assert json.loads(out)["verdict"] == "valid"
    monkeypatch.setenv("MEDIATEUR_PIN", "1234")  # Camille Martin's, not Dominique Petit's
    other = bare(demo_dir.codes["valid"][1])
    code, _, err = run(capsys, "redeem", other, "--operator", NEW_OPERATOR, *data)
    assert code == 2 and "Code PIN incorrect" in err
    code, out, _ = run(capsys, "operator", "list", *data)
    assert out == DEMO_LIST.replace("Karim", f"{NEW_OPERATOR} (médiateur·rice)\nKarim")


@pytest.mark.parametrize("pin", ["123", "1234567890123", "12a4", "12 34", ""])
def test_a_pin_that_is_not_4_to_12_digits_is_refused(
    demo_dir, capsys, monkeypatch, as_responsable, pin
):
    monkeypatch.setenv("MEDIATEUR_NEW_PIN", pin)
    args = ("operator", "add", NEW_OPERATOR, "--role", "responsable", *RESPONSABLE)
    code, out, err = run(capsys, *args, "--data-dir", str(demo_dir.path))
    assert (code, out) == (2, "")
    assert err == "Erreur : Le code PIN doit compter de 4 à 12 chiffres.\n"
    assert NEW_OPERATOR not in dict(operators(demo_dir.path))


@pytest.mark.parametrize("name", [DEMO_OPERATOR, "  Camille   Martin "])
def test_a_name_already_taken_is_refused(demo_dir, capsys, monkeypatch, as_responsable, name):
    monkeypatch.setenv("MEDIATEUR_NEW_PIN", NEW_PIN)
    before = operators(demo_dir.path)
    code, _, err = run(
        capsys,
        "operator",
        "add",
        name,
        "--role",
        "mediateur",
        *RESPONSABLE,
        "--data-dir",
        str(demo_dir.path),
    )
    assert code == 2
    assert err == f"Erreur : Un compte « {DEMO_OPERATOR} » existe déjà.\n"
    assert operators(demo_dir.path) == before


def test_no_pin_and_no_terminal_is_refused(demo_dir):
    before = operators(demo_dir.path)
    args = ("operator", "add", NEW_OPERATOR, "--role", "mediateur", *RESPONSABLE)
    result = run_cli(*args, "--data-dir", str(demo_dir.path))  # stdin is not a terminal
    assert result.returncode == 2
    assert "Code PIN manquant : définissez MEDIATEUR_PIN ou lancez dans un terminal." in (
        result.stderr
    )
    assert operators(demo_dir.path) == before


def test_list_shows_names_and_roles(shared_demo_dir):
    result = run_cli("operator", "list", "--data-dir", str(shared_demo_dir.path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == DEMO_LIST


@pytest.mark.parametrize("command", [("list",), ("add", NEW_OPERATOR, "--role", "mediateur")])
@pytest.mark.parametrize("exists", [False, True])
def test_without_a_database_nothing_is_created(capsys, monkeypatch, tmp_path, command, exists):
    data_dir = tmp_path / "absent"
    if exists:
        data_dir.mkdir()  # an empty folder is not a site either
    monkeypatch.setenv("MEDIATEUR_PIN", NEW_PIN)
    code, out, err = run(capsys, "operator", *command, "--data-dir", str(data_dir))
    assert (code, out) == (2, "")
    assert err == (
        f"Erreur : Aucune base de données dans {data_dir} : inscrivez d'abord le lieu.\n"
    )
    assert data_dir.exists() == exists
    assert not (data_dir / DATABASE_FILENAME).exists()


def test_an_unknown_role_is_a_usage_error(demo_dir, capsys, monkeypatch):
    monkeypatch.setenv("MEDIATEUR_NEW_PIN", NEW_PIN)
    assert main(["operator", "add", NEW_OPERATOR, "--role", "directeur"]) == 2
    assert "choix invalide : 'directeur'" in capsys.readouterr().err
