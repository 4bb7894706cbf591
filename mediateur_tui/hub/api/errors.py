"""How the API answers an error: JSON `{"detail": "<message en français>"}`.

400 bad document or signature (and bad parameters), 401 missing or unknown API key, 403 a
site the region struck off (hub.struck_off), another site's batch or attributions, or
attributions from (or the beneficiary key for) a site that is not a distributor, 404, 405
(with the `Allow` header of the address), 409 conflict, 413 body too large, 503 hub not
initialised. FastAPI's own 422 for invalid parameters becomes a 400 here too.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mediateur_tui.hub.api.bodies import BodyTooLarge
from mediateur_tui.hub.errors import (
    Conflict,
    Forbidden,
    HubError,
    NotFound,
    NotInitialised,
    Unauthorised,
)
from mediateur_tui.protocol.errors import ProtocolError

_STATUS: dict[type[HubError], int] = {
    Unauthorised: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    BodyTooLarge: 413,
    NotInitialised: 503,
}
_ROUTING_MESSAGES = {404: "Adresse inconnue du hub.", 405: "Méthode non autorisée ici."}


def _detail(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status, headers=headers)


async def _hub_error(_request: Request, error: HubError) -> JSONResponse:
    status = next((code for kind, code in _STATUS.items() if isinstance(error, kind)), 400)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return _detail(status, str(error), headers)


async def _protocol_error(_request: Request, error: ProtocolError) -> JSONResponse:
    return _detail(400, str(error))


async def _invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
    names = sorted({str(item["loc"][-1]) for item in error.errors() if item.get("loc")})
    return _detail(400, f"Paramètre invalide : {', '.join(names) or 'requête'}.")


async def _http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
    """Routing errors (unknown address, wrong method) and any other HTTPException, with the
    headers it carries (the `Allow` of a 405)."""
    message = _ROUTING_MESSAGES.get(error.status_code, str(error.detail))
    return _detail(error.status_code, message, error.headers)


ExceptionHandler = Callable[[Request, Any], Coroutine[Any, Any, Response]]

# Given to FastAPI(exception_handlers=...), which keeps them over its own defaults.
EXCEPTION_HANDLERS: dict[int | type[Exception], ExceptionHandler] = {
    HubError: _hub_error,
    ProtocolError: _protocol_error,
    RequestValidationError: _invalid_request,
    StarletteHTTPException: _http_error,
}
