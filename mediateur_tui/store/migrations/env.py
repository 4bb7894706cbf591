"""Alembic environment: runs on the engine handed over by mediateur_tui.store.engine."""

from alembic import context
from sqlmodel import SQLModel

from mediateur_tui.store import models  # noqa: F401  registers the tables
from mediateur_tui.store.engine import writer

engine = context.config.attributes["engine"]
# BEGIN IMMEDIATE: a second process opening the same file at the same time waits for the
# first one's migration (busy timeout) instead of failing with "database is locked".
with writer(engine).begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()
