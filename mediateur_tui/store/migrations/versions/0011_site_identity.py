"""the sites' identity in the national schema of lieux de médiation numérique

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 18:00:00.000000

The replica's `site` change carries a site's SIRET or RNA number (`pivot`), the INSEE code of
its commune and its postcode when the region gave them: the site table keeps them, NULL for a
site the region gave none (every site already there, until the next sync brings them).
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

COLUMNS = ("pivot", "code_insee", "code_postal")


def upgrade() -> None:
    with op.batch_alter_table("site", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("site", schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
