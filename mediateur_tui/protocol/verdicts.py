"""The region's verdicts: on each redemption line of a batch (pn-ack/1) and on each attribution
of carnets (pn-attribution-answer/1), with the one French label of each refusal reason."""

from __future__ import annotations

from enum import StrEnum


class LineVerdict(StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"


class RefusalReason(StrEnum):
    """Why the region refused a redemption line."""

    CONFLICT = "conflict"  # another line took this pass first (first received wins)
    REVOKED = "revoked"
    EXPIRED = "expired"
    UNKNOWN = "unknown"
    NOT_ATTRIBUTED = "not_attributed"
    DUPLICATE_LINE = "duplicate_line"  # the same redemption twice in one batch
    CANCELLED = "cancelled"  # the site declared this redemption cancelled: it never pays

    @property
    def label(self) -> str:
        """In French, lower case, to follow a colon or a dash: `déjà encaissé ailleurs`."""
        return REFUSAL_LABELS[self][0]

    @property
    def short_label(self) -> str:
        """In a few words, for a narrow column: `Encaissé ailleurs`."""
        return REFUSAL_LABELS[self][1]


# Each reason's label, and its short form for a narrow column.
REFUSAL_LABELS = {
    RefusalReason.CONFLICT: ("déjà encaissé ailleurs", "Encaissé ailleurs"),
    RefusalReason.REVOKED: ("pass en opposition", "En opposition"),
    RefusalReason.EXPIRED: ("pass expiré", "Expiré"),
    RefusalReason.UNKNOWN: ("pass inconnu du registre", "Inconnu du registre"),
    RefusalReason.NOT_ATTRIBUTED: ("carnet non attribué", "Carnet non attribué"),
    RefusalReason.DUPLICATE_LINE: ("ligne en double", "Ligne en double"),
    RefusalReason.CANCELLED: ("annulé par le lieu, qui l'a déclaré", "Annulé par le lieu"),
}
UNSTATED_REASON = "motif non précisé"


def refusal_label(reason: str | None, short: bool = False) -> str:
    """The label of a reason as stored (a string); an unknown reason is shown as it came."""
    if reason in tuple(RefusalReason):
        known = RefusalReason(reason)
        return known.short_label if short else known.label
    return reason or UNSTATED_REASON


class AttributionVerdict(StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"


class AttributionRefusal(StrEnum):
    """Why the region refused an attribution (the region's message says it in French)."""

    BENEFICIARY_CAP = "beneficiary_cap"  # the person would pass the cap, all distributors counted
    LYCEE_CAP = "lycee_cap"  # the lycée experiment's region-wide quota is reached
    NO_RULEBOOK = "no_rulebook"  # no rulebook (or no such category) in force on received_on
    CARNET_UNKNOWN = "carnet_unknown"  # a carnet the registry does not hold
    CARNET_TAKEN = "carnet_taken"  # a carnet already attributed (to anyone, by any attribution)
    INVALID = "invalid"  # inconsistent: passes not equal to the carnets' sizes, carnet twice, ...
