"""Fixtures for the Textual UI tests: a demo data directory built once per process and copied
for each test. Helpers live in helpers.py."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from mediateur_tui.demo import DemoResult, build_demo
from mediateur_tui.store.engine import DATABASE_FILENAME, open_database

from .helpers import DEMO_PASSES, NOW, DemoData, bare


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> tuple[Path, DemoResult]:
    """The demo data directory (database and QR images), built once per test process."""
    folder = tmp_path_factory.mktemp("ui-demo-template") / "donnees"
    engine = open_database(folder / DATABASE_FILENAME)
    try:
        result = build_demo(engine, folder, NOW, passes=DEMO_PASSES)
    finally:
        engine.dispose()
    return folder, result


@pytest.fixture
def demo(demo_template, tmp_path) -> Iterator[DemoData]:
    """A private copy of the demo data directory for one test."""
    folder, result = demo_template
    target = tmp_path / "donnees"
    shutil.copytree(folder, target)
    engine = open_database(target / DATABASE_FILENAME)
    images = [target / path.relative_to(folder) for path in result.images]
    yield DemoData(data_dir=target, engine=engine, codes=result.codes, images=images)
    engine.dispose()


@pytest.fixture
def history_data(demo):
    """Two sessions this month: four redemptions (one cancelled) and two refusals, a few
    minutes apart (the history is sorted by time)."""
    operator = demo.operator()
    codes = demo.codes

    def run_session(start, title, kind, minutes, scans):
        session_id = demo.desk(start).start_session(operator.id, title, kind, "", minutes).id
        for step, text in enumerate(scans, start=1):
            demo.desk(start + timedelta(minutes=7 * step)).redeem(session_id, operator.id, text)
        return session_id

    first = run_session(
        NOW - timedelta(days=10),
        "Atelier smartphone",
        "collectif",
        120,
        [codes["valid"][0], codes["valid"][1], codes["revoked"][0]],
    )
    demo.desk(NOW - timedelta(days=10, minutes=-60)).end_session(first)
    second = run_session(
        NOW - timedelta(hours=1),
        "Démarches CAF",
        "individuel",
        60,
        [codes["valid"][2], codes["grace"][1], codes["expired"][1]],
    )
    later = demo.desk(NOW - timedelta(minutes=20))
    cancelled = next(r for r in demo.redemptions() if r.code == bare(codes["valid"][1]))
    later.cancel(cancelled.id, operator.id, "pass abîmé")
    later.end_session(second)
    return demo
