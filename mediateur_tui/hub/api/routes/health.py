"""GET /v1/health: whether the hub is up, for which region and protocol version."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from mediateur_tui.hub.api.deps import CurrentHub
from mediateur_tui.hub.api.models import Health
from mediateur_tui.hub.api.openapi import error_responses
from mediateur_tui.protocol.formats import PROTOCOL_VERSION

router = APIRouter(tags=["hub"])


@router.get(
    "/health",
    summary="État du hub",
    response_model=Health,
    responses=error_responses(503),
)
def health(current: CurrentHub) -> Response:
    return JSONResponse(
        {"status": "ok", "region_id": current.region_id, "protocol_version": PROTOCOL_VERSION}
    )
