"""POST /v1/declarations and GET /v1/recovery: a site declares its redemptions and
cancellations the day they happen, and a new computer of a site gets back what the region
holds from it."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from mediateur_tui.hub.api.bodies import negotiated_response, read_document
from mediateur_tui.hub.api.deps import AuthenticatedSite, CurrentHub
from mediateur_tui.hub.api.models import Declaration, DeclarationAnswer, SiteRecovery
from mediateur_tui.hub.api.openapi import error_responses, request_body
from mediateur_tui.hub.declarations import receive_declaration, site_recovery
from mediateur_tui.protocol.formats import DECLARATION

router = APIRouter(tags=["déclarations"])


@router.post(
    "/declarations",
    summary="Déclarer des encaissements et des annulations le jour même (gzip accepté)",
    response_model=DeclarationAnswer,
    responses={
        200: {
            "description": "pn-declaration-answer/1 : un verdict par encaissement (le même "
            "s'il est déclaré de nouveau), un état par annulation."
        },
        **error_responses(400, 401, 403, 413, 503),
    },
    openapi_extra=request_body(Declaration, "pn-declaration/1, JSON ou gzip"),
)
async def post_declaration(
    request: Request, current: CurrentHub, poster: AuthenticatedSite
) -> Response:
    document = await read_document(request, DECLARATION)
    answer = await run_in_threadpool(receive_declaration, current, document, poster.id)
    return negotiated_response(answer, request)


@router.get(
    "/recovery",
    summary="Ce que la région détient du site : ses remises et ses déclarations en cours",
    response_model=SiteRecovery,
    responses={
        200: {"description": "pn-site-recovery/1"},
        **error_responses(401, 403, 503),
    },
)
async def get_recovery(
    request: Request, current: CurrentHub, reader: AuthenticatedSite
) -> Response:
    document = await run_in_threadpool(site_recovery, current, reader.id)
    return negotiated_response(document, request)
