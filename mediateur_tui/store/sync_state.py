"""The one `sync_state` row: hub address, API key, replica cursor, enrolment time."""

from __future__ import annotations

from sqlmodel import Session

from mediateur_tui.store.models import SyncState


def sync_state(session: Session) -> SyncState:
    """The row, added to the session (not yet flushed) when the database has none."""
    state = session.get(SyncState, 1)
    if state is None:
        state = SyncState(id=1)
        session.add(state)
    return state


def read_sync_state(session: Session) -> SyncState:
    """The row as stored, or the defaults (cursor 0, not enrolled); never written."""
    return session.get(SyncState, 1) or SyncState(id=1)
