"""Pydantic descriptions of the protocol documents, for the hub's OpenAPI document.

They describe; they do not check. The hub checks documents itself (French messages) and
returns them as they are signed, so these models never re-serialise a response. The JSON
Schemas in `schema/` and docs/protocol.md are the normative contract: these models carry the
same constraints, property by property (tests/schema/test_openapi_constraints.py compares
them), built from the types below, which mirror the `$defs` of schema/common.schema.json.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from mediateur_tui.domain.activity import Thematique, TypeLieu
from mediateur_tui.protocol.formats import MAX_ATTRIBUTIONS_PER_DOCUMENT, MAX_DECLARATION_LINES

# The patterns of schema/common.schema.json.
CODE = r"^[0-9A-HJKMNP-TV-Z]{13}$"
COMPACT_CODES = r"^([0-9A-HJKMNP-TV-Z]{12})+$"
RANDOM_ID = r"^[0-9a-f]{32}$"
IDENTIFIER = r"^[A-Z0-9-]+$"
PROGRAMME_ID = r"^[A-Z0-9-]{1,32}$"
BENEFICIARY_REF = r"^B[0-9A-HJKMNP-TV-Z]{20}$"
DAY = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
INSTANT = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|\+00:00)$"
)
PERIOD = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
SHA256_HEX = r"^[0-9a-f]{64}$"
KEY_BASE64 = r"^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$"  # 32 bytes
SIGNATURE_BASE64 = r"^[A-Za-z0-9+/]{85}[AQgw]==$"  # 64 bytes
RULEBOOK_ID = r"^[a-z0-9][a-z0-9-]{0,62}$"
KID = r"^[A-Z2-7]{8}$"
PIVOT = r"^([0-9]{14}|W[0-9A-Z]{9})$"
CODE_INSEE = r"^((0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5])[0-9]{3}|9[78][0-9]{3})$"
CODE_POSTAL = r"^(0[1-9]|[1-8][0-9]|9[0-8])[0-9]{3}$"

Code = Annotated[str, Field(pattern=CODE)]
RandomId = Annotated[str, Field(pattern=RANDOM_ID)]
Identifier = Annotated[str, Field(pattern=IDENTIFIER)]
ProgrammeId = Annotated[str, Field(pattern=PROGRAMME_ID)]
CarnetId = Annotated[str, Field(min_length=1)]
Day = Annotated[str, Field(pattern=DAY)]
Instant = Annotated[str, Field(pattern=INSTANT, description="Instant ISO 8601 UTC.")]
Cents = Annotated[int, Field(ge=0)]
Count = Annotated[int, Field(ge=0)]
Text = Annotated[str, Field(min_length=1)]  # a text that cannot be empty
Key = Annotated[str, Field(pattern=KEY_BASE64, description="32 octets, base64.")]
# Who a carnet was handed to, in replica changes: any reference the region normalised.
CarnetBeneficiary = Annotated[str, Field(min_length=1, max_length=64)]
DeskVerdict = Literal[
    "malformed",
    "unknown",
    "redeemed_here",
    "redeemed_elsewhere",
    "revoked",
    "expired",
    "not_yet_valid",
    "unattributed",
    "programme_not_accepted",
    "unknown_key",
    "key_revoked",
    "key_out_of_period",
]
# ["*"] for every site, or the ids of the sites: a union Pydantic cannot spell from types.
_PROGRAMME_SITES: dict[str, Any] = {
    "oneOf": [
        {"const": ["*"]},
        {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": IDENTIFIER}},
    ]
}
ProgrammeSites = Annotated[list[str], WithJsonSchema(_PROGRAMME_SITES)]


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorResponse(BaseModel):
    detail: str = Field(description="Message en français pour l'utilisateur.")


class Health(BaseModel):
    status: Literal["ok"]
    region_id: str
    protocol_version: int


class RegionSignature(_Document):
    signer: str = Field(
        pattern=r"^region:[A-Z0-9-]+$", description='"region:<REGION_ID>"', examples=["region:HDF"]
    )
    # Absent or a string, never null (SkipJsonSchema, as beneficiary_key below).
    kid: str | SkipJsonSchema[None] = Field(
        default=None,
        pattern=KID,
        description="Identifiant de la clé de la région qui a signé (absent : sa première clé).",
        examples=["3JK55MCS"],
    )
    value: str = Field(
        pattern=SIGNATURE_BASE64, description="Signature Ed25519 en base64 des octets canoniques."
    )


class SiteSignature(_Document):
    signer: str = Field(
        pattern=r"^site:[A-Z0-9-]+$", description='"site:<SITE_ID>"', examples=["site:AVESNES-EPN"]
    )
    value: str = Field(
        pattern=SIGNATURE_BASE64, description="Signature Ed25519 en base64 des octets canoniques."
    )


class KeySetKey(_Document):
    kid: str = Field(pattern=KID, description="Identifiant de la clé.")
    public_key: Key
    valid_from: Day = Field(description="Premier jour où la région signe avec elle.")
    sign_until: Day | None = Field(
        description="Dernier jour où la région a signé avec elle, ou null : elle signe encore."
    )
    status: Literal["active", "retired", "revoked"]
    revoked_from: Day | None = Field(
        description="Jour à partir duquel ses signatures ne valent plus, ou null."
    )


class KeySet(_Document):
    """pn-key-set/1: every key of the region, in the order it made them."""

    format: Literal["pn-key-set/1"]
    region_id: Identifier
    sequence: int = Field(ge=1, description="Numéro du jeu : 1, 2, … sans trou.")
    issued_at: Instant
    keys: list[KeySetKey] = Field(min_length=1)
    signature: RegionSignature


KeySets = Annotated[
    list[KeySet],
    Field(
        description="Tous les jeux de clés publiés par la région, dans l'ordre (vide avant sa "
        "première rotation de clé)."
    ),
]


class EnrolmentRequest(_Document):
    format: Literal["pn-enrolment-request/1"]
    token: Text = Field(description="Jeton d'inscription à usage unique, donné par la région.")
    site_public_key: Key = Field(description="Clé publique Ed25519 du site (32 octets, base64).")


class Enrolment(_Document):
    format: Literal["pn-enrolment/1"]
    region_id: Identifier
    region_public_key: Key
    site_id: Identifier
    site_name: Text
    api_key: Text = Field(description="Secret à envoyer en « Authorization: Bearer … ».")
    issued_at: Instant
    # Absent or a string, never null: SkipJsonSchema keeps None out of the described type.
    beneficiary_key: Key | SkipJsonSchema[None] = Field(
        default=None,
        description="Site distributeur seulement (absent sinon) : la clé des bénéficiaires "
        "de la région, 32 octets en base64, d'où le site tire les références pseudonymes.",
    )
    key_sets: KeySets
    signature: RegionSignature


class BeneficiaryKey(_Document):
    format: Literal["pn-beneficiary-key/1"]
    region_id: Identifier
    site_id: Identifier = Field(description="Le site distributeur qui la demande.")
    beneficiary_key: Key = Field(
        description="La clé des bénéficiaires de la région, 32 octets en base64 (un secret, "
        "la même que dans la réponse d'inscription d'un site distributeur)."
    )
    issued_at: Instant
    signature: RegionSignature


class ProgrammeChange(_Document):
    t: Literal["programme"]
    id: ProgrammeId
    label: Text
    value_cents: Cents
    valid_from: Day
    valid_until: Day
    grace_until: Day
    sites: ProgrammeSites = Field(description='Identifiants des sites, ou ["*"] pour tous.')


class SiteChange(_Document):
    t: Literal["site"]
    id: Identifier
    name: Text
    # The site's identity, whole or absent (a hub before it, a site enrolled without it).
    pivot: Annotated[str, Field(pattern=PIVOT)] | SkipJsonSchema[None] = Field(
        default=None, description="SIRET ou numéro RNA du lieu."
    )
    code_insee: Annotated[str, Field(pattern=CODE_INSEE)] | SkipJsonSchema[None] = Field(
        default=None, description="Code INSEE de la commune du lieu."
    )
    code_postal: Annotated[str, Field(pattern=CODE_POSTAL)] | SkipJsonSchema[None] = Field(
        default=None, description="Code postal du lieu."
    )


class _Carnet(_Document):
    """What a carnet change says, but its codes (each format carries them its own way)."""

    t: Literal["carnet"]
    id: CarnetId
    p: ProgrammeId = Field(description="Programme.")
    n: Literal[5, 10] = Field(description="Taille du carnet.")
    a: Day | None = Field(description="Date d'attribution, ou null.")
    b: CarnetBeneficiary | None = Field(
        default=None,
        description="Référence pseudonyme du bénéficiaire, ou null (absent : hub plus ancien).",
    )
    # Absent or a date, never null (SkipJsonSchema, as beneficiary_key).
    i: Day | SkipJsonSchema[None] = Field(
        default=None,
        description="Jour d'émission du carnet (absent : émis avant que la région l'enregistre).",
    )


class CarnetChange(_Carnet):
    codes: list[Code] = Field(description="Codes des pass, dans l'ordre du carnet.")


class CompactCarnetChange(_Carnet):
    """A carnet of a pn-replica-page/2: its codes in one string, without check symbols."""

    c: Annotated[str, Field(pattern=COMPACT_CODES)] = Field(
        description="Les 12 symboles de données de chaque code, à la suite, dans l'ordre du "
        "carnet, sans le symbole de contrôle (le site le recalcule)."
    )


class AttributionChange(_Document):
    t: Literal["attribution"]
    id: CarnetId = Field(description="Carnet.")
    a: Day | None
    b: CarnetBeneficiary | None = Field(
        default=None,
        description="Référence pseudonyme du bénéficiaire, ou null (absent : hub plus ancien).",
    )


class RevocationChange(_Document):
    t: Literal["revocation"]
    code: Code
    reason: Literal["lost", "stolen", "cancelled"]
    on: Day


class UsedChange(_Document):
    t: Literal["used"]
    code: Code
    site: Identifier
    on: Day


class ReleasedChange(_Document):
    t: Literal["released"]
    code: Code


RulebookId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class PublishedRulebook(BaseModel):
    """A pn-rulebook/1 (schema/rules/rulebook.schema.json) signed by the region."""

    model_config = ConfigDict(extra="allow")
    format: Literal["pn-rulebook/1"]
    id: RulebookId
    effective_from: Day
    signature: RegionSignature


class RulebookChange(_Document):
    t: Literal["rulebook"]
    id: RulebookId = Field(description="Identifiant de la version du règlement.")
    document: PublishedRulebook


Change = Annotated[
    ProgrammeChange
    | SiteChange
    | CarnetChange
    | AttributionChange
    | RevocationChange
    | UsedChange
    | ReleasedChange
    | RulebookChange,
    Field(discriminator="t"),
]


CompactChange = Annotated[
    ProgrammeChange
    | SiteChange
    | CompactCarnetChange
    | AttributionChange
    | RevocationChange
    | UsedChange
    | ReleasedChange
    | RulebookChange,
    Field(discriminator="t"),
]


class ReplicaPage(_Document):
    format: Literal["pn-replica-page/1"]
    region_id: Identifier
    since: Count = Field(description="Curseur envoyé par le site.")
    until: Count = Field(description="Numéro du dernier changement de la page : curseur suivant.")
    more: bool = Field(description="Une autre page suit.")
    generated_at: Instant
    changes: list[Change]
    key_sets: KeySets
    signature: RegionSignature


class CompactReplicaPage(_Document):
    """pn-replica-page/2: the page /1's changes, its carnets compact (GET …?format=2)."""

    format: Literal["pn-replica-page/2"]
    region_id: Identifier
    since: Count = Field(description="Curseur envoyé par le site.")
    until: Count = Field(description="Numéro du dernier changement de la page : curseur suivant.")
    more: bool = Field(description="Une autre page suit.")
    generated_at: Instant
    changes: list[CompactChange]
    key_sets: KeySets
    signature: RegionSignature


HeadCount = Annotated[int, Field(ge=1)]


class GenreCounts(_Document):
    """Participants par genre (chaque valeur seulement si comptée)."""

    masculin: HeadCount | SkipJsonSchema[None] = None
    feminin: HeadCount | SkipJsonSchema[None] = None
    non_communique: HeadCount | SkipJsonSchema[None] = None


class AgeCounts(_Document):
    """Participants par tranche d'âge (chaque valeur seulement si comptée)."""

    moins_de_douze: HeadCount | SkipJsonSchema[None] = None
    douze_dix_huit: HeadCount | SkipJsonSchema[None] = None
    dix_huit_vingt_quatre: HeadCount | SkipJsonSchema[None] = None
    vingt_cinq_trente_neuf: HeadCount | SkipJsonSchema[None] = None
    quarante_cinquante_neuf: HeadCount | SkipJsonSchema[None] = None
    soixante_soixante_neuf: HeadCount | SkipJsonSchema[None] = None
    soixante_dix_plus: HeadCount | SkipJsonSchema[None] = None
    non_communique: HeadCount | SkipJsonSchema[None] = None


class StatusCounts(_Document):
    """Participants par statut social (chaque valeur seulement si comptée)."""

    scolarise: HeadCount | SkipJsonSchema[None] = None
    sans_emploi: HeadCount | SkipJsonSchema[None] = None
    en_emploi: HeadCount | SkipJsonSchema[None] = None
    retraite: HeadCount | SkipJsonSchema[None] = None
    non_communique: HeadCount | SkipJsonSchema[None] = None


class SessionActivity(_Document):
    """L'activité de la séance résumée pour la région (La Coop de la médiation numérique) :
    avec le type (`kind`) et la durée de la séance, ce que compte le relevé. Ne nomme
    personne."""

    date: Day = Field(description="Jour de l'activité (heure française).")
    place: TypeLieu = Field(description="Type de lieu de la Coop.")
    thematiques: list[Thematique] = Field(
        description="Thématiques de la Coop, chacune une fois (peut être vide)."
    )
    participants: Count = Field(description="1 pour un accompagnement individuel.")
    # Absent when not given, never null (SkipJsonSchema, as beneficiary_key).
    genres: GenreCounts | SkipJsonSchema[None] = None
    tranches_age: AgeCounts | SkipJsonSchema[None] = None
    statuts: StatusCounts | SkipJsonSchema[None] = None


class BatchSession(_Document):
    id: int = Field(ge=1, description="Numéro de la séance sur le site.")
    title: Text
    kind: Literal["individuel", "collectif"]
    themes: str = Field(description="Thèmes, en texte libre (peut être vide).")
    duration_minutes: int = Field(ge=1)
    started_at: Instant
    ended_at: Instant | None = Field(description="Fin de la séance, ou null si elle est ouverte.")
    # Absent from a site older than the activity summary, never null.
    activity: SessionActivity | SkipJsonSchema[None] = None


class BatchRedemption(_Document):
    id: RandomId = Field(description="Identifiant aléatoire créé à l'encaissement.")
    code: Code
    session_id: int = Field(ge=1, description="Une séance de « sessions ».")
    operator: Text
    redeemed_at: Instant
    input_method: Literal["scan", "image", "cli"]
    value_cents: Cents
    provisional: bool


class RefusedScan(_Document):
    at: Instant
    input: str
    code: Code | None
    verdict: DeskVerdict = Field(description="Verdict du guichet.")


class BatchTotals(_Document):
    redemptions: Count
    value_cents: Cents
    refused_scans: Count


class Batch(_Document):
    format: Literal["pn-batch/1"]
    batch_id: RandomId
    region_id: Identifier
    site_id: Identifier
    period: str = Field(pattern=PERIOD, description="AAAA-MM")
    sequence: int = Field(ge=1, description="Numéro de la remise pour ce site : 1, 2, …")
    previous_hash: Annotated[str, Field(pattern=SHA256_HEX)] | None
    sealed_at: Instant
    sessions: list[BatchSession]
    redemptions: list[BatchRedemption]
    refused_scans: list[RefusedScan]
    totals: BatchTotals
    signature: SiteSignature


class Winner(_Document):
    site_id: Identifier
    redeemed_at: Instant


class AckLine(_Document):
    redemption_id: RandomId
    code: Code
    verdict: Literal["accepted", "refused"]
    reason: (
        Literal[
            "conflict",
            "revoked",
            "expired",
            "unknown",
            "not_attributed",
            "duplicate_line",
            "cancelled",
        ]
        | None
    )
    winner: Winner | None


class AckTotals(_Document):
    accepted: Count
    accepted_cents: Cents
    refused: Count


class Ack(_Document):
    format: Literal["pn-ack/1"]
    batch_id: RandomId
    site_id: Identifier
    region_id: Identifier
    received_at: Instant
    lines: list[AckLine]
    totals: AckTotals
    signature: RegionSignature


class Attribution(_Document):
    id: RandomId = Field(description="Identifiant aléatoire fait par le site.")
    beneficiary_ref: str = Field(
        pattern=BENEFICIARY_REF, description="Référence pseudonyme du bénéficiaire."
    )
    category: Literal["job_seeker", "youth_insertion", "senior", "lycee"]
    rulebook: str = Field(
        pattern=RULEBOOK_ID, description="Règlement appliqué par le site (identifiant)."
    )
    received_on: Day = Field(description="Jour de réception de la demande.")
    attributed_at: Instant = Field(description="Instant de la remise des carnets (ISO 8601 UTC).")
    accompanied: bool = Field(description="Demande accompagnée par un prescripteur.")
    establishment: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        description="Établissement (lycées), ou null."
    )
    carnets: list[CarnetId] = Field(min_length=1, max_length=2, description="Carnets remis.")
    passes: int = Field(ge=1, description="Somme des tailles des carnets.")


class Attributions(_Document):
    format: Literal["pn-attributions/1"]
    region_id: Identifier
    site_id: Identifier
    sent_at: Instant
    attributions: list[Attribution] = Field(max_length=MAX_ATTRIBUTIONS_PER_DOCUMENT)
    signature: SiteSignature


class AttributionResult(_Document):
    id: RandomId
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
    message: Text = Field(description="Phrase en français pour le site distributeur.")
    beneficiary_passes: Count = Field(
        description="Pass que la région compte pour le bénéficiaire : après cette attribution "
        "si elle est acceptée, avant elle si elle est refusée.",
    )


class AttributionAnswer(_Document):
    format: Literal["pn-attribution-answer/1"]
    region_id: Identifier
    site_id: Identifier
    answered_at: Instant
    results: list[AttributionResult] = Field(max_length=MAX_ATTRIBUTIONS_PER_DOCUMENT)
    signature: RegionSignature


class Cancellation(_Document):
    redemption_id: RandomId = Field(description="L'encaissement annulé (son identifiant).")
    cancelled_at: Instant
    reason: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="Motif de l'annulation."
    )


class Declaration(_Document):
    format: Literal["pn-declaration/1"]
    declaration_id: RandomId
    region_id: Identifier
    site_id: Identifier
    declared_at: Instant
    sessions: list[BatchSession]
    redemptions: list[BatchRedemption] = Field(max_length=MAX_DECLARATION_LINES)
    cancellations: list[Cancellation] = Field(max_length=MAX_DECLARATION_LINES)
    signature: SiteSignature


class CancellationStatus(_Document):
    redemption_id: RandomId
    status: Literal["cancelled", "in_batch", "unknown"]


class DeclarationAnswer(_Document):
    format: Literal["pn-declaration-answer/1"]
    declaration_id: RandomId
    site_id: Identifier
    region_id: Identifier
    received_at: Instant
    lines: list[AckLine] = Field(max_length=MAX_DECLARATION_LINES)
    cancellations: list[CancellationStatus] = Field(max_length=MAX_DECLARATION_LINES)
    signature: RegionSignature


class RecoveredBatch(_Document):
    batch: Batch
    ack: Ack


class RecoveredDeclarations(_Document):
    sessions: list[BatchSession]
    redemptions: list[BatchRedemption]
    answers: list[AckLine]
    cancellations: list[Cancellation]


class SiteRecovery(_Document):
    format: Literal["pn-site-recovery/1"]
    site_id: Identifier
    region_id: Identifier
    generated_at: Instant
    batches: list[RecoveredBatch] = Field(description="Les remises du site, dans l'ordre.")
    declared: RecoveredDeclarations = Field(
        description="Les encaissements déclarés pas encore remis, et les annulations déclarées."
    )
    signature: RegionSignature
