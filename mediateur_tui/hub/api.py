"""The hub's HTTP API (FastAPI): enrolment, replica pages, batch intake, acknowledgements,
attributions of carnets by distributor sites and the region's beneficiary key for them.

Errors are JSON `{"detail": "<message en français>"}`: 400 bad document or signature (and bad
parameters), 401 missing or unknown API key, 403 another site's batch or attributions, or
attributions from (or the beneficiary key for) a site that is not a distributor, 404,
409 conflict, 413 body too large, 503 hub not initialised. `create_app(settings)` opens the
database at the first request, so `create_app(...).openapi()` works without a hub
(schema/openapi.json).

No `from __future__ import annotations` here: FastAPI reads the `Depends(...)` of the routes'
annotations, which name functions local to `create_app`.
"""

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from mediateur_tui.hub import api_models as docs
from mediateur_tui.hub.attributions import receive_attributions
from mediateur_tui.hub.database import Hub, HubSettings, open_hub
from mediateur_tui.hub.enrolment import authenticate, beneficiary_key_document, complete_enrolment
from mediateur_tui.hub.errors import (
    Conflict,
    Forbidden,
    HubError,
    NotFound,
    NotInitialised,
    Unauthorised,
)
from mediateur_tui.hub.intake import receive_batch, stored_ack
from mediateur_tui.hub.models import HubSite
from mediateur_tui.hub.replica import DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, changes_page
from mediateur_tui.protocol.documents import dump_gzip_json, dump_json, load_json
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import ATTRIBUTIONS, BATCH, ENROLMENT_REQUEST, PROTOCOL_VERSION

MAX_BODY_BYTES = 64 * 1024 * 1024  # as sent (gzip'd or not); load_json caps the JSON itself
_STATUS = {Unauthorised: 401, Forbidden: 403, NotFound: 404, Conflict: 409, NotInitialised: 503}
_ERRORS = {
    400: "Document, signature ou paramètre invalide.",
    401: "Clé d'accès manquante ou inconnue.",
    403: "Ressource d'un autre site, ou site non distributeur.",
    404: "Introuvable.",
    409: "Conflit avec ce que le hub a déjà reçu.",
    413: "Document trop volumineux.",
    503: "Hub non initialisé.",
}
_bearer = HTTPBearer(auto_error=False, description="Clé d'accès du site (pn-enrolment/1).")


class _LazyHub:
    """Opens the hub at the first request (thread-safe), closes it at shutdown."""

    def __init__(self, settings: HubSettings) -> None:
        self.settings = settings
        self._hub: Hub | None = None
        self._lock = threading.Lock()

    def get(self) -> Hub:
        with self._lock:
            if self._hub is None:
                self._hub = open_hub(self.settings)
            return self._hub

    def close(self) -> None:
        with self._lock:
            if self._hub is not None:
                self._hub.engine.dispose()
                self._hub = None


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"model": docs.ErrorResponse, "description": _ERRORS[status]} for status in statuses
    }


def create_app(settings: HubSettings) -> FastAPI:
    holder = _LazyHub(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        holder.close()

    app = FastAPI(
        title="mediateur-hub",
        version=f"{PROTOCOL_VERSION}",
        summary="Hub de référence d'une région : protocole de synchronisation des pass numériques",
        description=(
            "Inscription des sites, publication du registre (pages de réplique signées), "
            "réception des remises mensuelles et accusés de réception ligne par ligne, "
            "attributions de carnets par les sites distributeurs (plafonds régionaux). "
            "Contrat : docs/protocol.md et schema/."
        ),
        lifespan=lifespan,
    )
    _install_error_handlers(app)

    def hub() -> Hub:
        return holder.get()

    def site(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        current: Annotated[Hub, Depends(hub)],
    ) -> HubSite:
        return authenticate(current, credentials.credentials if credentials else None)

    @app.get(
        "/v1/health",
        tags=["hub"],
        summary="État du hub",
        response_model=docs.Health,
        responses=_errors(503),
    )
    def health(current: Annotated[Hub, Depends(hub)]) -> Response:
        return JSONResponse(
            {"status": "ok", "region_id": current.region_id, "protocol_version": PROTOCOL_VERSION}
        )

    @app.post(
        "/v1/enrolment",
        tags=["inscription"],
        summary="Inscrire un site avec son jeton à usage unique",
        status_code=201,
        response_model=docs.Enrolment,
        responses={
            201: {"description": "Site inscrit : clé d'accès et clé publique de la région."},
            **_errors(400, 401, 409, 413, 503),
        },
        openapi_extra=_request_body(docs.EnrolmentRequest, "pn-enrolment-request/1"),
    )
    async def enrol(request: Request, current: Annotated[Hub, Depends(hub)]) -> Response:
        document = load_json(await _read_body(request), ENROLMENT_REQUEST)
        answer = await run_in_threadpool(complete_enrolment, current, document)
        return Response(dump_json(answer), status_code=201, media_type="application/json")

    @app.get(
        "/v1/replica/changes",
        tags=["réplique"],
        summary="Changements du registre après un curseur (page signée, gzip)",
        response_model=docs.ReplicaPage,
        responses={
            200: {
                "description": "pn-replica-page/1, compressé (Content-Encoding: gzip).",
                "headers": {
                    "Content-Encoding": {"description": "gzip", "schema": {"type": "string"}}
                },
            },
            **_errors(400, 401, 503),
        },
    )
    def replica_changes(
        current: Annotated[Hub, Depends(hub)],
        _site: Annotated[HubSite, Depends(site)],
        since: Annotated[int, Query(ge=0, description="Curseur reçu (0 au départ).")] = 0,
        limit: Annotated[
            int, Query(ge=1, le=MAX_PAGE_LIMIT, description="Changements par page au plus.")
        ] = DEFAULT_PAGE_LIMIT,
    ) -> Response:
        page = changes_page(current, since, limit)
        return Response(
            dump_gzip_json(page),
            media_type="application/json",
            headers={"Content-Encoding": "gzip"},
        )

    @app.post(
        "/v1/batches",
        tags=["remises"],
        summary="Remettre une remise mensuelle signée (gzip accepté)",
        response_model=docs.Ack,
        responses={
            200: {"description": "pn-ack/1 : un verdict par ligne (le même si déjà reçue)."},
            **_errors(400, 401, 403, 409, 413, 503),
        },
        openapi_extra=_request_body(docs.Batch, "pn-batch/1, JSON ou gzip"),
    )
    async def post_batch(
        request: Request,
        current: Annotated[Hub, Depends(hub)],
        poster: Annotated[HubSite, Depends(site)],
    ) -> Response:
        document = load_json(await _read_body(request), BATCH)
        result = await run_in_threadpool(receive_batch, current, document, poster.id)
        return _json(result.ack, request)

    @app.get(
        "/v1/batches/{batch_id}/ack",
        tags=["remises"],
        summary="Accusé de réception d'une remise déjà reçue",
        response_model=docs.Ack,
        responses={
            200: {"description": "pn-ack/1"},
            **_errors(401, 403, 404, 503),
        },
    )
    def get_ack(
        batch_id: str,
        request: Request,
        current: Annotated[Hub, Depends(hub)],
        reader: Annotated[HubSite, Depends(site)],
    ) -> Response:
        found = stored_ack(current, batch_id)
        if found is None:
            raise NotFound(f"Aucune remise {batch_id} reçue par le hub.")
        owner, ack = found
        if owner != reader.id:
            raise Forbidden("Cette remise est celle d'un autre site.")
        return _json(ack, request)

    @app.post(
        "/v1/attributions",
        tags=["attributions"],
        summary="Envoyer les attributions de carnets d'un site distributeur (gzip accepté)",
        response_model=docs.AttributionAnswer,
        responses={
            200: {
                "description": "pn-attribution-answer/1 : un verdict par attribution (le même "
                "pour une attribution déjà reçue de ce site ; refusée, motif invalid, quand un "
                "autre site a déjà utilisé son identifiant)."
            },
            **_errors(400, 401, 403, 413, 503),
        },
        openapi_extra=_request_body(docs.Attributions, "pn-attributions/1, JSON ou gzip"),
    )
    async def post_attributions(
        request: Request,
        current: Annotated[Hub, Depends(hub)],
        poster: Annotated[HubSite, Depends(site)],
    ) -> Response:
        document = load_json(await _read_body(request), ATTRIBUTIONS)
        answer = await run_in_threadpool(receive_attributions, current, document, poster.id)
        return _json(answer, request)

    @app.get(
        "/v1/beneficiary-key",
        tags=["attributions"],
        summary="Clé des bénéficiaires de la région, pour un site distributeur",
        response_model=docs.BeneficiaryKey,
        responses={
            200: {
                "description": "pn-beneficiary-key/1 : la clé (un secret), signée par la région. "
                "Le site la demande à chaque synchronisation tant qu'il ne l'a pas.",
                "headers": {
                    "Cache-Control": {"description": "no-store", "schema": {"type": "string"}}
                },
            },
            **_errors(401, 403, 503),
        },
    )
    def beneficiary_key(
        current: Annotated[Hub, Depends(hub)],
        reader: Annotated[HubSite, Depends(site)],
    ) -> Response:
        document = beneficiary_key_document(current, reader)
        return Response(
            dump_json(document),
            media_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    app.openapi = _openapi_builder(app)  # type: ignore[method-assign]
    return app


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _TooLarge()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _TooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


class _TooLarge(HubError):
    def __init__(self) -> None:
        super().__init__(f"Document trop volumineux ({MAX_BODY_BYTES // 1024 // 1024} Mo au plus).")


def _json(document: dict[str, Any], request: Request) -> Response:
    """Plain JSON, or gzip'd JSON when the client accepts it."""
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(
            dump_gzip_json(document),
            media_type="application/json",
            headers={"Content-Encoding": "gzip"},
        )
    return Response(dump_json(document), media_type="application/json")


def _install_error_handlers(app: FastAPI) -> None:
    def detail(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"detail": message}, status_code=status, headers=headers)

    @app.exception_handler(HubError)
    async def hub_error(_request: Request, error: HubError) -> JSONResponse:
        if isinstance(error, _TooLarge):
            return detail(413, str(error))
        status = next((code for kind, code in _STATUS.items() if isinstance(error, kind)), 400)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return detail(status, str(error), headers)

    @app.exception_handler(ProtocolError)
    async def protocol_error(_request: Request, error: ProtocolError) -> JSONResponse:
        return detail(400, str(error))

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        names = sorted({str(item["loc"][-1]) for item in error.errors() if item.get("loc")})
        return detail(400, f"Paramètre invalide : {', '.join(names) or 'requête'}.")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        messages = {404: "Adresse inconnue du hub.", 405: "Méthode non autorisée ici."}
        return detail(error.status_code, messages.get(error.status_code, str(error.detail)))


def _request_body(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        }
    }


def _openapi_builder(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """OpenAPI with the raw-body request models and without FastAPI's 422 (we answer 400)."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (docs.Batch, docs.Attributions, docs.EnrolmentRequest, docs.ErrorResponse):
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(model_schema.pop("$defs", {}))
            components[model.__name__] = model_schema
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.get("responses", {})
                if responses.pop("422", None) is not None and "400" not in responses:
                    responses["400"] = {
                        "description": _ERRORS[400],
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ErrorResponse"}
                            }
                        },
                    }
        app.openapi_schema = schema
        return schema

    return build
