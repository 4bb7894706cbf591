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
    per_file = [json.loads(line) for line in out.splitlines()]
    assert [entry["file"] for entry in per_file] == [str(path) for path in images]
    assert [len(entry["results"]) for entry in per_file] == [1, 1, 1, 1, 1, 5]
    results = [result for entry in per_file for result in entry["results"]]
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
    verdicts = [[r["verdict"] for r in json.loads(line)["results"]] for line in out.splitlines()]
    assert verdicts == [["valid"], ["revoked"]]


def test_scan_two_images_names_each_file_with_its_verdicts(shared_demo_dir, capsys, tmp_path):
    """One JSON object per file: which image held which pass, even an image without any."""
    valid = [e for e in shared_demo_dir.codes["valid"] if e.startswith("PN1:")][:2]
    expired = next(e for e in shared_demo_dir.codes["expired"] if e.startswith("PN1:"))
    first, second, blank = tmp_path / "accueil.png", tmp_path / "atelier.png", tmp_path / "vide.png"
    qrcode.make(valid[0]).save(first)
    sheet = Image.new("L", (900, 450), 255)  # two QR codes side by side
    for index, payload in enumerate((valid[1], expired)):
        sheet.paste(
            qrcode.make(payload).get_image().convert("L").resize((400, 400)), (index * 450, 25)
        )
    sheet.save(second)
    Image.new("L", (200, 200), 255).save(blank)
    code, out, err = scan(capsys, shared_demo_dir.path, first, second, blank)
    assert code == 1  # the expired pass
    per_file = [json.loads(line) for line in out.splitlines()]
    assert [entry["file"] for entry in per_file] == [str(first), str(second), str(blank)]
    assert [[(r["code"], r["verdict"]) for r in entry["results"]] for entry in per_file] == [
        [(bare(valid[0]), "valid")],
        [(bare(valid[1]), "valid"), (bare(expired), "expired")],
        [],
    ]
    assert f"{blank} : aucun QR code" in err


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
