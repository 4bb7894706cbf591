"""the sites' identity in the national schema of lieux de médiation numérique

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 18:00:00

hub_site.pivot (the structure's SIRET, or its RNA number), code_insee and code_postal (its
commune), given at enrolment (`mediateur-hub enrol-site --siret … --code-insee …
--code-postal …`) or later (`mediateur-hub site-identity`). NULL for the sites already there:
the region gives them theirs when it knows them.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = ("pivot", "code_insee", "code_postal")


def upgrade() -> None:
    with op.batch_alter_table("hub_site", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hub_site", schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
