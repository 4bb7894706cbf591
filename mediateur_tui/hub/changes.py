"""The change log: one row per replica change, appended in the writer's transaction.

Each change is stored as its JSON body (the exact object that goes into replica pages and
snapshots, field `t` included), so that pages are cut without rebuilding anything.

Carnet and attribution changes carry `b`, the pseudonymous reference of the beneficiary the
carnet was handed to (null when it is not handed out). Changes written before `b` existed
lack it; readers take a missing `b` as unknown. Carnet changes carry `i`, the day the carnet
was issued (in France), except for carnets issued before the hub recorded it.

A `site` change carries the site's identity (SIRET or RNA as `pivot`, `code_insee`,
`code_postal`) when the region gave it; one without them says the site has none (yet).

A `released` change undoes the `used` change of a pass whose declared redemption the site
cancelled before any batch (hub.declarations).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from mediateur_tui.domain.formatting import local_date
from mediateur_tui.domain.site_identity import SiteIdentity, identity_fields
from mediateur_tui.hub.database import bulk_insert
from mediateur_tui.hub.models import ALL_SITES, HubCarnet, HubChange, HubProgramme, HubUsedPass
from mediateur_tui.hub.reconcile import Decision
from mediateur_tui.protocol.formats import (
    CHANGE_ATTRIBUTION,
    CHANGE_CARNET,
    CHANGE_PROGRAMME,
    CHANGE_RELEASED,
    CHANGE_REVOCATION,
    CHANGE_SITE,
    CHANGE_USED,
)

# What json.dumps writes for a string with ensure_ascii=False (its C encoder).
_json_string = json.encoder.encode_basestring


def append_changes(session: Session, changes: Iterable[dict[str, Any]], at: datetime) -> int:
    """Appends changes in order (one multi-row insert); returns how many."""
    rows = [{"kind": change["t"], "body": encode_change(change), "at": at} for change in changes]
    if rows:
        bulk_insert(session, HubChange, rows)
    return len(rows)


def claim_passes(
    session: Session,
    site_id: str,
    accepted: list[Decision],
    at: datetime,
    *,
    batch_id: str | None = None,
    declaration_id: str | None = None,
) -> None:
    """The passes of newly accepted lines are used: one `hub_used_pass` row each (its primary
    key makes "paid once" hold between concurrent intakes) and a `used` change each."""
    rows = [
        {
            "code": d.line.code,
            "redemption_id": d.line.redemption_id,
            "batch_id": batch_id,
            "declaration_id": declaration_id,
            "site_id": site_id,
            "redeemed_at": d.line.redeemed_at,
        }
        for d in accepted
    ]
    bulk_insert(session, HubUsedPass, rows)
    changes = [
        {
            "kind": CHANGE_USED,
            "body": used_change_body(d.line.code, site_id, local_date(d.line.redeemed_at)),
            "at": at,
        }
        for d in accepted
    ]
    if changes:
        bulk_insert(session, HubChange, changes)


def encode_change(change: dict[str, Any]) -> str:
    return json.dumps(change, ensure_ascii=False, separators=(",", ":"))


def used_change_body(code: str, site_id: str, redeemed_on: date) -> str:
    """`encode_change(used_change(...))`, written directly: an intake writes one per line."""
    return (
        f'{{"t":"{CHANGE_USED}","code":{_json_string(code)},"site":{_json_string(site_id)},'
        f'"on":"{redeemed_on.isoformat()}"}}'
    )


def programme_sites(programme: HubProgramme) -> list[str]:
    sites = json.loads(programme.sites)
    return sites if sites else [ALL_SITES]


def programme_change(programme: HubProgramme) -> dict[str, Any]:
    return {
        "t": CHANGE_PROGRAMME,
        "id": programme.id,
        "label": programme.label,
        "value_cents": programme.value_cents,
        "valid_from": programme.valid_from.isoformat(),
        "valid_until": programme.valid_until.isoformat(),
        "grace_until": programme.grace_until.isoformat(),
        "sites": programme_sites(programme),
    }


def site_change(site_id: str, name: str, identity: SiteIdentity | None = None) -> dict[str, Any]:
    """A site, with its identity (`pivot`, `code_insee`, `code_postal`) when the hub has it."""
    return {"t": CHANGE_SITE, "id": site_id, "name": name, **identity_fields(identity)}


def carnet_change(carnet: HubCarnet, codes: list[str]) -> dict[str, Any]:
    """A carnet and its codes; `i`, the day it was issued, only when the hub knows it."""
    change = {
        "t": CHANGE_CARNET,
        "id": carnet.id,
        "p": carnet.programme_id,
        "n": carnet.size,
        "a": _day(carnet.attributed_on),
        "b": carnet.beneficiary_ref,
        "codes": codes,
    }
    if carnet.issued_on is not None:
        change["i"] = carnet.issued_on.isoformat()
    return change


def attribution_change(
    carnet_id: str, attributed_on: date | None, beneficiary_ref: str | None
) -> dict[str, Any]:
    """A carnet handed to `beneficiary_ref` on `attributed_on` (both None: taken back)."""
    return {
        "t": CHANGE_ATTRIBUTION,
        "id": carnet_id,
        "a": _day(attributed_on),
        "b": beneficiary_ref if attributed_on is not None else None,
    }


def revocation_change(code: str, reason: str, revoked_on: date) -> dict[str, Any]:
    return {"t": CHANGE_REVOCATION, "code": code, "reason": reason, "on": revoked_on.isoformat()}


def used_change(code: str, site_id: str, redeemed_on: date) -> dict[str, Any]:
    return {"t": CHANGE_USED, "code": code, "site": site_id, "on": redeemed_on.isoformat()}


def released_change(code: str) -> dict[str, Any]:
    """A pass the region no longer counts as used: its declared redemption was cancelled."""
    return {"t": CHANGE_RELEASED, "code": code}


def _day(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None
