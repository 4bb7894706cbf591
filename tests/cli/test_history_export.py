"""`mediateur-tui history export`: the history as a CSV a French spreadsheet sums, the file
the history screen writes with Ctrl+E."""

from __future__ import annotations

import csv
import errno
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mediateur_tui.cli import main
from mediateur_tui.domain.formatting import format_date, local_date
from mediateur_tui.services import history
from mediateur_tui.services.site import open_site
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME

from .conftest import DEMO_OPERATOR, DEMO_PIN, bare

AMOUNT = "Montant (€)"


@pytest.fixture
def taken(demo_dir, capsys, monkeypatch):
    """Three passes taken today through `redeem`, then one of them cancelled: 20 € are due."""
    monkeypatch.setenv("MEDIATEUR_PIN", DEMO_PIN)
    codes = demo_dir.codes["valid"][:3]
    args = ["redeem", *codes, "--operator", DEMO_OPERATOR, "--data-dir", str(demo_dir.path)]
    assert main(args) == 0
    with sqlite3.connect(demo_dir.path / DATABASE_FILENAME) as db:
        (redemption_id, operator_id) = db.execute(
            "SELECT id, operator_id FROM redemption WHERE code = ?", (bare(codes[1]),)
        ).fetchone()
    open_site(demo_dir.path).desk.cancel(redemption_id, operator_id, "pass abîmé")
    capsys.readouterr()
    return demo_dir


def today():
    return local_date(datetime.now(UTC))


def export(capsys, data_dir: Path, *args: str) -> tuple[int, str, str]:
    code = main(["history", "export", *args, "--data-dir", str(data_dir)])
    out, err = capsys.readouterr()
    return code, out, err


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream, delimiter=";"))


def test_the_amount_column_sums_to_what_is_due(taken, capsys, tmp_path):
    target = tmp_path / "historique.csv"
    code, out, err = export(capsys, taken.path, str(target))
    assert code == 0, err
    assert out == f"Historique exporté : 3 lignes dans {target}.\n"
    rows = read_rows(target)
    assert sum(float(row[AMOUNT].replace(",", ".")) for row in rows) == 20.0
    cancelled = [row for row in rows if row["Statut"] == "Annulé"]
    assert [row[AMOUNT] for row in cancelled] == ["0,00"]
    assert {row[AMOUNT] for row in rows if row["Statut"] == "Encaissé"} == {"10,00"}
    assert {row["Date"] for row in rows} == {
        format_date(today())
    }  # JJ/MM/AAAA, the time on its own
    assert all(len(row["Heure"]) == 5 for row in rows)


def test_the_period_bounds_take_either_date_shape(taken, capsys, tmp_path):
    target = tmp_path / "historique.csv"
    day = today()
    code, out, _ = export(
        capsys, taken.path, str(target), "--from", day.isoformat(), "--to", format_date(day)
    )
    assert code == 0 and "3 lignes" in out
    code, out, _ = export(capsys, taken.path, str(target), "--to", "01/01/2020")
    assert code == 0 and "0 ligne " in out
    assert read_rows(target) == []


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (("--from", "31/13/2026"), "Date illisible pour --from : « 31/13/2026 »"),
        (("--to", "hier"), "Date illisible pour --to : « hier »"),
        (("--from", "02/01/2026", "--to", "01/01/2026"), "Période vide"),
    ],
)
def test_a_bad_date_exits_2_and_writes_nothing(taken, capsys, tmp_path, options, said):
    target = tmp_path / "historique.csv"
    code, out, err = export(capsys, taken.path, str(target), *options)
    assert code == 2
    assert out == "" and said in err
    assert not target.exists()


def test_an_unwritable_file_exits_2_in_french(taken, capsys, tmp_path):
    blocker = tmp_path / "un-fichier"
    blocker.write_text("", encoding="utf-8")
    code, _, err = export(capsys, taken.path, str(blocker / "historique.csv"))
    assert code == 2
    assert err.startswith(f"Erreur : Export impossible vers {blocker / 'historique.csv'}")
    assert "Traceback" not in err


def test_a_write_that_fails_midway_leaves_the_previous_file_whole(
    taken, capsys, tmp_path, monkeypatch
):
    folder = tmp_path / "exports"
    folder.mkdir()
    target = folder / "historique.csv"
    target.write_text("l'export d'hier\n", encoding="utf-8")
    written = []

    def disk_full_after_one_line(cents: int) -> str:
        if written:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(cents)
        return "10,00"

    monkeypatch.setattr(history, "spreadsheet_euros", disk_full_after_one_line)
    code, _, err = export(capsys, taken.path, str(target))
    assert code == 2 and "Export impossible" in err
    assert target.read_text(encoding="utf-8") == "l'export d'hier\n"
    assert [path.name for path in folder.iterdir()] == ["historique.csv"]
