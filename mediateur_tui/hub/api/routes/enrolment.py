"""POST /v1/enrolment: a site enrols with its one-time token and receives its API key."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from mediateur_tui.hub.api.bodies import json_response, read_document
from mediateur_tui.hub.api.deps import CurrentHub
from mediateur_tui.hub.api.models import Enrolment, EnrolmentRequest
from mediateur_tui.hub.api.openapi import error_responses, request_body
from mediateur_tui.hub.enrolment import complete_enrolment
from mediateur_tui.protocol.formats import ENROLMENT_REQUEST

router = APIRouter(tags=["inscription"])


@router.post(
    "/enrolment",
    summary="Inscrire un site avec son jeton à usage unique",
    status_code=201,
    response_model=Enrolment,
    responses={
        201: {"description": "Site inscrit : clé d'accès et clé publique de la région."},
        **error_responses(400, 401, 409, 413, 503),
    },
    openapi_extra=request_body(EnrolmentRequest, "pn-enrolment-request/1"),
)
async def enrol(request: Request, current: CurrentHub) -> Response:
    document = await read_document(request, ENROLMENT_REQUEST)
    answer = await run_in_threadpool(complete_enrolment, current, document)
    return json_response(answer, status_code=201)
