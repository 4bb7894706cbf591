"""Site enrolment: a one-time token made by the region, redeemed once by the site.

`enrol_site` records the site (and its replica change) and returns a token; the site sends it
with its public key (pn-enrolment-request/1) and receives an API key (pn-enrolment/1, signed
by the region's key in service, with the region's first key and every key set it published,
from which the site follows the region's keys). The hub stores only SHA-256 hashes of tokens
and API keys.

A distributor site (`enrol_site(..., distributor=True)`) also receives the region's
beneficiary key (`beneficiary_key`, base64 of 32 bytes) in its answer: the secret from which
every distributor derives the same pseudonymous reference for the same person. A site made a
distributor after its enrolment asks for it with its API key (`beneficiary_key_document`,
GET /v1/beneficiary-key): the site does so at each sync while it has no key.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlmodel import select

from mediateur_tui.domain.clock import system_clock
from mediateur_tui.domain.codes import ALPHABET
from mediateur_tui.domain.site_identity import SiteIdentity
from mediateur_tui.hub.changes import append_changes, site_change
from mediateur_tui.hub.database import Hub, read_session, write_session
from mediateur_tui.hub.errors import Conflict, Forbidden, HubError, NotFound, Unauthorised
from mediateur_tui.hub.models import HubEnrolmentToken, HubSite
from mediateur_tui.hub.region_keys import key_set_documents
from mediateur_tui.hub.registry import NEW_ID
from mediateur_tui.hub.struck_off import delete_unused_tokens, struck_off_refusal
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import BENEFICIARY_KEY, ENROLMENT, ENROLMENT_REQUEST
from mediateur_tui.protocol.instants import iso_instant
from mediateur_tui.protocol.signing import decode_key, encode_key, region_signer, sign_document

TOKEN_SYMBOLS = 20  # 100 random bits, shown as five groups of four


def enrol_site(
    hub: Hub,
    site_id: str,
    name: str,
    distributor: bool | None = None,
    identity: SiteIdentity | None = None,
) -> str:
    """Records (or renames) a site and returns a new one-time enrolment token.

    `distributor`: True makes the site a distributor, False makes it a plain site, None keeps
    what the hub has (a new site is not a distributor). `identity` (its SIRET or RNA, INSEE
    code and postcode) replaces the one recorded; None keeps it. Earlier unused tokens of the
    site stop working. Enrolling a site again (a new computer) replaces its key and its API
    key when the new token is used; a site struck off (hub.struck_off) is accepted again from
    then on.
    """
    site_id = site_id.strip().upper()
    name = name.strip()
    if not NEW_ID.fullmatch(site_id):
        raise HubError(
            f"Identifiant de site invalide « {site_id} » : lettres majuscules, chiffres et "
            "tirets (32 au plus)."
        )
    if not 1 <= len(name) <= 200:
        raise HubError("Nom du site vide ou trop long (200 caractères au plus).")
    token = _new_token()
    now = system_clock()
    with write_session(hub.engine) as session:
        site = session.get(HubSite, site_id)
        if site is None:
            site = HubSite(id=site_id, name=name, created_at=now, distributor=bool(distributor))
            _record_identity(site, identity)
            session.add(site)
            session.flush()
            append_changes(session, [site_change(site_id, name, identity)], now)
        else:
            before = (site.name, site.identity())
            site.name = name
            if identity is not None:
                _record_identity(site, identity)
            if (site.name, site.identity()) != before:
                append_changes(session, [site_change(site_id, name, site.identity())], now)
            if distributor is not None:
                site.distributor = distributor
            session.add(site)
        delete_unused_tokens(session, site_id)  # a new token replaces one not used yet
        session.add(
            HubEnrolmentToken(
                token_hash=secret_hash(normalise_token(token)),
                site_id=site_id,
                name=name,
                created_at=now,
            )
        )
    return token


def set_site_identity(hub: Hub, site_id: str, identity: SiteIdentity) -> bool:
    """Records the identity of a site the hub knows (enrolled or not); whether it changed.

    The site receives it in its replica's `site` change at its next sync."""
    site_id = site_id.strip().upper()
    with write_session(hub.engine) as session:
        site = session.get(HubSite, site_id)
        if site is None:
            raise NotFound(f"Site inconnu : {site_id} (mediateur-hub enrol-site l'inscrit).")
        if site.identity() == identity:
            return False
        _record_identity(site, identity)
        session.add(site)
        append_changes(session, [site_change(site.id, site.name, identity)], system_clock())
    return True


def _record_identity(site: HubSite, identity: SiteIdentity | None) -> None:
    site.pivot = identity.pivot if identity else None
    site.code_insee = identity.code_insee if identity else None
    site.code_postal = identity.code_postal if identity else None


def complete_enrolment(hub: Hub, request: dict[str, Any]) -> dict[str, Any]:
    """Uses a token (once) to register the site's key; returns the signed pn-enrolment/1."""
    if request.get("format") != ENROLMENT_REQUEST:
        raise ProtocolError(f"Demande d'inscription attendue ({ENROLMENT_REQUEST}).")
    token = request.get("token")
    if not isinstance(token, str) or not token.strip():
        raise ProtocolError("Jeton d'inscription manquant.")
    key_text = request.get("site_public_key")
    if not isinstance(key_text, str):
        raise ProtocolError("Clé publique du site manquante.")
    site_key = decode_key(key_text)
    api_key = secrets.token_urlsafe(32)
    now = system_clock()
    with write_session(hub.engine) as session:
        stored = session.get(HubEnrolmentToken, secret_hash(normalise_token(token)))
        if stored is None:
            raise Unauthorised("Jeton d'inscription inconnu : vérifiez-le auprès de la région.")
        if stored.used_at is not None:
            raise Conflict(
                "Ce jeton d'inscription a déjà servi : demandez-en un nouveau à la région."
            )
        site = session.get(HubSite, stored.site_id)
        assert site is not None  # a token always belongs to a recorded site (foreign key)
        stored.used_at = now
        site.public_key = site_key
        site.api_key_hash = secret_hash(api_key)
        site.enrolled_at = now
        site.revoked_at = None  # its keys are replaced: a stolen computer's no longer work
        session.add_all([stored, site])
        answer = {
            "format": ENROLMENT,
            "region_id": hub.region_id,
            "region_public_key": encode_key(hub.region_public_key),
            "site_id": site.id,
            "site_name": site.name,
            "api_key": api_key,
            "issued_at": iso_instant(now),
            "key_sets": key_set_documents(session),
        }
        if site.distributor:
            answer["beneficiary_key"] = encode_key(hub.beneficiary_key)
    return sign_document(answer, hub.region_key, region_signer(hub.region_id))


def beneficiary_key_document(hub: Hub, site: HubSite) -> dict[str, Any]:
    """The signed pn-beneficiary-key/1 for an enrolled distributor site (its API key said who
    it is: `authenticate`); Forbidden for a site the region has not made a distributor.

    The same key as in a distributor's enrolment answer, for a site made a distributor after
    its enrolment. The document holds a secret: never log it.
    """
    if not site.distributor:
        raise Forbidden(
            "La région n'a pas fait de ce site une structure distributrice : il ne reçoit pas "
            "la clé des bénéficiaires."
        )
    document = {
        "format": BENEFICIARY_KEY,
        "region_id": hub.region_id,
        "site_id": site.id,
        "beneficiary_key": encode_key(hub.beneficiary_key),
        "issued_at": iso_instant(system_clock()),
    }
    return sign_document(document, hub.region_key, region_signer(hub.region_id))


def site_record(hub: Hub, site_id: str) -> HubSite | None:
    """The hub's record of a site (None when it does not know it)."""
    with read_session(hub.engine) as session:
        return session.get(HubSite, site_id.strip().upper())


def authenticate(hub: Hub, api_key: str | None) -> HubSite:
    """The site holding this API key; Unauthorised otherwise, Forbidden when the region has
    struck the site off (hub.struck_off)."""
    if not api_key:
        raise Unauthorised("Clé d'accès manquante : le site doit d'abord s'inscrire.")
    with read_session(hub.engine) as session:
        site = session.exec(select(HubSite).where(HubSite.api_key_hash == secret_hash(api_key)))
        found = site.first()
    if found is None:
        raise Unauthorised("Clé d'accès inconnue ou révoquée : inscrivez de nouveau le site.")
    if found.revoked_at is not None:
        raise struck_off_refusal(found)
    return found


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def normalise_token(token: str) -> str:
    return token.strip().upper().replace("-", "").replace(" ", "")


def _new_token() -> str:
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(TOKEN_SYMBOLS))
    return "-".join(symbols[index : index + 4] for index in range(0, TOKEN_SYMBOLS, 4))
