"""operators removed

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:00:00.000000

An operator account can be removed (`mediateur-tui operator remove`): its row stays, since the
redemptions, sessions and audit events it made name it, but it can no longer log in.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: a batch (copy and drop) of `operator` would break the foreign keys
    # of every table that names an operator.
    op.add_column(
        "operator", sa.Column("removed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
    )


def downgrade() -> None:
    op.execute("ALTER TABLE operator DROP COLUMN removed_at")  # SQLite 3.35 and later
