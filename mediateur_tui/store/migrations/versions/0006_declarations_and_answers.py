"""declarations and the region's answers

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 14:00:00.000000

`redemption.declared_at` and `cancellation.declared_at`: when the region acknowledged the
declaration of a redemption or of its cancellation (NULL: still in the outbox).
`region_answer`: the region's word on each redemption of this site, from a declaration's
answer or a batch's acknowledgement, and when a sync report last said it. The answers of the
acknowledgements already imported are copied in, as already reported.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs: a batch (copy and drop) would break the foreign keys naming them.
    for table in ("redemption", "cancellation"):
        op.add_column(
            table, sa.Column("declared_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    op.create_table(
        "region_answer",
        sa.Column("redemption_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("verdict", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("winner_site_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("winner_redeemed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("answered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("reported_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["redemption_id"], ["redemption.id"]),
        sa.PrimaryKeyConstraint("redemption_id"),
    )
    op.execute(
        """
        INSERT OR IGNORE INTO region_answer (redemption_id, verdict, reason, winner_site_id,
                                             winner_redeemed_at, answered_at, reported_at)
        SELECT a.redemption_id, a.verdict, a.reason, a.winner_site_id, a.winner_redeemed_at,
               b.acknowledged_at, b.acknowledged_at
        FROM ack_line a JOIN batch b ON b.batch_id = a.batch_id
        WHERE b.acknowledged_at IS NOT NULL
          AND a.redemption_id IN (SELECT id FROM redemption)
        """
    )


def downgrade() -> None:
    op.drop_table("region_answer")
    for table in ("redemption", "cancellation"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN declared_at")  # SQLite 3.35 and later
