"""What the layer contracts (pyproject.toml, checked by import-linter in scripts/test.sh) cannot
say: one screen per file, thread workers that never close the app and send their results back
as messages, and a code base that cites only documents it contains. And proof that the
contracts do catch a forbidden import."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mediateur_tui"
SCREENS = PACKAGE / "ui" / "screens"
UI = PACKAGE / "ui"


def python_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def screen_classes(tree: ast.Module) -> list[str]:
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and any(
            ast.unparse(base).split("[")[0].endswith(("Screen", "Modal")) for base in node.bases
        )
    ]


@pytest.mark.parametrize("path", python_files(SCREENS), ids=lambda path: path.name)
def test_each_screen_file_holds_one_screen(path: Path) -> None:
    if path.name == "base.py":  # the base classes every screen derives from
        return
    screens = screen_classes(ast.parse(path.read_text(encoding="utf-8")))
    assert len(screens) <= 1, f"{path.name} defines {screens}"


def thread_workers(tree: ast.Module) -> list[tuple[str, dict[str, str]]]:
    """(function name, keyword arguments) of every `@work(thread=True, ...)`."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == "work":
                keywords = {k.arg or "": ast.unparse(k.value) for k in decorator.keywords}
                if keywords.get("thread") == "True":
                    found.append((node.name, keywords))
    return found


def test_the_checker_finds_thread_workers() -> None:
    tree = ast.parse("@work(thread=True, exclusive=True)\ndef load(self):\n    pass\n")
    assert thread_workers(tree) == [("load", {"thread": "True", "exclusive": "True"})]


@pytest.mark.parametrize("path", python_files(UI), ids=lambda path: path.name)
def test_thread_workers_never_close_the_app(path: Path) -> None:
    """A worker's failure goes to the app's one handler (WorkFailed), never kills the app."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    closing = [
        name for name, keywords in thread_workers(tree) if keywords.get("exit_on_error") != "False"
    ]
    assert closing == []


@pytest.mark.parametrize("path", python_files(SCREENS), ids=lambda path: path.name)
def test_screens_with_workers_report_their_failures(path: Path) -> None:
    """Their failures reach the app through SiteScreen/SiteModal (a plain Screen would lose
    them, since its workers do not close the app)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and thread_workers(ast.Module(node.body, [])):
            bases = [ast.unparse(base).split("[")[0] for base in node.bases]
            assert set(bases) & {"SiteScreen", "SiteModal"}, f"{node.name} derives from {bases}"


@pytest.mark.parametrize("path", python_files(UI), ids=lambda path: path.name)
def test_worker_results_come_back_as_messages(path: Path) -> None:
    assert "call_from_thread" not in path.read_text(encoding="utf-8")


# Documents that are not in the repository: the code and the docs must not send a reader there.
OUTSIDE = re.compile(r"\bBRIEF\b|DEVELOPERS\.md|\b[Ii]ssue [0-9]+\b|§ ?[0-9]")


def cited_outside(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if OUTSIDE.search(line)]


def test_the_citation_checker_sees_an_outside_document() -> None:
    assert cited_outside('"""See BRIEF §4."""\nx = 1  # issue 4\n') == [
        '"""See BRIEF §4."""',
        "x = 1  # issue 4",
    ]


def repository_texts() -> list[Path]:
    """The code, tests, benchmarks, scripts, contracts and docs of the repository."""
    folders = ("mediateur_tui", "tests", "bench", "scripts", "schema", "docs")
    texts = [
        path
        for folder in folders
        for path in sorted((ROOT / folder).rglob("*"))
        if path.suffix in (".py", ".md", ".json", ".sh") and "__snapshots__" not in path.parts
    ]
    here = Path(__file__).resolve()  # holds the patterns themselves
    return [*(path for path in texts if path != here), ROOT / "README.md"]


@pytest.mark.parametrize("path", repository_texts(), ids=lambda path: str(path.relative_to(ROOT)))
def test_only_documents_of_the_repository_are_cited(path: Path) -> None:
    assert cited_outside(path.read_text(encoding="utf-8")) == []


def test_the_contracts_catch_an_http_client_in_a_screen(tmp_path: Path) -> None:
    """import-linter, on a copy of the package where one screen imports httpx, says so."""
    shutil.copytree(
        PACKAGE, tmp_path / "mediateur_tui", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    screen = tmp_path / "mediateur_tui" / "ui" / "screens" / "verify.py"
    screen.write_text(screen.read_text(encoding="utf-8") + "\nimport httpx  # noqa\n")
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint_imports), "--no-cache", "--contract", "ui"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "mediateur_tui.ui.screens.verify -> httpx" in done.stdout
