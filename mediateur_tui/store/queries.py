"""Read queries on the replica and the local log. Each is a single indexed lookup.

`pass_facts`, `active_local_redemption` and `replica_state` say in ORM terms what the desk's
one-statement scan path (store/scan_lookup.py) reads: they are its reference, and
tests/services/test_scan_lookup.py holds the two to the same facts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import ScalarSelect
from sqlmodel import Session, col, select

from mediateur_tui.domain.verdicts import (
    DEFAULT_MAX_REPLICA_AGE,
    LocalRedemption,
    PassFacts,
    RegionRefusal,
    RemoteRedemption,
    ReplicaState,
)
from mediateur_tui.protocol.key_sets import trusted_keys
from mediateur_tui.protocol.verdicts import refusal_label
from mediateur_tui.store.answers import refusal_of, site_name
from mediateur_tui.store.models import (
    Carnet,
    DeskSession,
    Operator,
    PassRecord,
    Programme,
    ProgrammeSite,
    Redemption,
    ReplicaMeta,
    Revocation,
    Site,
)
from mediateur_tui.store.models import RemoteRedemption as RemoteRedemptionRow

ALL_SITES = "*"  # a programme_site row for "*": the programme is accepted at every site


def replica_meta(session: Session) -> ReplicaMeta | None:
    return session.get(ReplicaMeta, 1)


def replica_state(session: Session, max_age: timedelta = DEFAULT_MAX_REPLICA_AGE) -> ReplicaState:
    meta = replica_meta(session)
    if meta is None:
        return ReplicaState(updated_at=None, max_age=max_age)
    keys = trusted_keys(meta.region_public_key, meta.region_key_set, meta.region_id)
    return ReplicaState(updated_at=meta.updated_at, region_keys=keys, max_age=max_age)


def pass_facts(session: Session, code: str, site_id: str) -> PassFacts | None:
    """What the replica and the local log know about `code`, or None if the registry lacks it."""
    row = session.exec(
        select(Carnet, Programme)
        .join(PassRecord, col(PassRecord.carnet_ref) == col(Carnet.ref))
        .join(Programme, col(Programme.id) == col(Carnet.programme_id))
        .where(PassRecord.code == code)
    ).first()
    if row is None:
        return None
    carnet, programme = row
    accepted = any(
        session.get(ProgrammeSite, (programme.id, site)) is not None
        for site in (site_id, ALL_SITES)
    )
    revocation = session.get(Revocation, code)
    return PassFacts(
        code=code,
        programme_id=programme.id,
        programme_label=programme.label,
        value_cents=programme.value_cents,
        carnet_id=carnet.id,
        carnet_size=carnet.size,
        carnet_attributed=carnet.attributed_on is not None,
        valid_from=programme.valid_from,
        valid_until=programme.valid_until,
        grace_until=programme.grace_until,
        accepted_here=accepted,
        revoked_reason=revocation.reason if revocation else None,
        revoked_on=revocation.revoked_on if revocation else None,
        redeemed_here=active_local_redemption(session, code),
        redeemed_elsewhere=_remote_redemption(session, code),
    )


def active_local_redemption(session: Session, code: str) -> LocalRedemption | None:
    row = session.exec(
        select(Redemption, DeskSession, Operator)
        .join(DeskSession, col(DeskSession.id) == col(Redemption.session_id))
        .join(Operator, col(Operator.id) == col(Redemption.operator_id))
        .where(Redemption.code == code, col(Redemption.cancelled_at).is_(None))
    ).first()
    if row is None:
        return None
    redemption, desk_session, operator = row
    refused = refusal_of(session, redemption.id)
    return LocalRedemption(
        at=redemption.redeemed_at,
        session_title=desk_session.title,
        operator_name=operator.name,
        region_refusal=None
        if refused is None
        else RegionRefusal(
            refusal_label(refused.reason),
            site_name(session, refused.winner_site_id),
            refused.winner_redeemed_at,
        ),
    )


def carnet_has_redemption(session: Session, carnet_id: str) -> bool:
    """Whether a pass of this carnet was taken here (and not cancelled)."""
    ref = select(Carnet.ref).where(Carnet.id == carnet_id).scalar_subquery()
    taken = select(Redemption.id).where(
        carnet_ref_of(Redemption.code) == ref, col(Redemption.cancelled_at).is_(None)
    )
    return session.exec(taken.limit(1)).first() is not None


def carnet_ref_of(code: Any) -> ScalarSelect[int]:
    """The `ref` of the carnet of the pass `code` (a column of another table), as a
    subquery: the pass table has no index on its carnet, so a question about a carnet's
    passes reads the other table (redemptions, revocations) and looks each code up by key."""
    return select(PassRecord.carnet_ref).where(PassRecord.code == code).scalar_subquery()


def carnet_of_pass(session: Session, code: str) -> str | None:
    """The number of the carnet holding the pass `code`, None when the replica lacks it."""
    return session.exec(
        select(Carnet.id)
        .join(PassRecord, col(PassRecord.carnet_ref) == col(Carnet.ref))
        .where(PassRecord.code == code)
    ).first()


def _remote_redemption(session: Session, code: str) -> RemoteRedemption | None:
    remote = session.get(RemoteRedemptionRow, code)
    if remote is None:
        return None
    site = session.get(Site, remote.site_id)
    return RemoteRedemption(site_name=site.name if site else remote.site_id, on=remote.redeemed_on)
