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
    present = set(inspector.get_table_names())  # a missing table is Alembic's add_table
    differences = []
    for table in metadata.sorted_tables:
        if table.name not in present:
            continue
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
    """A WHERE clause spelled one way: PostgreSQL gives `batch_id IS NULL` back as
    "(batch_id IS NULL)", SQLite as written. Only whitespace and the parentheses around the
    whole clause are dropped, so two clauses that differ in anything else still differ."""
    if where is None:
        return None
    text = re.sub(r"\s+", " ", str(where)).strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> bool:
    """Whether every parenthesis of `text` closes one opened before it in `text`."""
    depth = 0
    for character in text:
        depth += {"(": 1, ")": -1}.get(character, 0)
        if depth < 0:
            return False
    return depth == 0


def revision_of(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
