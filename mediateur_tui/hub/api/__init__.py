"""The hub's HTTP API (FastAPI): enrolment, replica pages, batch intake, acknowledgements,
declarations of the day's redemptions and a site's recovery,
attributions of carnets by distributor sites and the region's beneficiary key for them.

One router per resource in `routes/`, what they depend on (the hub, the authenticated site)
in `deps.py`, the error answers in `errors.py`, the OpenAPI document's additions in
`openapi.py`. `create_app(settings)` opens the database at the first request, so
`create_app(...).openapi()` works without a hub (schema/openapi.json). `app_from_environment`
is the factory the workers of `serve --workers N` import.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from mediateur_tui.hub.api.deps import HubHolder
from mediateur_tui.hub.api.errors import EXCEPTION_HANDLERS
from mediateur_tui.hub.api.openapi import openapi_builder
from mediateur_tui.hub.api.routes import (
    attributions,
    batches,
    declarations,
    enrolment,
    health,
    replica,
)
from mediateur_tui.hub.database import HubSettings, resolve_settings
from mediateur_tui.protocol.formats import PROTOCOL_VERSION

API_PREFIX = "/v1"
DESCRIPTION = (
    "Inscription des sites, publication du registre (pages de réplique signées), "
    "réception des remises mensuelles et accusés de réception ligne par ligne, "
    "déclarations des encaissements le jour même, reprise des données d'un site, "
    "attributions de carnets par les sites distributeurs (plafonds régionaux). "
    "Contrat : docs/protocol.md et schema/."
)


def create_app(settings: HubSettings) -> FastAPI:
    app = FastAPI(
        title="mediateur-hub",
        version=f"{PROTOCOL_VERSION}",
        summary="Hub de référence d'une région : protocole de synchronisation des pass numériques",
        description=DESCRIPTION,
        lifespan=_close_hub_at_shutdown,
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.hub_holder = HubHolder(settings)
    for module in (health, enrolment, replica, batches, declarations, attributions):
        app.include_router(module.router, prefix=API_PREFIX)
    # FastAPI's documented way to replace the document; mypy sees a method overwritten.
    app.openapi = openapi_builder(app)  # type: ignore[method-assign]
    return app


def app_from_environment() -> FastAPI:
    """The app of the hub named by MEDIATEUR_HUB_DIR and MEDIATEUR_HUB_DB: the factory each
    worker of `mediateur-hub serve --workers N` calls."""
    return create_app(resolve_settings())


@asynccontextmanager
async def _close_hub_at_shutdown(app: FastAPI) -> AsyncIterator[None]:
    yield
    app.state.hub_holder.close()
