"""What a data directory still needs before the desk can open: a replica, then an account.

Read on a raw `sqlite3` connection (store/login_rows.py): the app asks it before the ORM is
loaded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mediateur_tui.store.login_rows import setup_facts
from mediateur_tui.store.sqlite_file import reading


@dataclass(frozen=True)
class SetupState:
    has_replica: bool  # the region's registry (and this site's identity) is on this machine
    has_operators: bool  # at least one account can log in

    @property
    def ready(self) -> bool:
        return self.has_replica and self.has_operators


def setup_state(path: Path) -> SetupState:
    """What the site of the database file `path` still needs."""
    with reading(path) as connection:
        has_replica, has_operators = setup_facts(connection)
    return SetupState(has_replica=has_replica, has_operators=has_operators)
