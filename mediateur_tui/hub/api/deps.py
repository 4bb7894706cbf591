"""What the routes depend on: the hub, opened at the first request, the site that the
request's bearer token (the API key from its enrolment) authenticates, and the ids in their
paths.

The routes name them with the `CurrentHub`, `AuthenticatedSite` and `BatchIdInPath`
annotations.
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mediateur_tui.hub.database import (
    Hub,
    HubSettings,
    key_in_service,
    open_hub,
    opened_hub,
    read_session,
)
from mediateur_tui.hub.enrolment import authenticate
from mediateur_tui.hub.errors import NotFound
from mediateur_tui.hub.models import HubSite
from mediateur_tui.protocol.ids import RANDOM_ID, matches


class HubHolder:
    """Opens the hub at the first request (thread-safe), closes it at shutdown.

    Opening it lazily lets `create_app(...)` build the app, and its OpenAPI document, without
    an initialised hub. Each request also asks the database which key is in service: after a
    `keys rotate` (another process), a running server signs with the new key from its next
    request on, without a restart.
    """

    def __init__(self, settings: HubSettings) -> None:
        self.settings = settings
        self._hub: Hub | None = None
        self._lock = threading.Lock()

    def get(self) -> Hub:
        with self._lock:
            if self._hub is None:
                self._hub = open_hub(self.settings)
                return self._hub
            hub = self._hub
        if not self._rotated_since_opened(hub):  # read outside the lock: requests run on
            return hub
        with self._lock:
            if self._hub is hub:  # one thread reloads it; the others take its hub
                self._hub = opened_hub(self.settings, hub.engine)
            return self._hub or hub  # None only once closed, at shutdown

    @staticmethod
    def _rotated_since_opened(hub: Hub) -> bool:
        with read_session(hub.engine) as session:
            in_service = key_in_service(session)
        return in_service is not None and in_service.kid != hub.region_kid

    def close(self) -> None:
        with self._lock:
            if self._hub is not None:
                self._hub.engine.dispose()
                self._hub = None


def get_hub(request: Request) -> Hub:
    """The hub of the app that received the request (`create_app` puts its holder in state)."""
    holder: HubHolder = request.app.state.hub_holder
    return holder.get()


CurrentHub = Annotated[Hub, Depends(get_hub)]

bearer = HTTPBearer(auto_error=False, description="Clé d'accès du site (pn-enrolment/1).")


def get_site(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    hub: CurrentHub,
) -> HubSite:
    """The site whose API key the request carries; Unauthorised (401) otherwise, Forbidden
    (403) for a site the region struck off."""
    return authenticate(hub, credentials.credentials if credentials else None)


AuthenticatedSite = Annotated[HubSite, Depends(get_site)]


def batch_id_in_path(
    batch_id: Annotated[
        str,
        # Described, not checked, by FastAPI (its check would answer 400): checked below.
        Path(
            description="Identifiant de la remise.",
            json_schema_extra={"pattern": f"^{RANDOM_ID.pattern}$"},
        ),
    ],
) -> str:
    """The path's `batch_id`; NotFound (404) when it cannot be a batch id at all.

    A route names it before its other dependencies, so that such an id reaches neither the
    hub nor its database (PostgreSQL refuses a NUL character in a query).
    """
    if not matches(RANDOM_ID, batch_id):
        raise NotFound(
            "Aucune remise ne peut avoir cet identifiant : 32 caractères hexadécimaux attendus."
        )
    return batch_id


BatchIdInPath = Annotated[str, Depends(batch_id_in_path)]
