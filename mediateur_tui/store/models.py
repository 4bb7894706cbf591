"""SQLModel tables.

Replica tables mirror the region's registry and are never edited by hand. Local tables hold
what happened at this site. A pass can have at most one active (not cancelled) redemption:
the partial unique index `uq_redemption_active_code` makes the database itself refuse a second.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, false, text
from sqlmodel import Field, SQLModel

from mediateur_tui.domain.site_identity import SiteIdentity, identity_of


def stored_id(value: int | None) -> int:
    """The id of a row read from the database, or flushed to it: it always has one."""
    if value is None:
        raise ValueError("this row has no id: it was never stored")
    return value


# --- Replica of the region's registry -------------------------------------------------------


class Site(SQLModel, table=True):
    """A site of the region, from the replica; `pivot` (SIRET or RNA), `code_insee` and
    `code_postal` when the region gave its identity (domain.site_identity)."""

    id: str = Field(primary_key=True)
    name: str
    pivot: str | None = None
    code_insee: str | None = None
    code_postal: str | None = None

    def identity(self) -> SiteIdentity | None:
        return identity_of(
            {"pivot": self.pivot, "code_insee": self.code_insee, "code_postal": self.code_postal}
        )


class Programme(SQLModel, table=True):
    id: str = Field(primary_key=True)
    label: str
    value_cents: int
    valid_from: date
    valid_until: date
    grace_until: date


class ProgrammeSite(SQLModel, table=True):
    """A site where a programme's passes are accepted; `*` stands for every site."""

    __tablename__ = "programme_site"
    programme_id: str = Field(primary_key=True, foreign_key="programme.id")
    site_id: str = Field(primary_key=True)


class Carnet(SQLModel, table=True):
    """A carnet of the registry. `ref` is its row number in this replica (SQLite's rowid), what
    a pass refers to: 1 to 4 bytes per pass instead of the carnet's number. The ORM knows a
    carnet by its number `id` (session.get(Carnet, "C0000123")); `ref` is never shown."""

    __mapper_args__ = {"primary_key": ["id"]}
    ref: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True)
    programme_id: str = Field(foreign_key="programme.id")
    size: int
    attributed_on: date | None = None
    beneficiary_ref: str | None = Field(default=None, index=True)  # pseudonymous (docs/passes.md)
    issued_on: date | None = None  # None: issued before the replica carried issue dates


class PassRecord(SQLModel, table=True):
    """A pass: its code and its carnet, nothing else (the programme is the carnet's). Stored
    WITHOUT ROWID, keyed by the code, and with no index on `carnet_ref`: the few questions
    about a carnet's passes start from the small tables (redemptions, revocations)."""

    __tablename__ = "pass"
    __table_args__ = {"sqlite_with_rowid": False}
    code: str = Field(primary_key=True)
    carnet_ref: int = Field(foreign_key="carnet.ref")


class Revocation(SQLModel, table=True):
    code: str = Field(primary_key=True)
    reason: str
    revoked_on: date


class RemoteRedemption(SQLModel, table=True):
    """A pass the region reports as used at another site."""

    __tablename__ = "remote_redemption"
    code: str = Field(primary_key=True)
    site_id: str
    redeemed_on: date


class PublishedRulebook(SQLModel, table=True):
    """A rulebook version the region published after this release (a `rulebook` change):
    `document` is the pn-rulebook/1 as the region signed it (JSON, signature included)."""

    __tablename__ = "published_rulebook"
    id: str = Field(primary_key=True)
    effective_from: date
    document: str


class ReplicaMeta(SQLModel, table=True):
    """One row describing the replica and this site's identity."""

    __tablename__ = "replica_meta"
    id: int = Field(default=1, primary_key=True)
    region_id: str
    region_public_key: bytes | None = None  # the region's first key, given at enrolment
    region_key_set: str | None = None  # the latest pn-key-set/1 followed (JSON), if any
    site_id: str
    updated_at: datetime | None = None
    pass_count: int = 0


# --- Sync with the region (docs/protocol.md) ---------------------------------------------------


class SyncState(SQLModel, table=True):
    """One row: how this site talks to its region hub. The site's private key is not here: it
    lives in the file `site_ed25519.key` (PEM, mode 0600) in the data directory."""

    __tablename__ = "sync_state"
    id: int = Field(default=1, primary_key=True)
    hub_url: str | None = None
    api_key: str | None = None
    replica_cursor: int = 0  # `until` of the last replica page applied
    enrolled_at: datetime | None = None
    last_sync_at: datetime | None = None
    last_error: str | None = None


class BackupSetting(SQLModel, table=True):
    """One row: where the site's backups go, how many are kept, and the last one made."""

    __tablename__ = "backup_setting"
    id: int = Field(default=1, primary_key=True)
    folder: str | None = None  # the folder of the daily backups (a USB key, a share)
    keep: int = 10
    last_backup_at: datetime | None = None
    last_backup_file: str | None = None
    last_error: str | None = None


class Batch(SQLModel, table=True):
    """A sealed monthly remittance (remise): immutable once written."""

    __tablename__ = "batch"
    batch_id: str = Field(primary_key=True)
    period: str = Field(unique=True)  # YYYY-MM
    sequence: int = Field(unique=True)
    sealed_at: datetime
    previous_hash: str | None = None
    document_hash: str
    document: str  # the signed pn-batch/1 JSON, exactly as sent
    redemption_count: int
    value_cents: int
    refused_count: int
    sent_at: datetime | None = None
    acknowledged_at: datetime | None = None
    ack_document: str | None = None  # the region's signed pn-ack/1 JSON


class AckLine(SQLModel, table=True):
    """The region's verdict on one redemption of a batch."""

    __tablename__ = "ack_line"
    batch_id: str = Field(primary_key=True, foreign_key="batch.batch_id")
    redemption_id: str = Field(primary_key=True, index=True)
    code: str
    verdict: str  # "accepted" | "refused"
    reason: str | None = None
    winner_site_id: str | None = None
    winner_redeemed_at: datetime | None = None


# --- Local data -----------------------------------------------------------------------------


class Operator(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    role: str  # "mediateur" | "responsable" | "distributeur"
    pin_hash: str
    failed_attempts: int = 0  # in a row, since the last success (domain/pins.py)
    last_failure_at: datetime | None = None
    removed_at: datetime | None = None  # a removed account keeps its row but cannot log in


class DeskSession(SQLModel, table=True):
    """A séance: an atelier collectif or an accompagnement individuel."""

    __tablename__ = "desk_session"
    id: int | None = Field(default=None, primary_key=True)
    title: str
    kind: str  # "individuel" | "collectif"
    themes: str = ""
    duration_minutes: int
    operator_id: int = Field(foreign_key="operator.id")
    started_at: datetime
    ended_at: datetime | None = None
    # The activity in La Coop de la médiation numérique's vocabulary (domain/activity.py):
    # database values of its enums; lists and counts as JSON text; NULL in journal lines
    # written before migration 0010, read as the defaults (services/activity.py).
    activity_date: date | None = None
    place_type: str | None = None
    place_code_postal: str | None = None
    place_code_insee: str | None = None
    place_commune: str | None = None
    equipment: str | None = None  # JSON list
    thematiques: str | None = None  # JSON list
    precisions_demarche: str | None = None
    autonomie: str | None = None
    oriented: bool | None = None
    redirection: str | None = None
    niveau: str | None = None
    participants: int | None = None
    genres: str | None = None  # JSON object {value: count}
    tranches_age: str | None = None  # JSON object
    statuts: str | None = None  # JSON object
    beneficiary_code_postal: str | None = None
    beneficiary_code_insee: str | None = None
    beneficiary_commune: str | None = None
    tags: str | None = None  # JSON list


class Redemption(SQLModel, table=True):
    __table_args__ = (
        Index(
            "uq_redemption_active_code",
            "code",
            unique=True,
            sqlite_where=text("cancelled_at IS NULL"),
        ),
    )
    id: str = Field(primary_key=True)  # random, made when the pass is taken
    code: str = Field(index=True)
    session_id: int = Field(foreign_key="desk_session.id", index=True)
    operator_id: int = Field(foreign_key="operator.id")
    redeemed_at: datetime = Field(index=True)
    value_cents: int
    input_method: str  # "scan" | "image" | "cli"
    raw_input: str
    cancelled_at: datetime | None = None
    # Accepted offline on the strength of the region's signature, unknown to the replica.
    provisional: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    batch_id: str | None = Field(default=None, foreign_key="batch.batch_id", index=True)
    declared_at: datetime | None = None  # the region acknowledged its declaration


class Cancellation(SQLModel, table=True):
    redemption_id: str = Field(primary_key=True, foreign_key="redemption.id")
    reason: str
    operator_id: int = Field(foreign_key="operator.id")
    cancelled_at: datetime
    declared_at: datetime | None = None  # the region acknowledged its declaration


class RegionAnswer(SQLModel, table=True):
    """The region's word on a redemption of this site (a declaration's answer or a batch's
    acknowledgement): accepted, or refused with its reason and, for a conflict, the winner."""

    __tablename__ = "region_answer"
    redemption_id: str = Field(primary_key=True, foreign_key="redemption.id")
    verdict: str  # "accepted" | "refused"
    reason: str | None = None
    winner_site_id: str | None = None
    winner_redeemed_at: datetime | None = None
    answered_at: datetime
    reported_at: datetime | None = None  # when a sync report last said it


class RefusedScan(SQLModel, table=True):
    __tablename__ = "refused_scan"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    session_id: int | None = Field(default=None, foreign_key="desk_session.id")
    operator_id: int | None = Field(default=None, foreign_key="operator.id")
    raw_input: str
    code: str | None = Field(default=None, index=True)
    verdict: str
    message: str
    batch_id: str | None = Field(default=None, foreign_key="batch.batch_id", index=True)


class AuditEvent(SQLModel, table=True):
    """Append-only, hash-chained log of security events and redemptions."""

    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    kind: str
    operator_id: int | None = None
    details: str  # JSON
    previous_hash: str
    hash: str


# --- Carnets handed out by this site (distributor sites) --------------------------------------


class Attribution(SQLModel, table=True):
    """Carnets handed to a beneficiary after a request was decided by the règlement.

    The beneficiary is only known by the pseudonymous reference (domain/beneficiaries.py): no
    name is stored. The attribution travels to the region with the sync (`sent_at`); the region
    answers `verdict` "accepted" (its carnets become redeemable once the replica says so) or
    "refused" with `region_reason` and `region_message`.
    """

    id: str = Field(primary_key=True)  # random, made when the carnets are handed out
    beneficiary_ref: str = Field(index=True)
    received_on: date
    category: str
    rulebook: str
    accompanied: bool
    establishment: str | None = None
    passes: int
    second_carnet_on_request: bool
    reasons: str  # JSON list: the decision's French reasons
    operator_id: int = Field(foreign_key="operator.id")
    attributed_at: datetime = Field(index=True)
    sent_at: datetime | None = None
    answered_at: datetime | None = None
    verdict: str | None = None  # None until the region answers
    region_reason: str | None = None
    region_message: str | None = None


class AttributionCarnet(SQLModel, table=True):
    __tablename__ = "attribution_carnet"
    attribution_id: str = Field(primary_key=True, foreign_key="attribution.id")
    carnet_id: str = Field(primary_key=True, index=True)
    size: int
