"""Fixtures for the hub tests: real databases on disk (SQLite in tmp_path, and a database in
the throwaway PostgreSQL cluster of tests/conftest.py), and a small region to work on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mediateur_tui.hub.database import HubSettings

from .helpers import World, build_world
from .postgres import Cluster

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch, tmp_path):
    """No test reads or writes the real hub directory or database."""
    monkeypatch.delenv("MEDIATEUR_HUB_DIR", raising=False)
    monkeypatch.delenv("MEDIATEUR_HUB_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> HubSettings:
    folder = tmp_path / "hub"
    return HubSettings(directory=folder, database_url=f"sqlite:///{folder / 'hub.sqlite3'}")


@pytest.fixture(params=BACKENDS)
def settings(request, tmp_path: Path) -> HubSettings:
    """Hub settings on SQLite, then on PostgreSQL (a fresh database for each test)."""
    folder = tmp_path / "hub"
    if request.param == "sqlite":
        return HubSettings(directory=folder, database_url=f"sqlite:///{folder / 'hub.sqlite3'}")
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    return HubSettings(directory=folder, database_url=cluster.new_database())


@pytest.fixture
def world(settings: HubSettings) -> Iterator[World]:
    """The small region, on each backend."""
    built = build_world(settings)
    yield built
    built.hub.engine.dispose()


@pytest.fixture
def sqlite_world(sqlite_settings: HubSettings) -> Iterator[World]:
    built = build_world(sqlite_settings)
    yield built
    built.hub.engine.dispose()
