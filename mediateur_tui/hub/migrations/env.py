"""Alembic environment of the hub: runs on the engine handed over by mediateur_tui.hub.database.

The migration runs in one transaction that first takes the hub's migration lock, so that two
processes opening the same database for the first time do not both create the tables:
SQLite's BEGIN IMMEDIATE (the second waits for the busy timeout), PostgreSQL's transaction
advisory lock. A database whose tables were created by `create_all` before the hub had
migrations (no alembic_version table) is stamped at 0001 inside that transaction.
"""

from alembic import context
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from mediateur_tui.hub.errors import HubError
from mediateur_tui.hub.models import hub_registry

# The tables `create_all` made before revision 0001 existed: the schema of 0001.
CREATE_ALL_ERA_TABLES = frozenset(
    {
        "hub_region",
        "hub_programme",
        "hub_site",
        "hub_enrolment_token",
        "hub_carnet",
        "hub_pass",
        "hub_revocation",
        "hub_change",
        "hub_batch",
        "hub_line",
        "hub_used_pass",
    }
)
CREATE_ALL_ERA_REVISION = "0001"
# pg_advisory_xact_lock key for the hub's migrations (any constant; "MEDH" in ASCII).
_PG_LOCK_KEY = 0x4D454448

engine = context.config.attributes["engine"]
with engine.execution_options(hub_write=True).begin() as connection:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    context.configure(
        connection=connection,
        target_metadata=hub_registry.metadata,
        render_as_batch=True,
    )
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" not in tables and tables & CREATE_ALL_ERA_TABLES:
        missing = CREATE_ALL_ERA_TABLES - tables
        if missing:
            raise HubError(
                "Base du hub incomplète (tables manquantes : "
                f"{', '.join(sorted(missing))}) : impossible de la migrer."
            )
        context.get_context().stamp(
            ScriptDirectory.from_config(context.config), CREATE_ALL_ERA_REVISION
        )
    with context.begin_transaction():
        context.run_migrations()
