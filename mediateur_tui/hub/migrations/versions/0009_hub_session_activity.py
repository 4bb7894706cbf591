"""the activity of the sessions a batch remits

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 18:00:00

A batch's sessions may carry their activity summary (La Coop de la médiation numérique:
day, place type, thématiques, participants, anonymous counts; protocol/activity.py). New
table hub_batch_session, one row per session of a received batch, with the summary as JSON
(NULL from a site older than it), and hub_line.session_id, the session of each line, so that
the statement joins payments to activity. Batches received before keep no session rows and
their lines no session: they carried no activity.
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
        "hub_batch_session",
        sa.Column("batch_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("activity", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["hub_batch.batch_id"]),
        sa.PrimaryKeyConstraint("batch_id", "session_id"),
    )
    with op.batch_alter_table("hub_batch_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hub_batch_session_site_id"), ["site_id"], unique=False)
    op.add_column("hub_line", sa.Column("session_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hub_line", schema=None) as batch_op:
        batch_op.drop_column("session_id")
    with op.batch_alter_table("hub_batch_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hub_batch_session_site_id"))
    op.drop_table("hub_batch_session")
