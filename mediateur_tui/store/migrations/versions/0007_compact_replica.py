"""a compact replica

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 15:00:00.000000

`carnet` gains `ref INTEGER PRIMARY KEY` (its rowid) and keeps its number `id` as a unique key;
`pass` becomes `(code, carnet_ref)` WITHOUT ROWID: the programme is the carnet's, and the index
on the carnet is gone. About 95 bytes per pass on disk become about 35.

Every pass and carnet is copied; nothing else changes: redemptions, revocations, the region's
answers and the attributions name a pass by its code and a carnet by its number, never by a
rowid. The rows are copied in key order, so the new tables are written page after page.
"""

from pathlib import Path

import sqlalchemy as sa
import sqlmodel
from alembic import op

from mediateur_tui.store.errors import DatabaseDamaged

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "carnet_new",
        sa.Column("ref", sa.Integer(), nullable=False),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("programme_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("attributed_on", sa.Date(), nullable=True),
        sa.Column("beneficiary_ref", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(["programme_id"], ["programme.id"]),
        sa.PrimaryKeyConstraint("ref"),
        sa.UniqueConstraint("id"),
    )
    op.execute(
        "INSERT INTO carnet_new (id, programme_id, size, attributed_on, beneficiary_ref) "
        "SELECT id, programme_id, size, attributed_on, beneficiary_ref FROM carnet ORDER BY id"
    )
    op.create_table(
        "pass_new",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("carnet_ref", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["carnet_ref"], ["carnet_new.ref"]),
        sa.PrimaryKeyConstraint("code"),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO pass_new (code, carnet_ref) SELECT p.code, c.ref "
        "FROM pass p JOIN carnet_new c ON c.id = p.carnet_id ORDER BY p.code"
    )
    # A pass whose carnet is missing (a file written with foreign keys off) would be left out
    # and read as unknown: refuse to convert such a file rather than lose it silently.
    connection = op.get_bind()
    kept = connection.exec_driver_sql("SELECT count(*) FROM pass_new").scalar_one()
    held = connection.exec_driver_sql("SELECT count(*) FROM pass").scalar_one()
    if kept != held:
        verb = "renvoie" if held - kept == 1 else "renvoient"
        raise DatabaseDamaged(
            Path(str(connection.engine.url.database)),
            f"{held - kept} pass de la réplique {verb} à un carnet absent",
        )
    # The children first: with foreign keys on, a parent still referenced cannot be dropped.
    op.drop_table("pass")
    op.drop_table("carnet")
    # SQLite's RENAME also rewrites pass_new's reference to carnet_new.
    op.rename_table("carnet_new", "carnet")
    op.rename_table("pass_new", "pass")
    op.create_index("ix_carnet_beneficiary_ref", "carnet", ["beneficiary_ref"])


def downgrade() -> None:
    op.create_table(
        "carnet_old",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("programme_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("attributed_on", sa.Date(), nullable=True),
        sa.Column("beneficiary_ref", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(["programme_id"], ["programme.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute(
        "INSERT INTO carnet_old (id, programme_id, size, attributed_on, beneficiary_ref) "
        "SELECT id, programme_id, size, attributed_on, beneficiary_ref FROM carnet"
    )
    op.create_table(
        "pass_old",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("carnet_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("programme_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(["carnet_id"], ["carnet_old.id"]),
        sa.ForeignKeyConstraint(["programme_id"], ["programme.id"]),
        sa.PrimaryKeyConstraint("code"),
    )
    op.execute(
        "INSERT INTO pass_old (code, carnet_id, programme_id) SELECT p.code, c.id, c.programme_id "
        "FROM pass p JOIN carnet c ON c.ref = p.carnet_ref"
    )
    op.drop_table("pass")
    op.drop_table("carnet")
    op.rename_table("carnet_old", "carnet")
    op.rename_table("pass_old", "pass")
    op.create_index("ix_carnet_beneficiary_ref", "carnet", ["beneficiary_ref"])
    op.create_index("ix_pass_carnet_id", "pass", ["carnet_id"])
