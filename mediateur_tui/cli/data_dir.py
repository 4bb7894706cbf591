"""Where the data lives: --data-dir, else MEDIATEUR_DATA_DIR, else the user data directory."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from platformdirs import user_data_dir

ENV_DATA_DIR = "MEDIATEUR_DATA_DIR"
LOG_FILENAME = "mediateur.log"


def resolve_data_dir(option: str | None, demo: bool = False) -> Path:
    """The data directory. Demo data goes to a `demo` sub-folder of the default directory,
    so that trying the demo never touches a site's real data."""
    if option:
        return Path(option).expanduser()
    if os.environ.get(ENV_DATA_DIR):
        base = Path(os.environ[ENV_DATA_DIR]).expanduser()
    else:
        base = Path(user_data_dir("mediateur-tui", appauthor=False))
    return base / "demo" if demo else base


def set_up_logging(data_dir: Path) -> None:
    """Logs to a file in the data directory (never to the terminal, which the app owns)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=data_dir / LOG_FILENAME,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
