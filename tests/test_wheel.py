"""The wheel built from this checkout, installed in a fresh virtual environment outside it,
runs the programs: everything they read at run time (styles, migrations, rule files) is in it.

The fresh environment borrows the test environment's installed libraries (a path file), so the
test needs no network; the checkout's own editable install is not visible from there, and the
test checks that `mediateur_tui` is imported from the wheel's copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOT_IN_THE_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "bench", "tests", "build", "*.egg-info", "__pycache__", ".*_cache"
)
REQUEST = {
    "received_on": "2022-05-15",
    "category": "senior",
    "birth_date": "1950-01-01",
    "postcode": "62000",
    "accompanied": False,
    "proofs": ["residence", "age_proof"],
    "passes_already_received": 0,
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The `bin` folder of a fresh virtual environment holding the wheel of this checkout."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_IN_THE_SOURCE)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    wheels = work / "dist"
    build = [*pip, "wheel", "--no-deps", "-w", str(wheels), str(source)]  # setuptools>=69 fetched
    subprocess.run(build, check=True, capture_output=True, timeout=300)
    [wheel] = wheels.glob("mediateur_tui-*.whl")
    environment = work / "venv"
    venv.create(environment, with_pip=False)
    python = environment / "bin" / "python"
    install = [*pip, "--python", str(python), "install", "--no-deps", str(wheel)]
    subprocess.run(install, check=True, capture_output=True, timeout=300)
    libraries = sysconfig.get_paths()["purelib"]
    [site_packages] = (environment / "lib").glob("python3.*/site-packages")
    (site_packages / "borrowed-libraries.pth").write_text(libraries + "\n", encoding="utf-8")
    return environment / "bin"


def run(bin_dir: Path, program: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIATEUR_", "PYTHON"))}
    env["XDG_DATA_HOME"] = str(cwd / "xdg")
    return subprocess.run(
        [str(bin_dir / program), *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def test_the_programs_run_from_the_installed_wheel(installed: Path, tmp_path: Path) -> None:
    where = subprocess.run(
        [str(installed / "python"), "-c", "import mediateur_tui; print(mediateur_tui.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(installed.parent)

    data = tmp_path / "donnees"
    demo = run(installed, "mediateur-tui", "demo", "init", "--data-dir", str(data),
               "--passes", "20", "--json", cwd=tmp_path)  # fmt: skip
    assert demo.returncode == 0, demo.stderr
    code = json.loads(demo.stdout)["codes"]["valid"][1]

    check = run(installed, "mediateur-tui", "check", code, "--data-dir", str(data), cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert "VALIDE" in check.stdout.upper()

    requests = tmp_path / "demandes.json"
    requests.write_text(json.dumps([REQUEST]), encoding="utf-8")
    decided = run(installed, "mediateur-tui", "attribution", "check", str(requests), "--json",
                  cwd=tmp_path)  # fmt: skip
    assert decided.returncode == 0, decided.stderr
    assert json.loads(decided.stdout)[0]["decision"]["eligible"] is True

    hub = tmp_path / "hub"
    init = run(installed, "mediateur-hub", "--dir", str(hub), "init", "--region-id", "HDF",
               cwd=tmp_path)  # fmt: skip
    assert init.returncode == 0, init.stderr
    assert (hub / "region_ed25519.key").is_file()
