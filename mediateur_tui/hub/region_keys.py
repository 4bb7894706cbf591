"""The region's signing keys: list them, rotate to a new one, revoke one.

The hub signs with one key at a time, the key in service (hub.database.Hub.region_key). A
rotation makes a new key (its private half in `region_ed25519-<KID>.key`, mode 0600): the key
in service stops signing today (`sign_until`) and the new one signs from today. A revocation
says from which day a leaked key's signatures are not trusted; the key in service cannot be
revoked (rotate first).

Each rotation and each revocation publishes a key set (pn-key-set/1, protocol/key_sets.py):
every key in creation order, signed by the key that was in service before the change, so
that a site trusting the previous set can check it. Replica pages, snapshots and enrolment
answers carry every key set (`key_set_documents`). Each change and its key set are written
in one transaction.

A running `serve` signs with the new key from its next request (hub.api.deps.HubHolder).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, func, select

from mediateur_tui.domain.clock import system_clock
from mediateur_tui.domain.region_keys import RegionKey
from mediateur_tui.domain.signatures import key_id, new_private_key, public_key_bytes
from mediateur_tui.hub.database import (
    Hub,
    read_session,
    still_in_service,
    write_private_key,
    write_session,
)
from mediateur_tui.hub.errors import HubError, NotFound
from mediateur_tui.hub.models import HubKeySet, HubRegionKey
from mediateur_tui.hub.registry import today
from mediateur_tui.protocol.key_sets import key_set_document
from mediateur_tui.protocol.signing import region_signer, sign_document

# A key made after every other sorts after them (key sets keep the order) even if the
# clock went back.
_AFTER = timedelta(microseconds=1)


@dataclass(frozen=True)
class Rotated:
    key: RegionKey  # the new key in service
    path: Path  # its private key file
    sequence: int  # the key set that announces it


@dataclass(frozen=True)
class Revoked:
    key: RegionKey
    already: bool  # it was revoked before: nothing changed
    sequence: int | None  # the key set that announces it (None when nothing changed)


def region_keys(hub: Hub) -> list[RegionKey]:
    """Every key of the region, in the order it made them (the first key first)."""
    with read_session(hub.engine) as session:
        return [_region_key(row) for row in _rows(session)]


def key_set_documents(session: Session) -> list[dict[str, Any]]:
    """Every key set the region published (signed pn-key-set/1), in sequence order: empty
    before the first rotation."""
    bodies = session.exec(select(HubKeySet.body).order_by(col(HubKeySet.sequence))).all()
    return [json.loads(body) for body in bodies]


def rotate_key(hub: Hub) -> Rotated:
    """Makes a new key and puts it in service from today; the key set announcing it is signed
    by the outgoing key. When the transaction fails, the new key file is removed; when its
    commit was cut after the database may have recorded it, the file is kept and HubError
    says to look at `keys list`."""
    private_key = new_private_key()
    public_key = public_key_bytes(private_key)
    kid = key_id(public_key)
    path = hub.settings.rotated_key_path(kid)
    write_private_key(path, private_key)
    try:
        with write_session(hub.engine) as session:
            outgoing = still_in_service(session, hub)
            day, now = today(), system_clock()
            outgoing.sign_until = day
            latest = max(row.created_at for row in _rows(session))
            added = HubRegionKey(
                kid=kid,
                region_id=hub.region_id,
                public_key=public_key,
                valid_from=day,
                created_at=max(now, latest + _AFTER),
            )
            session.add_all([outgoing, added])
            sequence = _publish(session, hub, now)
    except BaseException as error:
        if _recorded(hub, kid):  # a commit cut after the database took it: keep the file
            raise HubError(
                f"Le changement de clé a peut-être abouti : la nouvelle clé {kid} est gardée "
                f"dans {path} (à sauvegarder). Vérifiez avec « mediateur-hub keys list »."
            ) from error
        path.unlink(missing_ok=True)
        raise
    return Rotated(key=_region_key(added), path=path, sequence=sequence)


def revoke_key(hub: Hub, kid: str, from_day: date | None = None) -> Revoked:
    """Revokes a key from `from_day` (today by default): a site trusts nothing it signed from
    that day on. The key in service is refused; a key already revoked stays as it was."""
    wanted = kid.strip().upper()
    with write_session(hub.engine) as session:
        row = session.get(HubRegionKey, wanted)
        if row is None:
            raise NotFound(
                f"Clé inconnue de la région : {kid}. « mediateur-hub keys list » montre ses clés."
            )
        if row.revoked_from is not None:
            return Revoked(key=_region_key(row), already=True, sequence=None)
        if row.sign_until is None:
            raise HubError(
                f"La clé {row.kid} est la clé en service : faites d'abord keys rotate (une "
                "nouvelle clé prend sa place), puis révoquez celle-ci."
            )
        still_in_service(session, hub)
        row.revoked_from = from_day or today()
        session.add(row)
        sequence = _publish(session, hub, system_clock())
    return Revoked(key=_region_key(row), already=False, sequence=sequence)


def _recorded(hub: Hub, kid: str) -> bool:
    try:
        with read_session(hub.engine) as session:
            return session.get(HubRegionKey, kid) is not None
    except Exception:  # the database out of reach: it may hold the key, so keep the file
        return True


def _publish(session: Session, hub: Hub, now: datetime) -> int:
    """Stores the next key set (every key, as the session has them), signed by the key `hub`
    signs with; returns its number."""
    session.flush()
    last = session.exec(select(func.max(HubKeySet.sequence))).one()
    sequence = (last or 0) + 1
    keys = [_region_key(row) for row in _rows(session)]
    document = key_set_document(hub.region_id, sequence, now, keys)
    signed = sign_document(document, hub.region_key, region_signer(hub.region_id))
    body = json.dumps(signed, ensure_ascii=False, separators=(",", ":"))
    session.add(HubKeySet(sequence=sequence, body=body, created_at=now))
    return sequence


def _rows(session: Session) -> list[HubRegionKey]:
    order = (col(HubRegionKey.created_at), col(HubRegionKey.kid))
    return list(session.exec(select(HubRegionKey).order_by(*order)).all())


def _region_key(row: HubRegionKey) -> RegionKey:
    return RegionKey(
        kid=row.kid,
        public_key=bytes(row.public_key),
        valid_from=row.valid_from,
        sign_until=row.sign_until,
        revoked_from=row.revoked_from,
    )
