"""What the site's and the hub's migration tests both ask of a migrated database."""

from __future__ import annotations

import re

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData, inspect


def schema_diff(engine: Engine, metadata: MetaData) -> list:
    """Alembic's differences between the database's schema and the models (empty when equal),
    and those of the partial indexes' WHERE, which Alembic does not compare."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return compare_metadata(context, metadata) + _partial_index_diff(engine, metadata)


def _partial_index_diff(engine: Engine, metadata: MetaData) -> list:
    """("index_where", table, index, in the database, in the models) for each index whose WHERE
    (none for a full index) differs."""
    dialect = engine.dialect.name
    inspector = inspect(engine)
    differences = []
    for table in metadata.sorted_tables:
        stored = {
            index["name"]: _clause(index.get("dialect_options", {}).get(f"{dialect}_where"))
            for index in inspector.get_indexes(table.name)
        }
        for index in table.indexes:
            wanted = _clause(index.dialect_options[dialect]["where"])
            if index.name in stored and stored[index.name] != wanted:
                differences.append(
                    ("index_where", table.name, index.name, stored[index.name], wanted)
                )
    return differences


def _clause(where: object) -> str | None:
    """A WHERE clause as both databases give it back ("(batch_id IS NULL)"), spelled one way."""
    if where is None:
        return None
    return re.sub(r"\s+", " ", str(where).replace("(", "").replace(")", "")).strip().lower()


def revision_of(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
