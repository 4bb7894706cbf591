"""Sites struck off by the region (`mediateur-hub revoke-site`), e.g. after a stolen computer.

From `HubSite.revoked_at` on, the site's API key is refused (403, hub.enrolment.authenticate)
and so is every document it signed at or after that instant and brings by file (a batch
sealed, a declaration declared, attributions sent then). What it signed before stands, and
nothing the hub has already accepted from it changes. A new enrolment of the site, with the
token of an `enrol-site` made after the strike-off (the strike-off deletes the tokens not
used yet), replaces its keys and clears `revoked_at` (hub.enrolment.complete_enrolment).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, delete

from mediateur_tui.domain.clock import system_clock
from mediateur_tui.domain.formatting import LOCAL_TZ
from mediateur_tui.hub.database import Hub, write_session
from mediateur_tui.hub.errors import Forbidden, HubError, NotFound
from mediateur_tui.hub.models import HubEnrolmentToken, HubSite


@dataclass(frozen=True)
class StrikeOff:
    """What `revoke_site` did: `already` when the site was struck off before (unchanged)."""

    site_id: str
    revoked_at: datetime
    already: bool


def revoke_site(hub: Hub, site_id: str, at: datetime | None = None) -> StrikeOff:
    """Strikes a site off from `at` (now by default; never in the future).

    NotFound for a site the hub does not know; a site already struck off keeps its instant.
    """
    site_id = site_id.strip().upper()
    now = system_clock()
    revoked_at = now if at is None else at
    if revoked_at > now:
        raise HubError("La date de radiation ne peut pas être dans le futur.")
    with write_session(hub.engine) as session:
        site = session.get(HubSite, site_id)
        if site is None:
            raise NotFound(f"Site inconnu du hub : {site_id}. Rien n'a été radié.")
        if site.revoked_at is not None:
            delete_unused_tokens(session, site_id)  # struck off again: no token stays
            return StrikeOff(site.id, site.revoked_at, already=True)
        site.revoked_at = revoked_at
        session.add(site)
        # A token given out but not used yet would let whoever holds it enrol a computer and
        # lift the strike-off: only an enrol-site made after it may do that.
        delete_unused_tokens(session, site_id)
    return StrikeOff(site_id, revoked_at, already=False)


def delete_unused_tokens(session: Session, site_id: str) -> None:
    """Forgets the enrolment tokens of `site_id` that were given out and never used."""
    session.execute(
        delete(HubEnrolmentToken).where(
            col(HubEnrolmentToken.site_id) == site_id, col(HubEnrolmentToken.used_at).is_(None)
        )
    )


def struck_off_refusal(site: HubSite) -> Forbidden:
    """The 403 a struck-off site's API key gets."""
    assert site.revoked_at is not None
    return Forbidden(
        f"Ce poste ({site.id}) a été radié par la région le {french_instant(site.revoked_at)} : "
        "ses envois ne sont plus acceptés. Contactez la région."
    )


def refuse_if_signed_struck_off(site: HubSite, signed_at: datetime, document: str) -> None:
    """Forbidden when `site` was struck off at or before `signed_at`, the instant it signed
    `document` (« remise scellée », « déclaration faite »…)."""
    if site.revoked_at is None or signed_at < site.revoked_at:
        return
    raise Forbidden(
        f"Refus : {document} le {french_instant(signed_at)} par le site {site.id}, radié par "
        f"la région le {french_instant(site.revoked_at)}. Ce que ce site signe depuis sa "
        "radiation n'est plus accepté ; ce qu'il a signé avant reste acquis."
    )


def french_instant(moment: datetime) -> str:
    """« 03/12/2026 à 09:15 », in the region's time zone."""
    local = moment.astimezone(LOCAL_TZ)
    return f"{local:%d/%m/%Y} à {local:%H:%M}"
