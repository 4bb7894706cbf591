"""the activity of the sessions a batch remits

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 18:00:00

A batch's sessions may carry their activity summary (La Coop de la médiation numérique:
day, place type, thématiques, participants, anonymous counts; protocol/activity.py). New
table hub_batch_session, one row per session of a received batch, with the summary as JSON
(NULL from a site older than it), and hub_line.session_id, the session of each line, so that
the statement joins payments to activity. Batches received before are filled in from their
stored documents: a site may send the summary before its hub knows it (the hub kept the
document whole); a summary the hub would refuse is kept as none.
"""

import json

import sqlalchemy as sa
import sqlmodel
from alembic import op

from mediateur_tui.protocol.activity import parse_summary
from mediateur_tui.protocol.documents import dump_json
from mediateur_tui.protocol.errors import ProtocolError

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
    _fill_in_received_batches()


def _fill_in_received_batches() -> None:
    connection = op.get_bind()
    batches = connection.execute(sa.text("SELECT batch_id, site_id, document FROM hub_batch"))
    for batch_id, site_id, text in batches.fetchall():
        document = json.loads(text)
        rows = {}
        for item in document.get("sessions", []):
            rows[item["id"]] = {
                "batch_id": batch_id,
                "session_id": item["id"],
                "site_id": site_id,
                "kind": item["kind"],
                "duration_minutes": item["duration_minutes"],
                "activity": _summary(item.get("activity")),
            }
        if rows:
            connection.execute(
                sa.text(
                    "INSERT INTO hub_batch_session (batch_id, session_id, site_id, kind, "
                    "duration_minutes, activity) VALUES (:batch_id, :session_id, :site_id, "
                    ":kind, :duration_minutes, :activity)"
                ),
                list(rows.values()),
            )
        lines = [
            {"batch_id": batch_id, "index": index, "session_id": line.get("session_id")}
            for index, line in enumerate(document.get("redemptions", []))
        ]
        if lines:
            connection.execute(
                sa.text(
                    "UPDATE hub_line SET session_id = :session_id "
                    "WHERE batch_id = :batch_id AND line_index = :index"
                ),
                lines,
            )


def _summary(activity: object) -> str | None:
    if activity is None:
        return None
    try:
        return dump_json(parse_summary(activity, "Séance").document()).decode()
    except ProtocolError:
        return None


def downgrade() -> None:
    with op.batch_alter_table("hub_line", schema=None) as batch_op:
        batch_op.drop_column("session_id")
    with op.batch_alter_table("hub_batch_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hub_batch_session_site_id"))
    op.drop_table("hub_batch_session")
