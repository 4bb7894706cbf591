"""The site's display preferences, kept in a small JSON file of its data directory.

They are no record of the site (nothing the region sees, nothing a backup must carry), so they
stay out of the database: a missing or unreadable file means the defaults, never a refusal to
start.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.french_cli import os_error_text
from mediateur_tui.protocol.files import write_file

log = logging.getLogger(__name__)
PREFERENCES_FILENAME = "preferences.json"


@dataclass(frozen=True)
class Preferences:
    accessible: bool = False  # visible cursor, no animation, high contrast, verdicts in words


class SitePreferences:
    """Reads and writes the preferences of one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / PREFERENCES_FILENAME

    def read(self) -> Preferences:
        """The saved preferences; the defaults when there are none or they cannot be read."""
        try:
            saved = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Preferences()
        except (OSError, ValueError) as error:
            log.warning("preferences not read from %s: %s", self.path, error)
            return Preferences()
        if not isinstance(saved, dict):
            log.warning("preferences not read from %s: not a JSON object", self.path)
            return Preferences()
        return Preferences(accessible=saved.get("accessible") is True)

    def save(self, preferences: Preferences) -> None:
        data = json.dumps(asdict(preferences), indent=2).encode("utf-8")
        try:
            write_file(self.path, data)
        except OSError as error:
            raise UserError(
                f"Réglage non enregistré ({os_error_text(error)}) : il vaut pour cette fois "
                "seulement."
            ) from error
