"""`mediateur-tui demo init`: the demo region, as a script sees it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from PIL import Image

from mediateur_tui.cli import main
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME

from .conftest import DEMO_PASSES, bare, run_cli

CATEGORIES = {
    "valid",
    "grace",
    "expired",
    "not_yet_valid",
    "revoked",
    "redeemed_elsewhere",
    "unattributed",
    "other_programme",
}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_demo_init_json_in_a_subprocess(tmp_path):
    data_dir = tmp_path / "démo données"
    done = run_cli("demo", "init", "--data-dir", str(data_dir), "--json", "--passes", "300")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == {"data_dir", "programme", "operators", "codes", "images", "stock"}
    assert result["data_dir"] == str(data_dir)
    assert result["programme"] == "HDFNUM"
    assert result["operators"]
    for operator in result["operators"]:
        assert set(operator) == {"name", "pin", "role"}
        assert operator["pin"].isdigit()
        assert operator["role"] in {"mediateur", "responsable", "distributeur"}
    assert set(result["codes"]) == CATEGORIES
    assert len(result["stock"]) == len(set(result["stock"])) >= 2  # carnets to hand out
    all_codes = [bare(entry) for entries in result["codes"].values() for entry in entries]
    assert len(all_codes) == len(set(all_codes))
    for entries in result["codes"].values():
        assert len(entries) >= 5
        assert any(entry.startswith("PN1:") for entry in entries)
        assert any(not entry.startswith("PN1:") for entry in entries)
    assert result["images"]
    for image in result["images"]:
        path = Path(image)
        assert path.is_file()
        assert path.parent.parent == data_dir
        assert path.read_bytes()[:8] == PNG_MAGIC
        with Image.open(path) as opened:
            assert opened.format == "PNG"
    assert (data_dir / DATABASE_FILENAME).is_file()
    with sqlite3.connect(data_dir / DATABASE_FILENAME) as db:
        assert db.execute("SELECT count(*) FROM pass").fetchone()[0] >= DEMO_PASSES

    again = run_cli("demo", "init", "--data-dir", str(data_dir), "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == result  # the existing demo's information, unchanged

    as_text = run_cli("demo", "init", "--data-dir", str(data_dir))
    assert as_text.returncode == 0, as_text.stderr
    assert f"La démo existe déjà (--force la recrée) dans {data_dir}" in as_text.stdout
    assert "Camille Martin (mediateur) : code PIN 1234" in as_text.stdout
    assert result["stock"][0] in as_text.stdout


def test_demo_init_refuses_a_folder_holding_other_data(tmp_path):
    data_dir = tmp_path / "lieu"
    open_database(data_dir / DATABASE_FILENAME).dispose()  # a site's data, not a demo
    done = run_cli("demo", "init", "--data-dir", str(data_dir), "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "existent déjà" in done.stderr
    assert "--force" in done.stderr


def test_demo_init_force_replaces_the_demo_and_its_information(tmp_path):
    data_dir = tmp_path / "démo"
    first = run_cli("demo", "init", "--data-dir", str(data_dir), "--json", "--passes", "100")
    assert first.returncode == 0, first.stderr
    (data_dir / "demo.json").write_text("{}", encoding="utf-8")  # as if stale
    forced = run_cli("demo", "init", "--data-dir", str(data_dir), "--json", "--force")
    assert forced.returncode == 0, forced.stderr
    shown = run_cli("demo", "init", "--data-dir", str(data_dir), "--json")
    assert json.loads(shown.stdout) == json.loads(forced.stdout)
    assert json.loads(shown.stdout)["operators"]


def test_installed_console_script_runs(tmp_path):
    script = Path(sys.executable).parent / "mediateur-tui"
    assert script.exists()
    done = subprocess.run(
        [str(script), "demo", "init", "--data-dir", str(tmp_path / "d"), "--passes", "1"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"Démo créée dans {tmp_path / 'd'}" in done.stdout
    assert "Camille Martin (mediateur) : code PIN 1234" in done.stdout


def demo_json(capsys, data_dir: Path, *extra: str) -> tuple[int, dict]:
    code = main(["demo", "init", "--data-dir", str(data_dir), "--json", *extra])
    out = capsys.readouterr().out
    return code, json.loads(out) if code == 0 else {}


def test_demo_is_deterministic(tmp_path, capsys):
    code_a, first = demo_json(capsys, tmp_path / "a", "--passes", "120")
    code_b, second = demo_json(capsys, tmp_path / "b", "--passes", str(DEMO_PASSES))
    assert code_a == code_b == 0
    assert first["codes"] == second["codes"]
    assert first["operators"] == second["operators"]
    names = [Path(path).name for path in first["images"]]
    assert names == [Path(path).name for path in second["images"]]
    for left, right in zip(first["images"], second["images"], strict=True):
        assert Path(left).read_bytes() == Path(right).read_bytes()


def test_force_replaces_existing_data(tmp_path, capsys, monkeypatch):
    data_dir = tmp_path / "d"
    code, result = demo_json(capsys, data_dir, "--passes", "1")
    assert code == 0
    monkeypatch.setenv("MEDIATEUR_PIN", "1234")
    valid = result["codes"]["valid"][0]
    assert main(["redeem", valid, "--operator", "Camille Martin", "--data-dir", str(data_dir)]) == 0
    capsys.readouterr()

    assert main(["demo", "init", "--data-dir", str(data_dir), "--passes", "1"]) == 0
    assert "La démo existe déjà (--force la recrée)" in capsys.readouterr().out
    with sqlite3.connect(data_dir / DATABASE_FILENAME) as db:
        assert db.execute("SELECT count(*) FROM redemption").fetchone()[0] == 1

    code, again = demo_json(capsys, data_dir, "--passes", "1", "--force")
    assert code == 0
    assert again["codes"] == result["codes"]
    with sqlite3.connect(data_dir / DATABASE_FILENAME) as db:
        assert db.execute("SELECT count(*) FROM redemption").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM audit_event").fetchone()[0] == 0


def test_passes_must_be_positive(tmp_path, capsys):
    assert main(["demo", "init", "--data-dir", str(tmp_path / "d"), "--passes", "0"]) == 2
    assert "--passes doit être un nombre positif" in capsys.readouterr().err
    assert not (tmp_path / "d" / DATABASE_FILENAME).exists()
