"""attributions by distributor sites

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 16:00:00

Attributions by distributor sites (docs/protocol.md, "Attributions"): a site may be a
distributor (hub_site.distributor, false for the sites already there), the attributions
distributors send are kept with the region's answer (hub_attribution), the carnets'
beneficiary reference is indexed (the per-person cap sums the carnets of a reference), and
the region records the fingerprint of its beneficiary key (hub_region.beneficiary_key_fingerprint,
NULL until the hub next opens and records it).
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hub_region", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "beneficiary_key_fingerprint", sqlmodel.sql.sqltypes.AutoString(), nullable=True
            )
        )
    with op.batch_alter_table("hub_site", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("distributor", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("hub_carnet", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hub_carnet_beneficiary_ref"), ["beneficiary_ref"], unique=False
        )

    op.create_table(
        "hub_attribution",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("site_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("beneficiary_ref", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("rulebook", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("attributed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("accompanied", sa.Boolean(), nullable=False),
        sa.Column("establishment", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("carnets", sa.Text(), nullable=False),
        sa.Column("passes", sa.Integer(), nullable=False),
        sa.Column("verdict", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("beneficiary_passes", sa.Integer(), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["hub_site.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("hub_attribution", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hub_attribution_beneficiary_ref"), ["beneficiary_ref"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_hub_attribution_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_hub_attribution_site_id"), ["site_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hub_attribution", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hub_attribution_site_id"))
        batch_op.drop_index(batch_op.f("ix_hub_attribution_category"))
        batch_op.drop_index(batch_op.f("ix_hub_attribution_beneficiary_ref"))

    op.drop_table("hub_attribution")
    with op.batch_alter_table("hub_carnet", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hub_carnet_beneficiary_ref"))

    with op.batch_alter_table("hub_site", schema=None) as batch_op:
        batch_op.drop_column("distributor")

    with op.batch_alter_table("hub_region", schema=None) as batch_op:
        batch_op.drop_column("beneficiary_key_fingerprint")
