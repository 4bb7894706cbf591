"""sites struck off by the region

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 08:00:00

The region may strike a site off (`mediateur-hub revoke-site`, e.g. after its computer was
stolen): hub_site.revoked_at, the instant from which its API key and the documents it signs
are refused. NULL for the sites already there (none is struck off).
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hub_site", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("hub_site", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
