"""The verdict on one scan: exactly one token, a French sentence, and details.

`decide` is pure: the store gathers what the replica and the local log know about the pass
(PassFacts), and this module applies the rules of docs/passes.md (« Verdicts »).

Keys (domain/region_keys.py): a QR payload is verified with the region key it names (`PN1`: the
region's first key). A key the site does not know, a key revoked before the pass can be shown
to have been signed, or a signature outside the key's signing window refuses the scan
(`unknown_key`, `key_revoked`, `key_out_of_period`) before the replica's facts are read.

Provisional acceptance: once the replica carries the region's key, a QR payload whose signature
verifies is genuine even when the replica does not list its code yet (carnets issued since the
last sync). It is accepted *provisionally* at the standard value and the region settles it when
the batch comes in. Its dates come from the signed payload: valid until VALID_UNTIL, then in
grace until 31 January of the next year (the default grace period of docs/passes.md, since
the replica does not know the pass's programme dates), expired after that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.formatting import (
    PASS_VALUE_CENTS,
    capitalised,
    format_date,
    format_datetime,
    format_euros,
    local_date,
)
from mediateur_tui.domain.keyboard import Situation
from mediateur_tui.domain.region_keys import PassKeyProblem, RegionKeys, pass_key_problem
from mediateur_tui.domain.scan_input import InputKind, ScanInput
from mediateur_tui.domain.signatures import verify

DEFAULT_MAX_REPLICA_AGE = timedelta(days=7)


class Verdict(StrEnum):
    VALID = "valid"
    GRACE = "grace"
    MALFORMED = "malformed"
    UNKNOWN = "unknown"
    REDEEMED_HERE = "redeemed_here"
    REDEEMED_ELSEWHERE = "redeemed_elsewhere"
    REVOKED = "revoked"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    UNATTRIBUTED = "unattributed"
    PROGRAMME_NOT_ACCEPTED = "programme_not_accepted"
    UNKNOWN_KEY = "unknown_key"
    KEY_REVOKED = "key_revoked"
    KEY_OUT_OF_PERIOD = "key_out_of_period"

    @property
    def redeemable(self) -> bool:
        return self in (Verdict.VALID, Verdict.GRACE)

    @property
    def label(self) -> str:
        return VERDICT_LABELS[self]


VERDICT_LABELS = {
    Verdict.VALID: "Pass valide",
    Verdict.GRACE: "Pass valide (période de grâce)",
    Verdict.MALFORMED: "Code mal saisi",
    Verdict.UNKNOWN: "Pass inconnu",
    Verdict.REDEEMED_HERE: "Déjà encaissé ici",
    Verdict.REDEEMED_ELSEWHERE: "Déjà encaissé ailleurs",
    Verdict.REVOKED: "Pass en opposition",
    Verdict.EXPIRED: "Pass expiré",
    Verdict.NOT_YET_VALID: "Pas encore valable",
    Verdict.UNATTRIBUTED: "Carnet non attribué",
    Verdict.PROGRAMME_NOT_ACCEPTED: "Programme non accepté ici",
    Verdict.UNKNOWN_KEY: "Clé de signature inconnue",
    Verdict.KEY_REVOKED: "Clé de signature révoquée",
    Verdict.KEY_OUT_OF_PERIOD: "Signature hors période",
}

REVOCATION_REASONS = {
    "lost": "perdu",
    "stolen": "volé",
    "cancelled": "annulé par la région",
}


class _Result(Protocol):
    """Makes the CheckResult of one scan (`decide` binds the scan and its warnings)."""

    def __call__(
        self,
        verdict: Verdict,
        message: str,
        details: dict[str, str] | None = None,
        provisional: bool = False,
    ) -> CheckResult: ...


@dataclass(frozen=True)
class RegionRefusal:
    """The region's refusal of a redemption made here: why, and for a pass paid to another
    site, which one and when it was taken there."""

    reason_label: str
    winner_site_name: str | None = None
    winner_at: datetime | None = None


@dataclass(frozen=True)
class LocalRedemption:
    """A redemption of the pass already recorded at this site."""

    at: datetime
    session_title: str
    operator_name: str
    region_refusal: RegionRefusal | None = None


@dataclass(frozen=True)
class RemoteRedemption:
    """A redemption at another site, as published in the replica."""

    site_name: str
    on: date


@dataclass(frozen=True)
class PassFacts:
    """Everything the replica and the local log know about one pass."""

    code: str
    programme_id: str
    programme_label: str
    value_cents: int
    carnet_id: str
    carnet_size: int
    carnet_attributed: bool
    valid_from: date
    valid_until: date
    grace_until: date
    accepted_here: bool
    issued_on: date | None = None  # None: issued before the replica carried issue dates
    revoked_reason: str | None = None
    revoked_on: date | None = None
    redeemed_here: LocalRedemption | None = None
    redeemed_elsewhere: RemoteRedemption | None = None


@dataclass(frozen=True)
class ReplicaState:
    """What the verdict needs to know about the replica as a whole."""

    updated_at: datetime | None
    region_keys: RegionKeys | None = None  # None: the site knows no region key yet
    max_age: timedelta = DEFAULT_MAX_REPLICA_AGE


@dataclass(frozen=True)
class CheckResult:
    input: str
    code: str | None
    verdict: Verdict
    message: str
    details: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    value_cents: int = 0
    provisional: bool = False  # accepted on the region's signature alone (not in the replica)

    @property
    def redeemable(self) -> bool:
        return self.verdict.redeemable

    def to_json(self) -> dict[str, object]:
        return {
            "input": self.input,
            "code": self.code,
            "verdict": self.verdict.value,
            "redeemable": self.redeemable,
            "message": self.message,
            "details": self.details,
            "warnings": self.warnings,
        }


def replica_warnings(replica: ReplicaState, now: datetime) -> list[str]:
    if replica.updated_at is None:
        return ["La réplique du registre n'a jamais été mise à jour."]
    age = now - replica.updated_at
    if age > replica.max_age:
        return [
            f"La réplique du registre date de {age.days} jours : "
            "synchronisez dès que possible (le pass est vérifié quand même)."
        ]
    return []


PROVISIONAL_WARNING = (
    "Pass absent de la réplique locale : accepté à titre provisoire sur la foi de la signature "
    "de la région, qui le vérifiera à la réception de la remise. Synchronisez la réplique."
)


def provisional_grace_until(valid_until: date) -> date:
    """Last day a pass known only by its signed payload is accepted: 31 January of the year
    after its validity ends (the default grace period, docs/passes.md)."""
    return date(valid_until.year + 1, 1, 31)


def layout_warning(situation: Situation) -> str:
    """What the verdict says of a scan read back from a mis-set keyboard."""
    if situation.typed_by_hand:
        return (
            f"{capitalised(situation.label)} : la saisie a été corrigée. Sur un clavier AZERTY, "
            "tapez les chiffres avec la touche Maj (⇧)."
        )
    advice = ["désactivez Verr. Maj"] if situation.caps_lock else []
    if situation.us_scanner_on_azerty:
        advice.append("pensez à régler le lecteur en AZERTY")
    if situation.azerty_scanner_on_us:
        advice.append("pensez à régler le lecteur en clavier américain (QWERTY), comme le poste")
    steps = " et ".join(advice)
    return f"{capitalised(situation.label)} : la saisie a été corrigée. {capitalised(steps)}."


def decide(
    scan: ScanInput,
    facts: PassFacts | None,
    replica: ReplicaState,
    now: datetime,
    redeemed_here: LocalRedemption | None = None,
) -> CheckResult:
    """The one verdict for a parsed scan, given what is known about its pass.

    `redeemed_here` is the active local redemption of a code the replica does not list (a pass
    taken provisionally); for a listed code it is in `facts`."""
    warnings = replica_warnings(replica, now)
    if scan.layout_fixed:
        warnings.append(layout_warning(scan.layout or Situation.US_ON_AZERTY))
    if scan.other_reading is not None:
        warnings.append(
            f"Avec un lecteur mal réglé (clavier américain ou AZERTY), ce code se lirait "
            f"{format_code(scan.other_reading)} : vérifiez qu'il est bien celui du pass."
        )

    def result(
        verdict: Verdict,
        message: str,
        details: dict[str, str] | None = None,
        provisional: bool = False,
    ) -> CheckResult:
        value = PASS_VALUE_CENTS if provisional else facts.value_cents if facts else 0
        return CheckResult(
            input=scan.raw,
            code=scan.code,
            verdict=verdict,
            message=message,
            details=details or {},
            warnings=warnings,
            value_cents=value if verdict.redeemable else 0,
            provisional=provisional and verdict.redeemable,
        )

    if scan.error is not None or scan.code is None:
        return result(Verdict.MALFORMED, scan.error or "Code illisible : vérifiez la saisie.")
    shown = format_code(scan.code)
    forged = _payload_problem(scan, facts, replica)
    if forged:
        return result(Verdict.MALFORMED, forged, {"code": shown})
    untrusted = _key_refusal(scan, facts, replica, local_date(now))
    if untrusted:
        verdict, message = untrusted
        return result(verdict, message, {"code": shown})
    if facts is None and redeemed_here is not None:
        return _redeemed_here(redeemed_here, {"code": shown}, result)
    if facts is None and scan.kind is InputKind.QR and replica.region_keys is not None:
        # The signature verified above: a genuine pass the replica does not list yet.
        return _decide_provisional(scan, local_date(now), result, warnings)
    if facts is None:
        return result(
            Verdict.UNKNOWN,
            f"Le pass {shown} n'est pas dans le registre. Vérifiez le code imprimé ; "
            "si le registre est ancien, synchronisez-le.",
            {"code": shown},
        )
    return _decide_known(facts, local_date(now), result)


def _payload_problem(scan: ScanInput, facts: PassFacts | None, replica: ReplicaState) -> str | None:
    """Why a QR payload cannot be genuine, or None."""
    if scan.kind is not InputKind.QR:
        return None
    message = scan.signed_message
    if replica.region_keys is not None and message is not None:
        key = replica.region_keys.named(scan.kid)
        if key is None:
            return None  # a key the site does not know: _key_refusal says so
        if not verify(key.public_key, message, scan.signature or ""):
            return "Signature du QR code invalide : ce pass n'a pas été émis par la région."
        return None
    if facts is not None and (
        scan.programme != facts.programme_id or scan.valid_until != facts.valid_until
    ):
        return "Le QR code ne correspond pas au registre (programme ou date) : pass suspect."
    return None


def _key_refusal(
    scan: ScanInput, facts: PassFacts | None, replica: ReplicaState, today: date
) -> tuple[Verdict, str] | None:
    """The refusal of a QR payload whose signing key is not to be trusted, or None."""
    keys = replica.region_keys
    if scan.kind is not InputKind.QR or keys is None:
        return None
    key = keys.named(scan.kid)
    made_on = local_date(replica.updated_at) if replica.updated_at else None
    issued_on = facts.issued_on if facts else None
    problem = pass_key_problem(key, issued_on, facts is not None, made_on, today)
    if problem is PassKeyProblem.UNKNOWN:
        return Verdict.UNKNOWN_KEY, (
            f"QR code signé par une clé que la région n'a pas annoncée ({scan.kid}) : pass "
            "suspect, ne l'acceptez pas. Si la région vient de changer de clé, synchronisez la "
            "réplique puis relisez-le."
        )
    if key is None or problem is None:
        return None
    if problem is PassKeyProblem.REVOKED:
        assert key.revoked_from is not None
        since = format_date(key.revoked_from)
        return Verdict.KEY_REVOKED, (
            f"QR code signé par la clé {key.kid}, que la région a révoquée à partir du {since} : "
            "ne l'acceptez pas. Le bénéficiaire peut s'adresser à la région."
        )
    start = format_date(key.valid_from)
    window = f"du {start} au {format_date(key.sign_until)}" if key.sign_until else f"dès le {start}"
    return Verdict.KEY_OUT_OF_PERIOD, (
        f"QR code signé par la clé {key.kid} hors de sa période de signature ({window}) : "
        "pass suspect, ne l'acceptez pas."
    )


def _decide_known(facts: PassFacts, today: date, result: _Result) -> CheckResult:
    shown = format_code(facts.code)
    details = {
        "code": shown,
        "programme": facts.programme_label,
        "carnet": f"{facts.carnet_id} ({facts.carnet_size} pass)",
        "valeur": format_euros(facts.value_cents),
        "valable_jusqu_au": format_date(facts.valid_until),
    }
    if facts.redeemed_here is not None:
        return _redeemed_here(facts.redeemed_here, details, result)
    if facts.redeemed_elsewhere is not None:
        other = facts.redeemed_elsewhere
        return result(
            Verdict.REDEEMED_ELSEWHERE,
            f"Déjà encaissé le {format_date(other.on)} à {other.site_name}.",
            {**details, "encaisse_le": format_date(other.on), "lieu": other.site_name},
        )
    if facts.revoked_reason is not None:
        reason = REVOCATION_REASONS.get(facts.revoked_reason, facts.revoked_reason)
        since = f" depuis le {format_date(facts.revoked_on)}" if facts.revoked_on else ""
        return result(
            Verdict.REVOKED,
            f"Pass en opposition ({reason}){since} : ne l'acceptez pas.",
            {**details, "motif": reason},
        )
    if not facts.accepted_here:
        return result(
            Verdict.PROGRAMME_NOT_ACCEPTED,
            f"Le programme « {facts.programme_label} » n'est pas accepté dans ce lieu.",
            details,
        )
    if not facts.carnet_attributed:
        return result(
            Verdict.UNATTRIBUTED,
            f"Le carnet {facts.carnet_id} n'a pas encore été remis à un bénéficiaire : "
            "pass non utilisable.",
            details,
        )
    if today < facts.valid_from:
        return result(
            Verdict.NOT_YET_VALID,
            f"Ce pass ne sera valable qu'à partir du {format_date(facts.valid_from)}.",
            {**details, "valable_a_partir_du": format_date(facts.valid_from)},
        )
    if today > facts.grace_until:
        return result(
            Verdict.EXPIRED,
            f"Pass expiré : valable jusqu'au {format_date(facts.valid_until)}, "
            f"accepté jusqu'au {format_date(facts.grace_until)}.",
            details,
        )
    if today > facts.valid_until:
        return result(
            Verdict.GRACE,
            f"Pass valide, {format_euros(facts.value_cents)} — période de grâce : "
            f"accepté jusqu'au {format_date(facts.grace_until)}.",
            {**details, "accepte_jusqu_au": format_date(facts.grace_until)},
        )
    return result(
        Verdict.VALID,
        f"Pass valide, {format_euros(facts.value_cents)} — carnet {facts.carnet_id}.",
        details,
    )


def _redeemed_here(here: LocalRedemption, details: dict[str, str], result: _Result) -> CheckResult:
    when = format_datetime(here.at)
    refusal = here.region_refusal
    if refusal is not None and refusal.winner_site_name is not None:
        winner_at = format_datetime(refusal.winner_at) if refusal.winner_at else "?"
        return result(
            Verdict.REDEEMED_ELSEWHERE,
            f"Encaissé ici le {when}, mais refusé par la région : déjà payé à "
            f"{refusal.winner_site_name}, qui l'a encaissé le {winner_at}.",
            {**details, "encaisse_le": when, "lieu": refusal.winner_site_name},
        )
    if refusal is not None:
        return result(
            Verdict.REDEEMED_HERE,
            f"Encaissé ici le {when}, mais refusé par la région ({refusal.reason_label}).",
            {**details, "encaisse_le": when, "refus_region": refusal.reason_label},
        )
    return result(
        Verdict.REDEEMED_HERE,
        f"Déjà encaissé ici le {when}, séance « {here.session_title} », par {here.operator_name}.",
        {**details, "encaisse_le": when, "seance": here.session_title, "par": here.operator_name},
    )


def _decide_provisional(
    scan: ScanInput, today: date, result: _Result, warnings: list[str]
) -> CheckResult:
    """A genuinely signed pass that the replica does not list (see the module's docstring)."""
    assert scan.code is not None and scan.valid_until is not None
    value = format_euros(PASS_VALUE_CENTS)
    grace_until = provisional_grace_until(scan.valid_until)
    details = {
        "code": format_code(scan.code),
        "programme": scan.programme or "",
        "valeur": value,
        "valable_jusqu_au": format_date(scan.valid_until),
        "provisoire": "oui",
    }
    if today > grace_until:
        return result(
            Verdict.EXPIRED,
            f"Pass expiré : valable jusqu'au {format_date(scan.valid_until)}, "
            f"accepté jusqu'au {format_date(grace_until)}.",
            {key: text for key, text in details.items() if key != "provisoire"},
        )
    warnings.append(PROVISIONAL_WARNING)
    if today > scan.valid_until:
        return result(
            Verdict.GRACE,
            f"Pass valide à titre provisoire, {value} — période de grâce : accepté jusqu'au "
            f"{format_date(grace_until)}. La région le vérifiera.",
            {**details, "accepte_jusqu_au": format_date(grace_until)},
            provisional=True,
        )
    return result(
        Verdict.VALID,
        f"Pass valide à titre provisoire, {value} — inconnu de la réplique locale, "
        "mais signé par la région, qui le vérifiera.",
        details,
        provisional=True,
    )
