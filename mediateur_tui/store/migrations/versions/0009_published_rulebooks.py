"""rulebooks published by the region

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 12:00:00.000000

The region publishes new rulebook versions with the replica (a `rulebook` change, signed by
the region): `published_rulebook` keeps each one, whole, beside those shipped in the package.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "published_rulebook",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("document", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("published_rulebook")
