"""`mediateur-tui activity report`: a month's activity report printed in French, as JSON, and
written as PDF and CSV; bad input refused with exit 2."""

from __future__ import annotations

import csv
import json

import pytest
from pypdf import PdfReader

from mediateur_tui.cli import main
from mediateur_tui.cli.activity_commands import _row

from .conftest import DEMO_PIN, run_cli
from .test_activity import ATELIER, redeem


@pytest.fixture
def november(demo_dir, monkeypatch, capsys):
    """A paper log of 27 November 2026: an atelier of 6 with 2 passes, 2 thématiques."""
    monkeypatch.setenv("MEDIATEUR_PIN", DEMO_PIN)
    assert redeem(demo_dir.path, demo_dir.codes["valid"][:2], ATELIER) == 0
    capsys.readouterr()
    return demo_dir


def test_the_report_of_a_month_in_french(november, capsys):
    args = ["activity", "report", "--month", "2026-11", "--data-dir", str(november.path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[:2] == [
        "Rapport d'activité — novembre 2026",
        "Lieu : Espace public numérique d'Avesnes-sur-Helpe (AVESNES-EPN)",
    ]
    atelier = next(line for line in lines if line.startswith("Atelier collectif"))
    assert atelier.split()[2:] == ["1", "6", "1", "h", "30", "2", "20,00", "€"]
    themes = [line.split("  ")[0] for line in lines if line.endswith("20,00 €")]
    assert "E-mail" in themes and "Navigation sur internet" in themes
    assert "Note : Les pass d'une séance comptent sous chacune de ses thématiques" in out
    assert max(len(line) for line in lines if not line.startswith("Note")) <= 80


def test_a_label_too_long_for_its_column_is_cut_visibly():
    line = _row("Aide aux démarches administratives", ("1", "1", "0 h 45", "1", "10,00 €"))
    assert line.startswith("Aide aux démarches administra… ")
    assert len(line) <= 80


def test_json_and_files(november, tmp_path, capsys):
    pdf, table = tmp_path / "rapport.pdf", tmp_path / "sous-dossier" / "rapport.csv"
    args = ["activity", "report", "--month", "2026-11", "--json", "--data-dir", str(november.path)]
    assert main([*args, "--pdf", str(pdf), "--csv", str(table)]) == 0
    out = capsys.readouterr().out
    document = json.loads(out[: out.rindex("}") + 1])
    assert document["total"] == {
        "sessions": 1,
        "participants": 6,
        "minutes": 90,
        "passes": 2,
        "value_cents": 2000,
    }
    assert [line["passes"] for line in document["by_thematique"]] == [2, 2]
    assert f"Rapport écrit dans {pdf}." in out
    assert "novembre 2026" in PdfReader(pdf).pages[0].extract_text()
    with table.open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.reader(stream, delimiter=";"))
    assert rows[1][:4] == ["Total du mois", rows[1][1], "01/11/2026", "30/11/2026"]
    assert rows[1][-1] == "20,00"


def test_another_month_is_empty(november, capsys):
    args = ["activity", "report", "--month", "2026-10", "--json", "--data-dir", str(november.path)]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["total"]["sessions"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--month", "novembre"], "Mois invalide"),
        (["--month", "2026-13"], "Mois invalide"),
        (["--pdf", "/proc/rapport.pdf"], "Écriture impossible de /proc/rapport.pdf"),
    ],
)
def test_bad_input_exits_2_in_french(november, args, message):
    result = run_cli("activity", "report", *args, "--data-dir", str(november.path))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
