"""The accounts as the log-in screen lists them, read on a raw `sqlite3` connection
(store/login_rows.py) so that the app shows its log-in without the ORM; services/auth.py
creates and changes them and checks the PINs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mediateur_tui.store.login_rows import operator_rows
from mediateur_tui.store.sqlite_file import reading


@dataclass(frozen=True)
class OperatorInfo:
    id: int
    name: str
    role: str


@dataclass(frozen=True)
class LoginResult:
    operator: OperatorInfo | None
    message: str

    @property
    def ok(self) -> bool:
        return self.operator is not None


def read_operators(path: Path) -> list[OperatorInfo]:
    """The accounts of the database `path` that can log in, by name."""
    with reading(path) as connection:
        return [OperatorInfo(*row) for row in operator_rows(connection)]
