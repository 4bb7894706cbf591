"""Where the data lives: --data-dir, else MEDIATEUR_DATA_DIR, else the user data directory;
readable by its owner only (the database holds the site's access key and the PIN hashes)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from platformdirs import user_data_dir

from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.french_cli import expanded
from mediateur_tui.domain.text import inert

ENV_DATA_DIR = "MEDIATEUR_DATA_DIR"
LOG_FILENAME = "mediateur.log"


def resolve_data_dir(option: str | None, demo: bool = False) -> Path:
    """The data directory. Demo data goes to a `demo` sub-folder of the default directory,
    so that trying the demo never touches a site's real data."""
    if option:
        return expanded(option, "Dossier des données")
    if os.environ.get(ENV_DATA_DIR):
        base = expanded(os.environ[ENV_DATA_DIR], f"Dossier des données ({ENV_DATA_DIR})")
    else:
        base = Path(user_data_dir("mediateur-tui", appauthor=False))
    return base / "demo" if demo else base


class InertFormatter(logging.Formatter):
    """Log lines never carry outside control characters (a forged line, a terminal escape)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = inert(record.message)
        return super().formatMessage(record)


def set_up_logging(data_dir: Path) -> None:
    """Logs to a file in the data directory (never to the terminal, which the app owns)."""
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(data_dir, 0o700)
        log_file = data_dir / LOG_FILENAME
        os.close(os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        os.chmod(log_file, 0o600)
    except OSError as error:
        raise UserError(
            f"Dossier des données inutilisable : {data_dir} ({error.strerror or error})."
        ) from error
    handler = logging.FileHandler(log_file, encoding="utf-8", errors="backslashreplace")
    handler.setFormatter(InertFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.raiseExceptions = False  # a log that cannot be written (disk full) is no traceback
