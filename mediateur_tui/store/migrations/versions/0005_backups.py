"""backups

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 12:00:00.000000

Where the site's backups go (`mediateur-tui backup`, and the app's daily one), how many are
kept, and when the last one was made.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backup_setting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("folder", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("keep", sa.Integer(), nullable=False),
        sa.Column("last_backup_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_backup_file", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("backup_setting")
