"""The hub's tables, in their own SQLModel registry.

They are kept out of SQLModel's default metadata, which belongs to the site's store (its
migration test compares that metadata with its schema). The hub's schema is managed by its
own Alembic migrations (mediateur_tui/hub/migrations): a change of these tables needs a new
revision there, and HUB_SCHEMA_REVISION in hub/database.py moved to it (tests/hub/
test_migrations.py compares the migrated schema with this metadata).

Dates are calendar days; instants are aware UTC datetimes (SQLModel refuses naive ones).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, Text, false, text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from mediateur_tui.domain.site_identity import SiteIdentity, identity_of

hub_registry = registry()

ALL_SITES = "*"


class HubTable(SQLModel, registry=hub_registry):
    """Base class of every hub table (not a table itself)."""


class HubRegion(HubTable, table=True):
    """The one region this hub speaks for.

    `beneficiary_key_fingerprint`: SHA-256 (hex) of the region's beneficiary key, recorded
    when the key is made or first loaded; the hub then refuses to open with another key file
    or none (hub.database). NULL only in a database no hub has opened since revision 0002.
    """

    __tablename__ = "hub_region"
    id: str = Field(primary_key=True)
    public_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime
    beneficiary_key_fingerprint: str | None = None


class HubProgramme(HubTable, table=True):
    __tablename__ = "hub_programme"
    id: str = Field(primary_key=True)
    label: str
    value_cents: int
    valid_from: date
    valid_until: date
    grace_until: date
    sites: str = Field(default='["*"]', description='JSON list of site ids, or ["*"]')


class HubSite(HubTable, table=True):
    """A site; `public_key` and `api_key_hash` are set when it completes its enrolment.

    `distributor`: the region lets this site hand out carnets (POST /v1/attributions); its
    enrolment answer then carries the region's beneficiary key.

    `revoked_at`: when the region struck the site off (`mediateur-hub revoke-site`): from
    then on its API key is refused and its documents signed at or after it too; what it sent
    before stands. A new enrolment of the site clears it (its keys are replaced).

    `pivot` (SIRET or RNA number), `code_insee`, `code_postal`: the site's identity in the
    national schema of lieux de médiation numérique (domain.site_identity), all three or none
    (a site enrolled before the hub recorded them, or without them).
    """

    __tablename__ = "hub_site"
    id: str = Field(primary_key=True)
    name: str
    public_key: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    api_key_hash: str | None = Field(default=None, unique=True)
    created_at: datetime
    enrolled_at: datetime | None = None
    distributor: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    revoked_at: datetime | None = None
    pivot: str | None = None
    code_insee: str | None = None
    code_postal: str | None = None

    def identity(self) -> SiteIdentity | None:
        return identity_of(
            {"pivot": self.pivot, "code_insee": self.code_insee, "code_postal": self.code_postal}
        )


class HubEnrolmentToken(HubTable, table=True):
    """A one-time enrolment token; only its SHA-256 is stored."""

    __tablename__ = "hub_enrolment_token"
    token_hash: str = Field(primary_key=True)
    site_id: str = Field(foreign_key="hub_site.id", index=True)
    name: str
    created_at: datetime
    used_at: datetime | None = None


class HubRegionKey(HubTable, table=True):
    """One of the region's signing keys (hub.region_keys): its public half, its signing window
    and, once revoked, the day from which what it signed is not trusted. The first key's
    private half is the file `region_ed25519.key`, each later one's `region_ed25519-<KID>.key`
    (hub.database). Keys are listed in key sets in `created_at` order."""

    __tablename__ = "hub_region_key"
    kid: str = Field(primary_key=True)
    region_id: str = Field(foreign_key="hub_region.id")
    public_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    valid_from: date
    sign_until: date | None = None
    revoked_from: date | None = None
    created_at: datetime


class HubKeySet(HubTable, table=True):
    """A key set the region published (pn-key-set/1, signed), as JSON: every replica page,
    snapshot and enrolment answer carries them all, in `sequence` order."""

    __tablename__ = "hub_key_set"
    sequence: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime


class HubCarnet(HubTable, table=True):
    """A carnet; `issued_on` (the day, in France) and `kid` (the key that signed its passes)
    are NULL for carnets issued before revision 0006."""

    __tablename__ = "hub_carnet"
    id: str = Field(primary_key=True)
    programme_id: str = Field(foreign_key="hub_programme.id", index=True)
    size: int
    attributed_on: date | None = None
    beneficiary_ref: str | None = Field(default=None, index=True)
    issued_on: date | None = None
    kid: str | None = None


class HubPass(HubTable, table=True):
    __tablename__ = "hub_pass"
    code: str = Field(primary_key=True)
    carnet_id: str = Field(foreign_key="hub_carnet.id", index=True)
    programme_id: str = Field(foreign_key="hub_programme.id")
    position: int


class HubRevocation(HubTable, table=True):
    __tablename__ = "hub_revocation"
    code: str = Field(primary_key=True, foreign_key="hub_pass.code")
    reason: str
    revoked_on: date
    created_at: datetime


class HubChange(HubTable, table=True):
    """The append-only change log that replica pages and snapshots are cut from.

    `seq` only grows: every writing transaction holds the write lock (hub.database) before it
    appends, so changes commit in `seq` order and a cursor never skips one. It is a 64-bit
    integer: BIGINT on PostgreSQL; on SQLite an INTEGER, which is 64-bit there, and which
    AUTOINCREMENT requires.
    """

    __tablename__ = "hub_change"
    __table_args__ = {"sqlite_autoincrement": True}
    seq: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    kind: str
    body: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime


class HubBatch(HubTable, table=True):
    """A received pn-batch/1, kept whole, with the signed pn-ack/1 the hub answered."""

    __tablename__ = "hub_batch"
    # A site's statement reads its batches of one month, its recovery all of them (0012);
    # no query looks for a month's batches of every site.
    __table_args__ = (Index("ix_hub_batch_site_id_period", "site_id", "period"),)
    batch_id: str = Field(primary_key=True)
    site_id: str = Field(foreign_key="hub_site.id")
    period: str
    sequence: int
    received_at: datetime
    document_hash: str
    document: str = Field(sa_column=Column(Text, nullable=False))
    ack: str = Field(sa_column=Column(Text, nullable=False))


class HubLine(HubTable, table=True):
    """One redemption line of a received batch, with the hub's verdict. Every line is kept.

    `first_redemption_id` equals `redemption_id` on the line that first brought this id to the
    hub (the one that counts); it is NULL on a replay of the id in a later batch
    (`replay_of_batch_id` names the batch of the first line) and on a repeat of the id in
    the same batch (`duplicate_line`). Being UNIQUE, it makes each id settle once.
    """

    __tablename__ = "hub_line"
    batch_id: str = Field(primary_key=True, foreign_key="hub_batch.batch_id")
    line_index: int = Field(primary_key=True)
    # Not indexed (revision 0010): the first line of each id is found by first_redemption_id.
    redemption_id: str
    first_redemption_id: str | None = Field(default=None, unique=True)
    replay_of_batch_id: str | None = None
    site_id: str = Field(index=True)
    code: str
    redeemed_at: datetime
    value_cents: int
    verdict: str
    reason: str | None = None
    winner_site_id: str | None = None
    winner_redeemed_at: datetime | None = None
    # The line's session in its batch (a hub_batch_session); NULL on lines received before
    # revision 0009.
    session_id: int | None = None


class HubBatchSession(HubTable, table=True):
    """A session of a received batch, with the activity summary its site sent
    (protocol/activity.py, as JSON), or NULL from a site older than the summary."""

    __tablename__ = "hub_batch_session"
    batch_id: str = Field(primary_key=True, foreign_key="hub_batch.batch_id")
    session_id: int = Field(primary_key=True)
    site_id: str = Field(index=True)
    kind: str
    duration_minutes: int
    activity: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class HubUsedPass(HubTable, table=True):
    """A pass the region has accepted once: claimed by a declared line, paid by a batch line.

    The primary key on `code` is what makes "paid once" hold even when two intakes run at
    the same time, on SQLite and PostgreSQL alike: the second insert fails. A pass accepted
    from a declaration (`declaration_id`) has no `batch_id` until the site's batch brings
    the same redemption; a cancelled declared line deletes its row (the pass is released).
    """

    __tablename__ = "hub_used_pass"
    code: str = Field(primary_key=True, foreign_key="hub_pass.code")
    redemption_id: str
    batch_id: str | None = Field(default=None, foreign_key="hub_batch.batch_id")
    declaration_id: str | None = None
    site_id: str
    redeemed_at: datetime


class HubDeclaredLine(HubTable, table=True):
    """One redemption a site declared the day it happened (pn-declaration/1), with the
    region's verdict, decided by the same rules as a batch line. Keyed by the redemption id:
    a line declared again keeps its first verdict.

    `line` and `session` are the JSON objects as the site sent them (for pn-site-recovery/1);
    `cancelled_at`/`cancel_reason` are set when the site cancelled it before any batch;
    `batch_id` when a batch brought the same redemption (the batch line pays, not this one).
    """

    __tablename__ = "hub_declared_line"
    # Only the lines no batch has brought yet are looked for by site: about a month's, and
    # those the site cancelled. The index holds those alone (0012), so a site's recovery reads
    # none of the lines its batches of earlier months brought.
    __table_args__ = (
        Index(
            "ix_hub_declared_line_outstanding",
            "site_id",
            sqlite_where=text("batch_id IS NULL"),
            postgresql_where=text("batch_id IS NULL"),
        ),
    )
    redemption_id: str = Field(primary_key=True)
    site_id: str = Field(foreign_key="hub_site.id")
    declaration_id: str = Field(index=True)
    code: str = Field(index=True)
    line: str = Field(sa_column=Column(Text, nullable=False))
    session: str = Field(sa_column=Column(Text, nullable=False))
    redeemed_at: datetime
    value_cents: int
    verdict: str
    reason: str | None = None
    winner_site_id: str | None = None
    winner_redeemed_at: datetime | None = None
    declared_at: datetime
    received_at: datetime
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    batch_id: str | None = Field(default=None, foreign_key="hub_batch.batch_id")


class HubAttribution(HubTable, table=True):
    """One attribution of carnets received from a distributor site (pn-attributions/1), with the
    region's answer. Every attribution is kept, accepted or refused; a later post of the same
    `id` gets this stored result back, whatever it says.

    `carnets` is the JSON list of carnet ids as the site sent it; `beneficiary_passes` is what
    the answer said: the passes the region counts for the beneficiary after this attribution
    (accepted) or before it (refused).
    """

    __tablename__ = "hub_attribution"
    # An experiment's quota sums its category's attributions within a window (revision 0011).
    __table_args__ = (Index("ix_hub_attribution_category_received_on", "category", "received_on"),)
    id: str = Field(primary_key=True)
    site_id: str = Field(foreign_key="hub_site.id", index=True)
    beneficiary_ref: str = Field(index=True)
    category: str
    rulebook: str
    received_on: date
    attributed_at: datetime
    accompanied: bool
    establishment: str | None = None
    carnets: str = Field(sa_column=Column(Text, nullable=False))
    passes: int
    verdict: str
    reason: str | None = None
    message: str = Field(sa_column=Column(Text, nullable=False))
    beneficiary_passes: int
    received_at: datetime


class HubRulebook(HubTable, table=True):
    """A rulebook version the region published (`mediateur-hub rulebook publish`), beside the
    ones shipped in the package. `document` is the pn-rulebook/1 as published (JSON, without
    signature); a version is never edited once published."""

    __tablename__ = "hub_rulebook"
    id: str = Field(primary_key=True)
    effective_from: date
    title: str
    document: str = Field(sa_column=Column(Text, nullable=False))
    published_at: datetime
