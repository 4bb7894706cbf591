"""Fixtures of the fault suite: a demo site on real files, copied per test, and the real
programs, run in subprocesses or in this process with their output captured."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from store.helpers import plain_valid_codes

from mediateur_tui.cli import main as site_main
from mediateur_tui.cli.common import ensure_demo
from mediateur_tui.services.demo import DemoResult
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME

DEMO_PASSES = 300
MEDIATEUR = ("Camille Martin", "1234")
RESPONSABLE = ("Karim Benali", "5678")
AMBIENT = ("MEDIATEUR_DATA_DIR", "MEDIATEUR_PIN", "MEDIATEUR_NEW_PIN")


@dataclass
class Site:
    path: Path
    codes: dict[str, list[str]]

    def valid(self, count: int) -> list[str]:
        """Bare codes of `count` redeemable passes."""
        engine = open_database(self.path / DATABASE_FILENAME)
        try:
            codes = plain_valid_codes(engine, count)
        finally:
            engine.dispose()
        assert len(codes) == count
        return codes


def bare(entry: str) -> str:
    return entry.split(":")[2] if entry.startswith("PN1:") else entry


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch, tmp_path):
    for name in AMBIENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> tuple[Path, DemoResult]:
    folder = tmp_path_factory.mktemp("faults-demo") / "donnees"
    result = ensure_demo(folder, passes=DEMO_PASSES)
    assert result is not None
    return folder, result


@pytest.fixture
def site(demo_template, tmp_path) -> Site:
    folder, result = demo_template
    target = tmp_path / "lieu"
    shutil.copytree(folder, target)
    return Site(target, result.codes)


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Run:
    """`python -m mediateur_tui ARGS` in a subprocess, stdin not a terminal."""
    environment = {k: v for k, v in os.environ.items() if k not in AMBIENT}
    environment.update({"PYTHONIOENCODING": "utf-8", **(env or {})})
    done = subprocess.run(
        [sys.executable, "-m", "mediateur_tui", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=environment,
        timeout=timeout,
        check=False,
    )
    return Run(
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )


def run_here(capsys, *args: str) -> Run:
    """The site's `main` in this process (faster), its output captured."""
    capsys.readouterr()
    code = site_main(list(args))
    out, err = capsys.readouterr()
    return Run(code, out, err)


def no_traceback(result: Run) -> None:
    assert "Traceback" not in result.out + result.err, result.out + result.err


def rows(site: Site, sql: str) -> list[tuple]:
    """The rows of `sql` on the site's database, read with a connection closed at once."""
    with closing(sqlite3.connect(site.path / DATABASE_FILENAME)) as db:
        return db.execute(sql).fetchall()


def active_codes(site: Site) -> set[str]:
    return {
        code for (code,) in rows(site, "SELECT code FROM redemption WHERE cancelled_at IS NULL")
    }


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB tmpfs, mounted for the test (root only: CI runs as root)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    mount = tmp_path / "petit-disque"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(filler: Path) -> None:
    """Fills the disk of `filler` to its last bytes, unbuffered so nothing is left to flush."""
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            try:
                os.write(descriptor, b"\0" * 512)
            except OSError:
                break
    finally:
        os.close(descriptor)
