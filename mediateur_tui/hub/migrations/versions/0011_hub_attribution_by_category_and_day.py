"""hub_attribution found by category and day

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 18:00:00

An experiment's quota sums the passes of its category's attributions received within its
window, at every attribution of that category a distributor sends. Through the index on the
category alone that read every attribution of the category ever received, a share of the
table that grows with each one; the index on (category, received_on) reads the window only,
and serves a search by category as the old one did.
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hub_attribution", schema=None) as batch_op:
        batch_op.create_index(
            "ix_hub_attribution_category_received_on", ["category", "received_on"]
        )
        batch_op.drop_index(batch_op.f("ix_hub_attribution_category"))


def downgrade() -> None:
    with op.batch_alter_table("hub_attribution", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hub_attribution_category"), ["category"])
        batch_op.drop_index("ix_hub_attribution_category_received_on")
