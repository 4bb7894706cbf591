"""The region's signing keys as a site trusts them, and what a key says about a signed pass.

A region signs with one key at a time. When it rotates, the old key stops signing (`sign_until`)
and a new one starts (`valid_from`); passes printed under the old key stay valid. When a key
leaks, the region revokes it from a date (`revoked_from`): its signatures are not trusted from
that day on. The site learns this from the region's key sets (protocol/key_sets.py); before
any key set, it knows the region's first key alone, the one its enrolment gave it.

A QR payload names its key (`PN2:<KID>:…`); a `PN1` payload was signed by the region's first
key. `pass_key_problem` is the rule for a pass's signing key; the replica's own checks (known,
revoked pass, redeemed, …) are decided after it, unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from mediateur_tui.domain.signatures import key_id


class KeyStatus(StrEnum):
    ACTIVE = "active"  # the key the region signs with
    RETIRED = "retired"  # replaced by a newer key: what it signed before `sign_until` stands
    REVOKED = "revoked"  # leaked: nothing it signed from `revoked_from` on is trusted


KEY_STATUS_LABELS = {
    KeyStatus.ACTIVE: "en service",
    KeyStatus.RETIRED: "remplacée",
    KeyStatus.REVOKED: "révoquée",
}


@dataclass(frozen=True)
class RegionKey:
    kid: str
    public_key: bytes
    valid_from: date
    sign_until: date | None = None  # None: it still signs
    revoked_from: date | None = None

    @property
    def status(self) -> KeyStatus:
        if self.revoked_from is not None:
            return KeyStatus.REVOKED
        if self.sign_until is not None:
            return KeyStatus.RETIRED
        return KeyStatus.ACTIVE

    def signs_on(self, day: date) -> bool:
        """Whether the region signed with this key on `day` (its signing window)."""
        return self.valid_from <= day and (self.sign_until is None or day <= self.sign_until)

    def trusted_on(self, day: date) -> bool:
        """Whether what this key signed on `day` is trusted (not after its revocation)."""
        return self.revoked_from is None or day < self.revoked_from


@dataclass(frozen=True)
class RegionKeys:
    """The keys a site trusts, in the order the region made them (the first is its first key),
    from the key set numbered `sequence` (0: the enrolment key alone, before any key set)."""

    keys: tuple[RegionKey, ...]
    sequence: int = 0

    @classmethod
    def first_key_only(cls, public_key: bytes) -> RegionKeys:
        """What a site trusts before any key set: the region key of its enrolment."""
        return cls((RegionKey(kid=key_id(public_key), public_key=public_key, valid_from=date.min),))

    @property
    def first(self) -> RegionKey:
        return self.keys[0]

    def named(self, kid: str | None) -> RegionKey | None:
        """The key a signature names; no name (`PN1`, a document before key ids): the first."""
        if kid is None:
            return self.first
        return next((key for key in self.keys if key.kid == kid), None)


class PassKeyProblem(StrEnum):
    UNKNOWN = "unknown"  # a kid the region's key set does not list
    REVOKED = "revoked"  # signed by a revoked key, and nothing shows it was signed before
    OUTSIDE_WINDOW = "outside_window"  # signed when the key did not sign


def pass_key_problem(
    key: RegionKey | None,
    issued_on: date | None,
    listed: bool,
    replica_made_on: date | None,
    today: date,
) -> PassKeyProblem | None:
    """Why a pass's signature by `key` is not to be trusted, or None.

    `listed`: the replica lists the pass; `issued_on`: the day the replica says it was issued
    (None for a pass issued before the replica said so). A pass the replica does not list was
    signed after the replica was made (`replica_made_on`), or today at the latest.
    """
    if key is None:
        return PassKeyProblem.UNKNOWN
    if listed:
        if issued_on is None:
            return None  # issued before key ids: the registry vouches for it, not the key
        earliest = latest = issued_on
    else:
        earliest, latest = replica_made_on or date.min, today
    if not key.trusted_on(latest):
        return PassKeyProblem.REVOKED  # nothing shows it was signed before the revocation
    if latest < key.valid_from or (key.sign_until is not None and earliest > key.sign_until):
        return PassKeyProblem.OUTSIDE_WINDOW
    return None
