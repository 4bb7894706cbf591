"""The layering of DEVELOPERS.md, checked on the source: pure domain, UI above services."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mediateur_tui"

# layer (path under the package) -> module prefixes it must never import
FORBIDDEN = {
    "domain": (
        "textual",
        "sqlmodel",
        "sqlalchemy",
        "alembic",
        "httpx",
        "fastapi",
        "mediateur_tui.store",
        "mediateur_tui.services",
        "mediateur_tui.screens",
    ),
    "store": ("textual", "mediateur_tui.services", "mediateur_tui.screens", "mediateur_tui.app"),
    "services": ("textual", "mediateur_tui.screens", "mediateur_tui.widgets", "mediateur_tui.app"),
    "screens": ("sqlmodel", "mediateur_tui.store"),
    "widgets": ("sqlmodel", "sqlalchemy", "mediateur_tui.store", "mediateur_tui.services"),
    "app.py": ("sqlmodel", "mediateur_tui.store"),
    "hub": ("textual", "mediateur_tui.screens", "mediateur_tui.widgets", "mediateur_tui.app"),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def python_files(layer: str) -> list[Path]:
    target = PACKAGE / layer
    return [target] if target.is_file() else sorted(target.rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_nothing_forbidden(layer: str) -> None:
    offences = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in python_files(layer)
        for module in imported_modules(path)
        if any(module == banned or module.startswith(banned + ".") for banned in FORBIDDEN[layer])
    ]
    assert offences == []


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import textual.app\nfrom sqlmodel import Session\n", encoding="utf-8")
    assert imported_modules(sample) == {"textual.app", "sqlmodel"}


def test_each_screen_file_holds_one_screen() -> None:
    for path in python_files("screens"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        screens = [
            node.name
            for node in tree.body
            if isinstance(node, ast.ClassDef)
            and any(
                getattr(base, "id", "").endswith("Screen")
                or getattr(getattr(base, "value", None), "id", "").endswith("Screen")
                for base in node.bases
            )
        ]
        assert len(screens) <= 1, f"{path.name} defines {screens}"
