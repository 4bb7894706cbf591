"""GET /v1/replica/changes: the registry's changes after a cursor, as a signed page: a
pn-replica-page/1, or the compact pn-replica-page/2 for a site that asks for it (`format=2`;
a hub before it ignores the parameter and answers /1, which such a site reads too)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from mediateur_tui.hub.api.bodies import gzip_response
from mediateur_tui.hub.api.deps import AuthenticatedSite, CurrentHub
from mediateur_tui.hub.api.models import CompactReplicaPage, ReplicaPage
from mediateur_tui.hub.api.openapi import error_responses
from mediateur_tui.hub.replica import (
    DEFAULT_PAGE_LIMIT,
    MAX_CURSOR,
    MAX_PAGE_LIMIT,
    changes_page,
)

router = APIRouter(tags=["réplique"])


@router.get(
    "/replica/changes",
    summary="Changements du registre après un curseur (page signée, gzip)",
    response_model=ReplicaPage | CompactReplicaPage,
    responses={
        200: {
            "description": "pn-replica-page/1, ou pn-replica-page/2 si le site le demande "
            "(format=2), compressé (Content-Encoding: gzip).",
            "headers": {"Content-Encoding": {"description": "gzip", "schema": {"type": "string"}}},
        },
        **error_responses(400, 401, 403, 503),
    },
)
def replica_changes(
    current: CurrentHub,
    _site: AuthenticatedSite,
    since: Annotated[
        int, Query(ge=0, le=MAX_CURSOR, description="Curseur reçu (0 au départ).")
    ] = 0,
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE_LIMIT, description="Changements par page au plus.")
    ] = DEFAULT_PAGE_LIMIT,
    page_format: Annotated[
        int,
        Query(
            alias="format",
            ge=1,
            le=2,
            description="Format de page voulu : 1 (pn-replica-page/1) ou 2 "
            "(pn-replica-page/2, les codes des carnets en une chaîne).",
        ),
    ] = 1,
) -> Response:
    return gzip_response(changes_page(current, since, limit, compact=page_format == 2))
