"""The wheel built from this checkout, installed in a fresh virtual environment outside it,
runs the programs: everything they read at run time (styles, migrations, rule files) is in it.

Building the wheel fetches its build backend (setuptools>=69) from the package registry, as
`pip wheel` does; the fresh environment then borrows the test environment's installed libraries
(a path file) rather than installing them again. The checkout's own editable install is not
visible from there, and the test checks that `mediateur_tui` is imported from the wheel's copy.
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
    build = [*pip, "wheel", "--no-deps", "-w", str(wheels), str(source)]
    _succeeds(build)
    [wheel] = wheels.glob("mediateur_tui-*.whl")
    environment = work / "venv"
    venv.create(environment, with_pip=False)
    python = environment / "bin" / "python"
    install = [*pip, "--python", str(python), "install", "--no-deps", str(wheel)]
    _succeeds(install)
    paths = sysconfig.get_paths()
    libraries = dict.fromkeys([paths["purelib"], paths["platlib"]])  # lib64 systems: two
    [site_packages] = (environment / "lib").glob("python3.*/site-packages")
    (site_packages / "borrowed-libraries.pth").write_text(
        "".join(f"{folder}\n" for folder in libraries), encoding="utf-8"
    )
    return environment / "bin"


def _succeeds(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout}\n{done.stderr}"


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
    styles = subprocess.run(
        [str(installed / "python"), "-c",
         "import pathlib, mediateur_tui.ui.app as app; "
         "print(pathlib.Path(app.__file__).with_name(app.MediateurApp.CSS_PATH).read_text())"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert styles.returncode == 0, styles.stderr
    assert "Screen" in styles.stdout  # the desk's stylesheet, read from the wheel

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
