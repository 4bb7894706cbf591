"""rulebooks published by the region

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:00:00

The region publishes a new rulebook version without a software release
(`mediateur-hub rulebook publish FILE`): hub_rulebook keeps each version published, whole
(`document`, the pn-rulebook/1 as JSON), by its id. None is there yet.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_rulebook",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("published_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("hub_rulebook")
