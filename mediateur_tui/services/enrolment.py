"""Enrolment of the site with its region (docs/protocol.md, « Inscription »).

`enrol` makes the site key, registers it with a one-time token over HTTP, verifies the region's
signed answer and stores the region key, the site identity, the hub address and the API key. By
USB key, `enrolment_request` writes the request and `apply_enrolment` reads the answer. A
distributor site also receives the region's beneficiary key (`beneficiary_key_of`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from sqlmodel import Session

from mediateur_tui.domain.region_keys import RegionKeys
from mediateur_tui.domain.signatures import key_fingerprint
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import ENROLMENT_REQUEST
from mediateur_tui.protocol.key_sets import verify_region_document
from mediateur_tui.protocol.signing import decode_key, encode_key
from mediateur_tui.services.region_keys import (
    follow_document_key_sets,
    keep_followed,
    trusted_region_keys,
)
from mediateur_tui.store import queries
from mediateur_tui.store.audit import append_event
from mediateur_tui.store.engine import writer
from mediateur_tui.store.keys import (
    beneficiary_key_of,
    load_or_create_site_key,
    load_site_key,
    raw_public_key,
    replace_site_key,
    site_key_path,
    write_beneficiary_key,
)
from mediateur_tui.store.models import ReplicaMeta
from mediateur_tui.store.sync_state import read_sync_state, sync_state
from mediateur_tui.sync.errors import HubRefused, SyncError

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Enrolment:
    region_id: str
    site_id: str
    site_name: str
    hub_url: str | None
    region_key_fingerprint: str
    site_key_fingerprint: str
    site_key_file: Path  # the site's private key, in the data directory
    distributor: bool = False  # the region gave its beneficiary key: this site hands out carnets


def enrol(
    engine: Engine,
    data_dir: Path,
    hub_url: str,
    token: str,
    now: datetime,
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] | None = None,
) -> Enrolment:
    """Enrols this site with the region hub over HTTP (see the module's docstring).

    A site already enrolled online is enrolled again with the new token the region gave (a
    new laptop restored from a backup after the old one was lost): with a new site key, so
    that the lost laptop's key no longer signs for the site."""
    from mediateur_tui.sync.client import HubClient, normalise_hub_url  # httpx: only here

    hub_url = normalise_hub_url(hub_url)
    new_key = Ed25519PrivateKey.generate() if _enrolled_online(engine) else None
    if new_key is None:
        request = enrolment_request(engine, data_dir, token)
    else:
        request = _request(token, new_key)
    with HubClient(hub_url, transport=transport, sleep=sleep) as client:
        try:
            answer = client.enrol(request)
        except HubRefused as error:
            if error.status == 409:
                raise HubRefused(
                    "Ce jeton d'inscription a déjà servi. Si une inscription précédente a été "
                    "interrompue, demandez un nouveau jeton à la région.",
                    error.status,
                ) from error
            raise
    return apply_enrolment(engine, data_dir, answer, now, hub_url, new_key)


def _enrolled_online(engine: Engine) -> bool:
    with Session(engine) as session:
        state = read_sync_state(session)
    return state.enrolled_at is not None and bool(state.hub_url)


def enrolment_request(engine: Engine, data_dir: Path, token: str) -> dict[str, Any]:
    """The pn-enrolment-request/1 for `token`, making the site key if needed.

    Online it is posted to the hub; by USB key it is written to a file that the region imports
    (`mediateur-hub import-enrolment`), whose answer the site then imports.
    """
    _refuse_if_enrolled(engine)
    return _request(token, load_or_create_site_key(data_dir))


def _request(token: str, key: Ed25519PrivateKey) -> dict[str, Any]:
    token = token.strip()
    if not token:
        raise SyncError("Jeton d'inscription manquant.")
    return {
        "format": ENROLMENT_REQUEST,
        "token": token,
        "site_public_key": encode_key(raw_public_key(key)),
    }


def _refuse_if_enrolled(engine: Engine) -> None:
    with Session(engine) as session:
        state = read_sync_state(session)
        meta = queries.replica_meta(session)
        if state.enrolled_at is not None:
            where = f" ({state.hub_url})" if state.hub_url else ""
            raise SyncError(
                f"Ce poste est déjà inscrit auprès de la région{where} "
                f"comme lieu « {meta.site_id if meta else '?'} »."
            )


def apply_enrolment(
    engine: Engine,
    data_dir: Path,
    answer: dict[str, Any],
    now: datetime,
    hub_url: str | None = None,
    new_key: Ed25519PrivateKey | None = None,
) -> Enrolment:
    """Verifies the region's pn-enrolment/1 answer and stores the site's identity.

    `hub_url` is None for an enrolment by file: the site then remits by USB key only.
    `new_key`: a site enrolled again, with this new key (written once the answer verified);
    its next sync takes back from the region what it has of the site (services/recovery.py).
    """
    if new_key is None:
        _refuse_if_enrolled(engine)
    with Session(engine) as session:
        meta = queries.replica_meta(session)
        known = (meta.region_id, meta.region_public_key, meta.site_id) if meta else None
    key = new_key or load_site_key(data_dir)
    region_id, site_id = _identifier(answer, "region_id"), _identifier(answer, "site_id")
    region_key = decode_key(str(answer.get("region_public_key", "")))
    known_keys = trusted_region_keys(meta) if known and known[1] == region_key else None
    followed = follow_document_key_sets(
        known_keys or RegionKeys.first_key_only(region_key), answer, region_id
    )
    verify_region_document(answer, followed.keys, region_id)
    site_name, api_key = answer.get("site_name"), answer.get("api_key")
    if not isinstance(site_name, str) or not isinstance(api_key, str) or not api_key:
        raise ProtocolError("Réponse d'inscription mal formée : refusée.")
    if known is not None:
        _check_enrolment_matches(known, region_id, region_key, site_id)
    beneficiary_key = beneficiary_key_of(answer)
    if beneficiary_key is not None:
        write_beneficiary_key(data_dir, beneficiary_key)

    with Session(writer(engine)) as session:
        meta = queries.replica_meta(session)
        if meta is None:
            meta = ReplicaMeta(
                region_id=region_id,
                region_public_key=region_key,
                site_id=site_id,
                updated_at=None,
                pass_count=0,
            )
        else:
            _check_enrolment_matches(
                (meta.region_id, meta.region_public_key, meta.site_id),
                region_id,
                region_key,
                site_id,
            )
            meta.region_public_key = region_key
        keep_followed(meta, followed)
        session.add(meta)
        if new_key is not None:
            replace_site_key(data_dir, new_key)
        state = sync_state(session)
        state.hub_url, state.api_key, state.enrolled_at = hub_url, api_key, now
        state.last_sync_at = None  # the first sync of this enrolment asks for the recovery
        session.add(state)
        append_event(
            session,
            now,
            "enrolment",
            None,
            {
                "hub_url": hub_url,
                "region_id": region_id,
                "site_id": site_id,
                "distributor": beneficiary_key is not None,
                "again": new_key is not None,
            },
        )
        session.commit()
    log.info("enrolled at %s as %s (region %s)", hub_url or "(file)", site_id, region_id)
    return Enrolment(
        region_id=region_id,
        site_id=site_id,
        site_name=site_name,
        hub_url=hub_url,
        region_key_fingerprint=key_fingerprint(region_key),
        site_key_fingerprint=key_fingerprint(raw_public_key(key)),
        site_key_file=site_key_path(data_dir),
        distributor=beneficiary_key is not None,
    )


def _identifier(document: dict[str, Any], name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str) or not value:
        raise ProtocolError(f"Réponse d'inscription mal formée : « {name} » manquant.")
    return value


def _check_enrolment_matches(
    known: tuple[str, bytes | None, str], region_id: str, region_key: bytes, site_id: str
) -> None:
    known_region, known_key, known_site = known
    if known_region != region_id or (known_key is not None and known_key != region_key):
        raise ProtocolError(
            f"La réplique de ce poste vient d'une autre région (ou d'une autre clé) que le "
            f"serveur « {region_id} » : inscription refusée."
        )
    if known_site != site_id:
        raise ProtocolError(
            f"Ce poste est le lieu « {known_site} », mais le jeton inscrit le lieu « {site_id} » : "
            "inscription refusée."
        )
