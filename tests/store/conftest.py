"""Fixtures for the store tests: real SQLite files in tmp_path, filled by the demo builder."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediateur_tui.store.sqlite_file import DATABASE_FILENAME

from .helpers import make_demo_database


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / DATABASE_FILENAME


@pytest.fixture
def demo_db(tmp_path: Path):
    database = make_demo_database(tmp_path)
    yield database
    database.engine.dispose()
