"""Fixtures for the command-line tests: a demo data directory built once, copied per test,
and a helper that runs the real program in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from mediateur_tui.cli.common import ensure_demo
from mediateur_tui.services.demo import DemoResult

DEMO_PASSES = 300
DEMO_OPERATOR = "Camille Martin"
DEMO_PIN = "1234"


@dataclass
class DemoDir:
    path: Path
    codes: dict[str, list[str]]
    images: list[Path]


def bare(entry: str) -> str:
    """The code of a demo entry, which is either a QR payload or a bare code."""
    return entry.split(":")[2] if entry.startswith("PN1:") else entry


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch, tmp_path):
    """No test reads or writes the real user data directory or a PIN from the environment."""
    monkeypatch.delenv("MEDIATEUR_DATA_DIR", raising=False)
    monkeypatch.delenv("MEDIATEUR_PIN", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> tuple[Path, DemoResult]:
    """A demo data directory (database and QR images), built once per test process."""
    folder = tmp_path_factory.mktemp("cli-demo-template") / "donnees"
    result = ensure_demo(folder, passes=DEMO_PASSES)
    assert result is not None
    return folder, result


def copy_demo(template: tuple[Path, DemoResult], target: Path) -> DemoDir:
    folder, result = template
    shutil.copytree(folder, target)
    images = [target / path.relative_to(folder) for path in result.images]
    return DemoDir(path=target, codes=result.codes, images=images)


@pytest.fixture
def demo_dir(demo_template, tmp_path) -> DemoDir:
    """A private copy of the demo data directory for one test."""
    return copy_demo(demo_template, tmp_path / "demo")


@pytest.fixture(scope="module")
def shared_demo_dir(demo_template, tmp_path_factory) -> DemoDir:
    """One copy for a whole module of read-only tests (checks never write)."""
    return copy_demo(demo_template, tmp_path_factory.mktemp("shared") / "demo")


def cli_environment(pin: str | None = None) -> dict[str, str]:
    """The environment of the program under test: no ambient data dir nor PIN, UTF-8 output."""
    ambient = ("MEDIATEUR_DATA_DIR", "MEDIATEUR_PIN", "MEDIATEUR_NEW_PIN")
    env = {k: v for k, v in os.environ.items() if k not in ambient}
    env["PYTHONIOENCODING"] = "utf-8"
    if pin is not None:
        env["MEDIATEUR_PIN"] = pin
    return env


def run_cli(*args: str, pin: str | None = None, cwd: Path | None = None):
    """Runs `python -m mediateur_tui ARGS` with no terminal on stdin and no ambient data dir."""
    env = cli_environment(pin)
    return subprocess.run(
        [sys.executable, "-m", "mediateur_tui", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )
