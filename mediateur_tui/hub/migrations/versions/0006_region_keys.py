"""region keys: the region may rotate and revoke its signing keys

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 11:00:00

The region's signing keys (hub_region_key, one row a key: its signing window and, once
revoked, the day from which its signatures are not trusted) and the key sets it published
(hub_key_set, each signed pn-key-set/1 as JSON). The region's key so far becomes its first
key: kid computed here as domain/signatures.key_id does (the first 5 bytes of the key's
SHA-256 in base32, no padding), valid from the region's creation day in France, still
signing. Carnets gain the day they were issued (issued_on) and the kid of the key that signed
their passes: NULL for the carnets already there.
"""

import base64
import hashlib
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

REGION_TZ = ZoneInfo("Europe/Paris")  # the region's calendar (domain.formatting.LOCAL_TZ)


def upgrade() -> None:
    region_key = op.create_table(
        "hub_region_key",
        sa.Column("kid", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("region_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("sign_until", sa.Date(), nullable=True),
        sa.Column("revoked_from", sa.Date(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["region_id"], ["hub_region.id"]),
        sa.PrimaryKeyConstraint("kid"),
    )
    op.create_table(
        "hub_key_set",
        sa.Column("sequence", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sequence"),
    )
    with op.batch_alter_table("hub_carnet", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issued_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("kid", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    assert region_key is not None
    op.bulk_insert(region_key, [_first_key(*row) for row in _regions()])


def _regions() -> list[tuple[str, bytes, datetime]]:
    region = sa.table(
        "hub_region",
        sa.column("id", sa.String()),
        sa.column("public_key", sa.LargeBinary()),
        sa.column("created_at", sqlmodel.sql.sqltypes.UTCDateTime()),
    )
    rows = op.get_bind().execute(sa.select(region.c.id, region.c.public_key, region.c.created_at))
    return [(region_id, bytes(key), created_at) for region_id, key, created_at in rows]


def _first_key(region_id: str, public_key: bytes, created_at: datetime) -> dict[str, object]:
    kid = base64.b32encode(hashlib.sha256(public_key).digest()[:5]).decode("ascii").rstrip("=")
    created = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
    return {
        "kid": kid,
        "region_id": region_id,
        "public_key": public_key,
        "valid_from": created.astimezone(REGION_TZ).date(),
        "sign_until": None,
        "revoked_from": None,
        "created_at": created,
    }


def downgrade() -> None:
    with op.batch_alter_table("hub_carnet", schema=None) as batch_op:
        batch_op.drop_column("kid")
        batch_op.drop_column("issued_on")
    op.drop_table("hub_key_set")
    op.drop_table("hub_region_key")
