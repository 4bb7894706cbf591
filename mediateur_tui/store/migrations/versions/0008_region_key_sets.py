"""the region's key sets

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:30:00.000000

The region's keys change over the years (docs/protocol.md, « Clés de la région »):
`replica_meta.region_key_set` keeps the latest key set the site followed (JSON; NULL: the
region's first key alone), and `carnet.issued_on` the day the region issued a carnet (NULL for
the carnets already there: issued before the replica carried the day).
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("replica_meta", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("region_key_set", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
    op.add_column("carnet", sa.Column("issued_on", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("carnet", "issued_on")
    with op.batch_alter_table("replica_meta", schema=None) as batch_op:
        batch_op.drop_column("region_key_set")
