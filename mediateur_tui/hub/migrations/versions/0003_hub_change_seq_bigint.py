"""hub_change.seq as a 64-bit integer

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00

The change log's sequence number, the replica cursor, becomes a BIGINT on PostgreSQL, where
it was a 32-bit INTEGER (SERIAL): a cursor above 2,147,483,647 could not even be compared with
it. Its sequence becomes a bigint sequence too, or it would still stop at 2^31 - 1. On SQLite
the column stays INTEGER, already 64-bit there (and the only type AUTOINCREMENT accepts), so
nothing changes.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The sequence PostgreSQL made for the SERIAL column of revision 0001.
_PG_SEQUENCE = "hub_change_seq_seq"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.alter_column(
        "hub_change",
        "seq",
        existing_type=sa.Integer(),
        type_=sa.BigInteger(),
        existing_nullable=False,
    )
    op.execute(f"ALTER SEQUENCE {_PG_SEQUENCE} AS BIGINT")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER SEQUENCE {_PG_SEQUENCE} AS INTEGER")
    op.alter_column(
        "hub_change",
        "seq",
        existing_type=sa.BigInteger(),
        type_=sa.Integer(),
        existing_nullable=False,
    )
