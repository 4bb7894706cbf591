"""`mediateur-tui --accessible`: the app starts in accessible mode for this run only."""

from __future__ import annotations

import gc

import pytest

from mediateur_tui.cli import main
from mediateur_tui.services.preferences import PREFERENCES_FILENAME
from mediateur_tui.ui.app import MediateurApp


@pytest.fixture
def started(monkeypatch) -> list[MediateurApp]:
    """The apps the command line would have run (they are not run)."""
    apps: list[MediateurApp] = []
    monkeypatch.setattr(MediateurApp, "run", lambda app: apps.append(app))
    monkeypatch.setattr(gc, "freeze", lambda: None)
    return apps


@pytest.mark.parametrize(("argv", "accessible"), [([], False), (["--accessible"], True)])
def test_the_flag_starts_the_app_in_accessible_mode(tmp_path, started, argv, accessible):
    data_dir = tmp_path / "lieu"
    assert main(["--data-dir", str(data_dir), *argv]) == 0
    [app] = started
    assert app.accessible is accessible
    app.context.site.close()
    assert not (data_dir / PREFERENCES_FILENAME).exists()  # the flag is for this run only


def test_the_saved_setting_applies_without_the_flag(tmp_path, started):
    data_dir = tmp_path / "lieu"
    data_dir.mkdir()
    (data_dir / PREFERENCES_FILENAME).write_text('{"accessible": true}')
    assert main(["--data-dir", str(data_dir)]) == 0
    [app] = started
    assert app.accessible
    app.context.site.close()
