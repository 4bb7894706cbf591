"""The site's display preferences (services/preferences.py): a small JSON file that never
keeps the app from starting."""

from __future__ import annotations

import json

import pytest

from mediateur_tui.domain.errors import UserError
from mediateur_tui.services.preferences import PREFERENCES_FILENAME, Preferences, SitePreferences


def test_no_file_means_the_defaults_and_a_saved_choice_is_read_back(tmp_path):
    preferences = SitePreferences(tmp_path)
    assert preferences.read() == Preferences(accessible=False)
    preferences.save(Preferences(accessible=True))
    assert json.loads((tmp_path / PREFERENCES_FILENAME).read_text()) == {"accessible": True}
    assert SitePreferences(tmp_path).read() == Preferences(accessible=True)


@pytest.mark.parametrize("text", ["{pas du json", "[true]", '{"accessible": "oui"}', "\xff"])
def test_an_unreadable_file_means_the_defaults(tmp_path, text):
    (tmp_path / PREFERENCES_FILENAME).write_bytes(text.encode("latin-1"))
    assert SitePreferences(tmp_path).read() == Preferences()


def test_a_missing_folder_cannot_be_written_and_is_said_in_french(tmp_path):
    with pytest.raises(UserError, match=r"^Réglage non enregistré .*cette fois seulement.$"):
        SitePreferences(tmp_path / "absent").save(Preferences(accessible=True))
