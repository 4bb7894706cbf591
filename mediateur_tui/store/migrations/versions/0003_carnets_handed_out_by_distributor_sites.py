"""carnets handed out by distributor sites

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 15:39:44.180399

Distributor sites (docs/protocol.md, « Attributions »): the carnets this site handed out, each
attribution with its pseudonymous beneficiary reference, the decision and the region's answer;
an index on the replica carnets' beneficiary reference, for the passes a person already
received.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("carnet", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carnet_beneficiary_ref"), ["beneficiary_ref"])
    op.create_table(
        "attribution",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("beneficiary_ref", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("rulebook", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("accompanied", sa.Boolean(), nullable=False),
        sa.Column("establishment", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("passes", sa.Integer(), nullable=False),
        sa.Column("second_carnet_on_request", sa.Boolean(), nullable=False),
        sa.Column("reasons", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("attributed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("answered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("verdict", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("region_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("region_message", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operator.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("attribution", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attribution_attributed_at"), ["attributed_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_attribution_beneficiary_ref"), ["beneficiary_ref"], unique=False
        )

    op.create_table(
        "attribution_carnet",
        sa.Column("attribution_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("carnet_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attribution_id"],
            ["attribution.id"],
        ),
        sa.PrimaryKeyConstraint("attribution_id", "carnet_id"),
    )
    with op.batch_alter_table("attribution_carnet", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attribution_carnet_carnet_id"), ["carnet_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("carnet", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carnet_beneficiary_ref"))
    with op.batch_alter_table("attribution_carnet", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attribution_carnet_carnet_id"))

    op.drop_table("attribution_carnet")
    with op.batch_alter_table("attribution", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attribution_beneficiary_ref"))
        batch_op.drop_index(batch_op.f("ix_attribution_attributed_at"))

    op.drop_table("attribution")
