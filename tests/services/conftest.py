"""Fixtures for the service tests: a demo region built once, copied for each test."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from mediateur_tui.services.auth import OperatorInfo, list_operators
from mediateur_tui.services.demo import DemoResult, build_demo
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME

# A fixed instant, away from DST changes and year ends (the demo's dates are relative to it).
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
DEMO_PASSES = 300


@dataclass
class DemoDb:
    engine: Engine
    path: Path
    demo: DemoResult
    operator: OperatorInfo  # the demo's médiatrice, Camille Martin

    @property
    def pin(self) -> str:
        return next(op["pin"] for op in self.demo.operators if op["name"] == self.operator.name)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> tuple[Path, DemoResult]:
    """The demo database, built once per test process, never written to by the tests."""
    folder = tmp_path_factory.mktemp("demo-template")
    engine = open_database(folder / DATABASE_FILENAME)
    try:
        result = build_demo(engine, folder, NOW, passes=DEMO_PASSES)
    finally:
        engine.dispose()
    return folder / DATABASE_FILENAME, result


@pytest.fixture
def demo_db(demo_template, tmp_path) -> DemoDb:
    """A private copy of the demo database for one test."""
    template, result = demo_template
    path = tmp_path / DATABASE_FILENAME
    for suffix in ("", "-wal"):
        source = Path(f"{template}{suffix}")
        if source.exists():
            shutil.copyfile(source, Path(f"{path}{suffix}"))
    engine = open_database(path)
    operator = next(op for op in list_operators(engine) if op.name == "Camille Martin")
    yield DemoDb(engine=engine, path=path, demo=result, operator=operator)
    engine.dispose()
