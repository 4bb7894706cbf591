"""hub_batch found by site and month; hub_declared_line's outstanding lines indexed alone

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 08:00:00

A site's monthly statement read every batch the site ever sent through the index on site_id,
then kept those of the month; the index on (site_id, period) reads the month's only, and
serves a search by site as the old one did. No query looks for a month's batches of every
site, so the index on period alone goes too.

A site's recovery, and the list of lines received, look for the declared lines no batch has
brought yet: about a month's, and those the site cancelled, against every line it declared
since it joined. The index on site_id read them all; a partial index on site_id holding only
the lines whose batch_id is NULL reads those alone, and a line leaves it when its batch
arrives. No query looks for a site's declared lines otherwise, so the index on site_id goes.
"""

from alembic import op
from sqlalchemy import text

from mediateur_tui.hub.migrations.sqlite_pages import pages_freed_unzeroed

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

OUTSTANDING = text("batch_id IS NULL")


def upgrade() -> None:
    with pages_freed_unzeroed(op.get_bind()):
        with op.batch_alter_table("hub_batch", schema=None) as batch_op:
            batch_op.create_index("ix_hub_batch_site_id_period", ["site_id", "period"])
            batch_op.drop_index(batch_op.f("ix_hub_batch_site_id"))
            batch_op.drop_index(batch_op.f("ix_hub_batch_period"))
        with op.batch_alter_table("hub_declared_line", schema=None) as batch_op:
            batch_op.create_index(
                "ix_hub_declared_line_outstanding",
                ["site_id"],
                sqlite_where=OUTSTANDING,
                postgresql_where=OUTSTANDING,
            )
            batch_op.drop_index(batch_op.f("ix_hub_declared_line_site_id"))


def downgrade() -> None:
    with op.batch_alter_table("hub_declared_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hub_declared_line_site_id"), ["site_id"])
        batch_op.drop_index("ix_hub_declared_line_outstanding")
    with op.batch_alter_table("hub_batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hub_batch_period"), ["period"])
        batch_op.create_index(batch_op.f("ix_hub_batch_site_id"), ["site_id"])
        batch_op.drop_index("ix_hub_batch_site_id_period")
