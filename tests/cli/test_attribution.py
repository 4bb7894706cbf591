"""`mediateur-tui attribution check FILE [--json]`: a decision per request of a JSON array or a
CSV; exit 0 when every row was decided, 1 when a row was malformed, 2 when the file is unusable."""

from __future__ import annotations

import json

import pytest

from mediateur_tui.cli import main

from .conftest import run_cli

SENIOR = {
    "received_on": "2022-05-15",
    "category": "senior",
    "birth_date": "1950-01-01",
    "postcode": "62000",
    "accompanied": False,
    "proofs": ["residence", "age_proof"],
    "passes_already_received": 0,
}
YOUTH_2021 = {
    **SENIOR,
    "received_on": "2021-05-15",
    "category": "youth_insertion",
    "birth_date": "2000-01-01",
    "accompanied": True,
}
HEADER = (
    "received_on;category;birth_date;postcode;accompanied;proofs;passes_already_received;"
    "proof_dates;establishment"
)
CSV_ROWS = [
    "2022-05-15;job_seeker;1980-03-01;59000;oui;residence|job_seeker_certificate;0;"
    "job_seeker_certificate=2022-04-01;",
    "2022-05-15;lycee;2006-09-01;80000;non;residence|school_certificate;0;;0800002B",
]


def attribution(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["attribution", "check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_file_all_decided(tmp_path, capsys) -> None:
    path = tmp_path / "demandes.json"
    path.write_text(json.dumps([SENIOR, YOUTH_2021]), encoding="utf-8")
    code, out, err = attribution(capsys, str(path), "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [row["row"] for row in rows] == [1, 2]
    first, second = (row["decision"] for row in rows)
    assert first["eligible"] and first["carnets"] == [5] and first["rulebook"] == "hdf-2022-02"
    assert first["second_carnet_on_request"] is True
    assert second["rulebook"] == "hdf-2020-07" and second["carnets"] == [5]
    code, out, _ = attribution(capsys, str(path))
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Demande 1 : éligible, carnet(s) de 5 pass [hdf-2022-02]")


def test_csv_with_bom_and_a_malformed_row(tmp_path, capsys) -> None:
    path = tmp_path / "liste.csv"
    bad = CSV_ROWS[0].replace("1980-03-01", "01/13/1980")
    text = "\ufeff" + "\r\n".join([HEADER, *CSV_ROWS, bad]) + "\r\n"
    path.write_bytes(text.encode("utf-8"))
    code, out, _ = attribution(capsys, str(path), "--json")
    assert code == 1
    rows = json.loads(out)
    assert rows[0]["decision"]["eligible"] is True and rows[0]["decision"]["carnets"] == [10]
    assert rows[1]["decision"]["eligible"] is False
    assert "délibération ultérieure" in rows[1]["decision"]["reasons"][0]
    assert set(rows[2]) == {"row", "error"} and "birth_date" in rows[2]["error"]
    code, out, _ = attribution(capsys, str(path))
    assert code == 1
    assert out.splitlines()[2].startswith("Demande 3 : ERREUR — birth_date")


def test_comma_separated_csv(tmp_path, capsys) -> None:
    path = tmp_path / "liste.csv"
    path.write_text(
        "\n".join(line.replace(";", ",") for line in [HEADER, CSV_ROWS[0]]), encoding="utf-8"
    )
    code, out, _ = attribution(capsys, str(path), "--json")
    assert code == 0
    assert json.loads(out)[0]["decision"]["carnets"] == [10]


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("absent.json", None, "introuvable"),
        ("objet.json", b"{}", "liste"),
        ("casse.json", b"[{", "JSON invalide"),
        ("latin1.csv", HEADER.encode() + "\né".encode("latin-1"), "UTF-8"),
        ("entete.csv", b"nom;prenom\nA;B\n", "En-tête CSV invalide"),
    ],
)
def test_unusable_files_exit_2(tmp_path, capsys, name, content, words) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    code, out, err = attribution(capsys, str(path))
    assert code == 2
    assert out == ""
    assert words in err and err.startswith("Erreur : ")


def test_real_program_and_usage_error(tmp_path) -> None:
    path = tmp_path / "demandes.json"
    path.write_text(json.dumps([SENIOR, {"category": "senior"}]), encoding="utf-8")
    done = run_cli("attribution", "check", str(path), "--json")
    assert done.returncode == 1, done.stderr
    rows = json.loads(done.stdout)
    assert rows[0]["decision"]["eligible"] is True
    assert "Champ(s) manquant(s)" in rows[1]["error"]
    assert run_cli("attribution", "check").returncode == 2  # argparse usage error
