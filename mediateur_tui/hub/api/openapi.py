"""The hub's OpenAPI document (schema/openapi.json): the routes' response and request-body
descriptions, and the builder that completes what FastAPI generates.

The routes that carry a protocol document read the raw body themselves (to check it and keep
its signed bytes), so FastAPI sees no body model there: `request_body(...)` describes it,
and the builder adds those models to the components.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from mediateur_tui.hub.api.models import (
    Attributions,
    Batch,
    Declaration,
    EnrolmentRequest,
    ErrorResponse,
)

_ERROR_DESCRIPTIONS = {
    400: "Document, signature ou paramètre invalide.",
    401: "Clé d'accès manquante ou inconnue.",
    403: "Site radié par la région, ressource d'un autre site, ou site non distributeur.",
    404: "Introuvable.",
    409: "Conflit avec ce que le hub a déjà reçu.",
    413: "Document trop volumineux.",
    503: "Hub non initialisé.",
}
# The raw-body models, which FastAPI does not see, and ErrorResponse, which the 400s that
# replace FastAPI's 422s refer to.
_COMPONENT_MODELS = (Batch, Declaration, Attributions, EnrolmentRequest, ErrorResponse)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a route for these error statuses."""
    return {
        status: {"model": ErrorResponse, "description": _ERROR_DESCRIPTIONS[status]}
        for status in statuses
    }


def request_body(model: type[BaseModel], description: str) -> dict[str, Any]:
    """The `openapi_extra` of a route that reads a `model` document from its raw body."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        }
    }


def openapi_builder(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """`app.openapi`: FastAPI's document with the raw-body request models, and without
    FastAPI's 422 (the hub answers 400)."""

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
        _add_component_models(schema)
        _replace_validation_errors(schema)
        app.openapi_schema = schema
        return schema

    return build


def _add_component_models(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in _COMPONENT_MODELS:
        model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(model_schema.pop("$defs", {}))
        components[model.__name__] = model_schema


def _replace_validation_errors(schema: dict[str, Any]) -> None:
    """Each operation's 422 becomes the hub's 400, and FastAPI's models for it go."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None and "400" not in responses:
                responses["400"] = {
                    "description": _ERROR_DESCRIPTIONS[400],
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/ErrorResponse"}
                        }
                    },
                }
