"""What a data directory still needs before the desk can open: a replica, then an account."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session, func, select

from mediateur_tui.store import queries
from mediateur_tui.store.models import Operator


@dataclass(frozen=True)
class SetupState:
    has_replica: bool  # the region's registry (and this site's identity) is on this machine
    has_operators: bool  # at least one account can log in

    @property
    def ready(self) -> bool:
        return self.has_replica and self.has_operators


def setup_state(engine: Engine) -> SetupState:
    with Session(engine) as session:
        has_replica = queries.replica_meta(session) is not None
        operators = session.exec(select(func.count()).select_from(Operator)).one()
    return SetupState(has_replica=has_replica, has_operators=operators > 0)
