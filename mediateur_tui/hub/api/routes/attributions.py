"""POST /v1/attributions and GET /v1/beneficiary-key: a distributor site sends the carnets
it handed out (the region decides against its caps), and fetches the region's beneficiary key
that its pseudonymous references are derived from."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from mediateur_tui.hub.api.bodies import json_response, negotiated_response, read_document
from mediateur_tui.hub.api.deps import AuthenticatedSite, CurrentHub
from mediateur_tui.hub.api.models import AttributionAnswer, Attributions, BeneficiaryKey
from mediateur_tui.hub.api.openapi import error_responses, request_body
from mediateur_tui.hub.attributions import receive_attributions
from mediateur_tui.hub.enrolment import beneficiary_key_document
from mediateur_tui.protocol.formats import ATTRIBUTIONS

router = APIRouter(tags=["attributions"])


@router.post(
    "/attributions",
    summary="Envoyer les attributions de carnets d'un site distributeur (gzip accepté)",
    response_model=AttributionAnswer,
    responses={
        200: {
            "description": "pn-attribution-answer/1 : un verdict par attribution (le même "
            "pour une attribution déjà reçue de ce site ; refusée, motif invalid, quand un "
            "autre site a déjà utilisé son identifiant)."
        },
        **error_responses(400, 401, 403, 413, 503),
    },
    openapi_extra=request_body(Attributions, "pn-attributions/1, JSON ou gzip"),
)
async def post_attributions(
    request: Request, current: CurrentHub, poster: AuthenticatedSite
) -> Response:
    document = await read_document(request, ATTRIBUTIONS)
    answer = await run_in_threadpool(receive_attributions, current, document, poster.id)
    return negotiated_response(answer, request)


@router.get(
    "/beneficiary-key",
    summary="Clé des bénéficiaires de la région, pour un site distributeur",
    response_model=BeneficiaryKey,
    responses={
        200: {
            "description": "pn-beneficiary-key/1 : la clé (un secret), signée par la région. "
            "Le site la demande à chaque synchronisation tant qu'il ne l'a pas.",
            "headers": {"Cache-Control": {"description": "no-store", "schema": {"type": "string"}}},
        },
        **error_responses(401, 403, 503),
    },
)
def beneficiary_key(current: CurrentHub, reader: AuthenticatedSite) -> Response:
    document = beneficiary_key_document(current, reader)
    return json_response(document, headers={"Cache-Control": "no-store"})
