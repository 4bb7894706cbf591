"""`mediateur-tui scan-image`: QR codes read from image files, then checked."""

from __future__ import annotations

import json

import qrcode
from image_files import png_claiming_size
from PIL import Image

from mediateur_tui.cli import main

from .conftest import bare, run_cli


def scan(capsys, data_dir, *files) -> tuple[int, str, str]:
    code = main(["scan-image", *map(str, files), "--data-dir", str(data_dir), "--json"])
    out, err = capsys.readouterr()
    return code, out, err


def test_scan_all_demo_images(shared_demo_dir, capsys):
    images = shared_demo_dir.images
    assert len(images) == 6
    assert images[-1].name == "carnet-C0000002-planche.png"
    code, out, err = scan(capsys, shared_demo_dir.path, *images)
    assert code == 0, err
    results = json.loads(out)
    assert isinstance(results, list)
    assert [result["verdict"] for result in results] == ["valid"] * 10
    # One image per pass of the first "valid" carnet, then a sheet of the second, read in
    # reading order (left to right, top to bottom).
    expected = [bare(entry) for entry in shared_demo_dir.codes["valid"]]
    assert [result["code"] for result in results] == expected
    for result in results:
        assert result["input"].startswith("PN1:HDFNUM:")


def test_scan_one_image_prints_one_object(shared_demo_dir, capsys):
    code, out, _ = scan(capsys, shared_demo_dir.path, shared_demo_dir.images[2])
    assert code == 0
    result = json.loads(out)
    assert result["verdict"] == "valid"
    assert result["code"] == bare(shared_demo_dir.codes["valid"][2])


def test_scan_image_of_a_refused_pass_exits_1(shared_demo_dir, capsys, tmp_path):
    revoked = next(e for e in shared_demo_dir.codes["revoked"] if e.startswith("PN1:"))
    path = tmp_path / "oppose.png"
    qrcode.make(revoked).save(path)
    code, out, _ = scan(capsys, shared_demo_dir.path, shared_demo_dir.images[0], path)
    assert code == 1
    assert [result["verdict"] for result in json.loads(out)] == ["valid", "revoked"]


def test_scan_image_without_code_exits_2(shared_demo_dir, capsys, tmp_path):
    path = tmp_path / "blanc.png"
    Image.new("L", (200, 200), 255).save(path)
    code, out, err = scan(capsys, shared_demo_dir.path, path)
    assert code == 2
    assert out == ""
    assert "aucun QR code" in err


def test_scan_image_of_a_non_image_exits_2_in_french(shared_demo_dir, tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_text("pas une image", encoding="utf-8")
    done = run_cli("scan-image", str(path), "--data-dir", str(shared_demo_dir.path), "--json")
    assert done.returncode == 2
    assert "Erreur : Ce fichier n'est pas une image lisible : photo.jpg" in done.stderr
    missing = tmp_path / "absente.png"
    done = run_cli("scan-image", str(missing), "--data-dir", str(shared_demo_dir.path))
    assert done.returncode == 2
    assert "Fichier introuvable" in done.stderr


def test_scan_image_of_a_huge_image_exits_2(shared_demo_dir, capsys, tmp_path):
    path = tmp_path / "immense.png"
    png_claiming_size(path, 20_000, 20_000)
    code, out, err = scan(capsys, shared_demo_dir.path, path)
    assert code == 2
    assert out == ""
    assert "Erreur : Image trop grande pour être lue : immense.png" in err
