"""sessions in the vocabulary of La Coop de la médiation numérique

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 14:00:00.000000

A session records the activity as La Coop de la médiation numérique does (domain/activity.py,
docs/coop-activite.md): its day, place type and commune, equipment, thématiques, for an
individuel the autonomy and the referral, for an atelier its level and participants, and the
beneficiaries' anonymous counts; lists and counts are JSON text. Existing sessions keep their
type (`kind`) and duration; their day is the day (French time) they started, their place the
site itself, their free-text `themes` become tags (split on commas and semicolons), and they
have no thématique: they export with what they have.
"""

import json
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TEXT_COLUMNS = (
    "place_type",
    "place_code_postal",
    "place_code_insee",
    "place_commune",
    "equipment",
    "thematiques",
    "precisions_demarche",
    "autonomie",
    "redirection",
    "niveau",
    "genres",
    "tranches_age",
    "statuts",
    "beneficiary_code_postal",
    "beneficiary_code_insee",
    "beneficiary_commune",
    "tags",
)
_PARIS = ZoneInfo("Europe/Paris")


def upgrade() -> None:
    op.add_column("desk_session", sa.Column("activity_date", sa.Date(), nullable=True))
    for name in _TEXT_COLUMNS:
        op.add_column(
            "desk_session", sa.Column(name, sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
    op.add_column("desk_session", sa.Column("oriented", sa.Boolean(), nullable=True))
    op.add_column("desk_session", sa.Column("participants", sa.Integer(), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, started_at, themes FROM desk_session")).all()
    for session_id, started_at, themes in rows:
        connection.execute(
            sa.text(
                "UPDATE desk_session SET activity_date = :day, place_type = 'lieu_activite', "
                "equipment = '[]', thematiques = '[]', genres = '{}', tranches_age = '{}', "
                "statuts = '{}', tags = :tags WHERE id = :id"
            ),
            {"id": session_id, "day": _local_day(started_at), "tags": _tags(themes or "")},
        )


def _local_day(started_at: str) -> str:
    """The day in French time of a start stored as UTC text."""
    moment = datetime.fromisoformat(str(started_at))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(_PARIS).date().isoformat()


def _tags(themes: str) -> str:
    parts = (part.strip() for part in re.split(r"[,;]", themes))
    return json.dumps(list(dict.fromkeys(part for part in parts if part)), ensure_ascii=False)


def downgrade() -> None:
    # SQLite's own DROP COLUMN: a batch copy of the table would break the redemptions'
    # foreign keys to it.
    for name in ("activity_date", *_TEXT_COLUMNS, "oriented", "participants"):
        op.drop_column("desk_session", name)
