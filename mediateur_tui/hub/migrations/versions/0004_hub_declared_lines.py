"""declared lines: redemptions reach the region the day they happen

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10 10:00:00

A site now declares each redemption (and each cancellation) as soon as it is online
(pn-declaration/1), before its monthly batch. New table hub_declared_line, one row per declared
redemption id with the region's verdict. An accepted declared line claims its pass at once, so
hub_used_pass.batch_id becomes nullable (the batch comes later) and hub_used_pass gains
declaration_id, the declaration that claimed the pass.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hub_used_pass", schema=None) as batch_op:
        batch_op.alter_column(
            "batch_id", existing_type=sqlmodel.sql.sqltypes.AutoString(), nullable=True
        )
        batch_op.add_column(
            sa.Column("declaration_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
    op.create_table(
        "hub_declared_line",
        sa.Column("redemption_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("site_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("declaration_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("session", sa.Text(), nullable=False),
        sa.Column("redeemed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("value_cents", sa.Integer(), nullable=False),
        sa.Column("verdict", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("winner_site_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("winner_redeemed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("declared_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("cancelled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("cancel_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("batch_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["hub_batch.batch_id"]),
        sa.ForeignKeyConstraint(["site_id"], ["hub_site.id"]),
        sa.PrimaryKeyConstraint("redemption_id"),
    )
    with op.batch_alter_table("hub_declared_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hub_declared_line_code"), ["code"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_hub_declared_line_declaration_id"), ["declaration_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_hub_declared_line_site_id"), ["site_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hub_declared_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hub_declared_line_site_id"))
        batch_op.drop_index(batch_op.f("ix_hub_declared_line_declaration_id"))
        batch_op.drop_index(batch_op.f("ix_hub_declared_line_code"))
    op.drop_table("hub_declared_line")
    # A pass claimed by a declaration only has no batch: its claim cannot be kept in 0003.
    op.execute("DELETE FROM hub_used_pass WHERE batch_id IS NULL")
    with op.batch_alter_table("hub_used_pass", schema=None) as batch_op:
        batch_op.drop_column("declaration_id")
        batch_op.alter_column(
            "batch_id", existing_type=sqlmodel.sql.sqltypes.AutoString(), nullable=False
        )
