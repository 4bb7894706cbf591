"""POST /v1/batches and GET /v1/batches/{batch_id}/ack: a site hands in its monthly batch
and gets the hub's acknowledgement, one verdict per line."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from mediateur_tui.hub.api.bodies import negotiated_response, read_document
from mediateur_tui.hub.api.deps import AuthenticatedSite, BatchIdInPath, CurrentHub
from mediateur_tui.hub.api.models import Ack, Batch
from mediateur_tui.hub.api.openapi import error_responses, request_body
from mediateur_tui.hub.errors import Forbidden, NotFound
from mediateur_tui.hub.intake import receive_batch, stored_ack
from mediateur_tui.protocol.formats import BATCH

router = APIRouter(tags=["remises"])


@router.post(
    "/batches",
    summary="Remettre une remise mensuelle signée (gzip accepté)",
    response_model=Ack,
    responses={
        200: {"description": "pn-ack/1 : un verdict par ligne (le même si déjà reçue)."},
        **error_responses(400, 401, 403, 409, 413, 503),
    },
    openapi_extra=request_body(Batch, "pn-batch/1, JSON ou gzip"),
)
async def post_batch(request: Request, current: CurrentHub, poster: AuthenticatedSite) -> Response:
    document = await read_document(request, BATCH)
    result = await run_in_threadpool(receive_batch, current, document, poster.id)
    return negotiated_response(result.ack, request)


@router.get(
    "/batches/{batch_id}/ack",
    summary="Accusé de réception d'une remise déjà reçue",
    response_model=Ack,
    responses={
        200: {"description": "pn-ack/1"},
        **error_responses(401, 403, 404, 503),
    },
)
def get_ack(
    batch_id: BatchIdInPath, request: Request, current: CurrentHub, reader: AuthenticatedSite
) -> Response:
    found = stored_ack(current, batch_id)
    if found is None:
        raise NotFound(f"Aucune remise {batch_id} reçue par le hub.")
    owner, ack = found
    if owner != reader.id:
        raise Forbidden("Cette remise est celle d'un autre site.")
    return negotiated_response(ack, request)
