"""hub_line without the indexes no query reads

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 18:00:00

Every line an intake stores wrote five index entries, each on a random page of a large
B-tree: the dirty pages it costs, not the rows, bound the speed of an intake. Two of them
served no query: `ix_hub_line_code` (a pass's lines are found through hub_used_pass and
hub_declared_line) and `ix_hub_line_redemption_id` (the first line of each redemption id
carries it in `first_redemption_id`, behind a unique index; a cancellation looks for a replay
of another site's id among its own site's lines, by `ix_hub_line_site_id`).
"""

from alembic import op

from mediateur_tui.hub.migrations.sqlite_pages import pages_freed_unzeroed

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with (
        pages_freed_unzeroed(op.get_bind()),
        op.batch_alter_table("hub_line", schema=None) as batch_op,
    ):
        batch_op.drop_index(batch_op.f("ix_hub_line_code"))
        batch_op.drop_index(batch_op.f("ix_hub_line_redemption_id"))


def downgrade() -> None:
    with op.batch_alter_table("hub_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hub_line_redemption_id"), ["redemption_id"])
        batch_op.create_index(batch_op.f("ix_hub_line_code"), ["code"])
