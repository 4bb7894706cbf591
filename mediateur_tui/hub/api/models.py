"""Pydantic descriptions of the protocol documents, for the hub's OpenAPI document.

They describe; they do not check. The hub checks documents itself (French messages) and
returns them as they are signed, so these models never re-serialise a response. The JSON
Schemas in `schema/` and docs/protocol.md are the normative contract.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

CODE = r"^[0-9A-HJKMNP-TV-Z]{13}$"
RANDOM_ID = r"^[0-9a-f]{32}$"
IDENTIFIER = r"^[A-Z0-9-]+$"
BENEFICIARY_REF = r"^B[0-9A-HJKMNP-TV-Z]{20}$"
DAY = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorResponse(BaseModel):
    detail: str = Field(description="Message en français pour l'utilisateur.")


class Health(BaseModel):
    status: Literal["ok"]
    region_id: str
    protocol_version: int


class Signature(_Document):
    signer: str = Field(
        description='"region:<REGION_ID>" ou "site:<SITE_ID>"', examples=["region:HDF"]
    )
    value: str = Field(description="Signature Ed25519 en base64 des octets canoniques.")


class EnrolmentRequest(_Document):
    format: Literal["pn-enrolment-request/1"]
    token: str = Field(description="Jeton d'inscription à usage unique, donné par la région.")
    site_public_key: str = Field(description="Clé publique Ed25519 du site (32 octets, base64).")


class Enrolment(_Document):
    format: Literal["pn-enrolment/1"]
    region_id: str
    region_public_key: str = Field(description="32 octets, base64.")
    site_id: str
    site_name: str
    api_key: str = Field(description="Secret à envoyer en « Authorization: Bearer … ».")
    issued_at: str = Field(description="Instant ISO 8601 UTC.")
    # Absent or a string, never null: SkipJsonSchema keeps None out of the described type.
    beneficiary_key: str | SkipJsonSchema[None] = Field(
        default=None,
        description="Site distributeur seulement (absent sinon) : la clé des bénéficiaires "
        "de la région, 32 octets en base64, d'où le site tire les références pseudonymes.",
    )
    signature: Signature


class BeneficiaryKey(_Document):
    format: Literal["pn-beneficiary-key/1"]
    region_id: str = Field(pattern=IDENTIFIER)
    site_id: str = Field(pattern=IDENTIFIER, description="Le site distributeur qui la demande.")
    beneficiary_key: str = Field(
        description="La clé des bénéficiaires de la région, 32 octets en base64 (un secret, "
        "la même que dans la réponse d'inscription d'un site distributeur)."
    )
    issued_at: str = Field(description="Instant ISO 8601 UTC.")
    signature: Signature


class ProgrammeChange(_Document):
    t: Literal["programme"]
    id: str
    label: str
    value_cents: int
    valid_from: str
    valid_until: str
    grace_until: str
    sites: list[str] = Field(description='Identifiants des sites, ou ["*"] pour tous.')


class SiteChange(_Document):
    t: Literal["site"]
    id: str
    name: str


class CarnetChange(_Document):
    t: Literal["carnet"]
    id: str
    p: str = Field(description="Programme.")
    n: Literal[5, 10] = Field(description="Taille du carnet.")
    a: str | None = Field(description="Date d'attribution, ou null.")
    b: str | None = Field(
        default=None,
        description="Référence pseudonyme du bénéficiaire, ou null (absent : hub plus ancien).",
    )
    codes: list[str] = Field(description="Codes des pass, dans l'ordre du carnet.")


class AttributionChange(_Document):
    t: Literal["attribution"]
    id: str = Field(description="Carnet.")
    a: str | None
    b: str | None = Field(
        default=None,
        description="Référence pseudonyme du bénéficiaire, ou null (absent : hub plus ancien).",
    )


class RevocationChange(_Document):
    t: Literal["revocation"]
    code: str
    reason: Literal["lost", "stolen", "cancelled"]
    on: str


class UsedChange(_Document):
    t: Literal["used"]
    code: str
    site: str
    on: str


Change = Annotated[
    ProgrammeChange | SiteChange | CarnetChange | AttributionChange | RevocationChange | UsedChange,
    Field(discriminator="t"),
]


class ReplicaPage(_Document):
    format: Literal["pn-replica-page/1"]
    region_id: str
    since: int = Field(description="Curseur envoyé par le site.")
    until: int = Field(description="Numéro du dernier changement de la page : curseur suivant.")
    more: bool = Field(description="Une autre page suit.")
    generated_at: str
    changes: list[Change]
    signature: Signature


class BatchSession(_Document):
    id: int = Field(ge=1, description="Numéro de la séance sur le site.")
    title: str
    kind: Literal["individuel", "collectif"]
    themes: str = Field(description="Thèmes, en texte libre (peut être vide).")
    duration_minutes: int = Field(ge=1)
    started_at: str
    ended_at: str | None = Field(description="Fin de la séance, ou null si elle est ouverte.")


class BatchRedemption(_Document):
    id: str = Field(pattern=RANDOM_ID, description="Identifiant aléatoire créé à l'encaissement.")
    code: str = Field(pattern=CODE)
    session_id: int = Field(ge=1, description="Une séance de « sessions ».")
    operator: str
    redeemed_at: str
    input_method: Literal["scan", "image", "cli"]
    value_cents: int
    provisional: bool


class RefusedScan(_Document):
    at: str
    input: str
    code: str | None
    verdict: str = Field(description="Verdict du guichet (malformed, unknown, revoked, …).")


class BatchTotals(_Document):
    redemptions: int
    value_cents: int
    refused_scans: int


class Batch(_Document):
    format: Literal["pn-batch/1"]
    batch_id: str = Field(pattern=RANDOM_ID)
    region_id: str = Field(pattern=IDENTIFIER)
    site_id: str = Field(pattern=IDENTIFIER)
    period: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="AAAA-MM")
    sequence: int
    previous_hash: str | None
    sealed_at: str
    sessions: list[BatchSession]
    redemptions: list[BatchRedemption]
    refused_scans: list[RefusedScan]
    totals: BatchTotals
    signature: Signature


class Winner(_Document):
    site_id: str
    redeemed_at: str


class AckLine(_Document):
    redemption_id: str = Field(pattern=RANDOM_ID)
    code: str = Field(pattern=CODE)
    verdict: Literal["accepted", "refused"]
    reason: (
        Literal["conflict", "revoked", "expired", "unknown", "not_attributed", "duplicate_line"]
        | None
    )
    winner: Winner | None


class AckTotals(_Document):
    accepted: int
    accepted_cents: int
    refused: int


class Ack(_Document):
    format: Literal["pn-ack/1"]
    batch_id: str = Field(pattern=RANDOM_ID)
    site_id: str
    region_id: str
    received_at: str
    lines: list[AckLine]
    totals: AckTotals
    signature: Signature


class Attribution(_Document):
    id: str = Field(pattern=RANDOM_ID, description="Identifiant aléatoire fait par le site.")
    beneficiary_ref: str = Field(
        pattern=BENEFICIARY_REF, description="Référence pseudonyme du bénéficiaire."
    )
    category: Literal["job_seeker", "youth_insertion", "senior", "lycee"]
    rulebook: str = Field(description="Règlement appliqué par le site (identifiant).")
    received_on: str = Field(pattern=DAY, description="Jour de réception de la demande.")
    attributed_at: str = Field(description="Instant de la remise des carnets (ISO 8601 UTC).")
    accompanied: bool = Field(description="Demande accompagnée par un prescripteur.")
    establishment: str | None = Field(description="Établissement (lycées), ou null.")
    carnets: list[str] = Field(min_length=1, max_length=2, description="Carnets remis.")
    passes: int = Field(ge=1, description="Somme des tailles des carnets.")


class Attributions(_Document):
    format: Literal["pn-attributions/1"]
    region_id: str = Field(pattern=IDENTIFIER)
    site_id: str = Field(pattern=IDENTIFIER)
    sent_at: str = Field(description="Instant ISO 8601 UTC.")
    attributions: list[Attribution] = Field(max_length=1000)
    signature: Signature


class AttributionResult(_Document):
    id: str = Field(pattern=RANDOM_ID)
    verdict: Literal["accepted", "refused"]
    reason: (
        Literal[
            "beneficiary_cap",
            "lycee_cap",
            "no_rulebook",
            "carnet_unknown",
            "carnet_taken",
            "invalid",
        ]
        | None
    )
    message: str = Field(description="Phrase en français pour le site distributeur.")
    beneficiary_passes: int = Field(
        ge=0,
        description="Pass que la région compte pour le bénéficiaire : après cette attribution "
        "si elle est acceptée, avant elle si elle est refusée.",
    )


class AttributionAnswer(_Document):
    format: Literal["pn-attribution-answer/1"]
    region_id: str
    site_id: str
    answered_at: str
    results: list[AttributionResult]
    signature: Signature
