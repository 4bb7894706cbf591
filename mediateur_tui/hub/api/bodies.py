"""Reading a request body within a size limit, and answering a protocol document as JSON,
gzip'd or not.

Documents are answered as the hub signed them (`dump_json`), never re-serialised by FastAPI.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from mediateur_tui.hub.errors import HubError
from mediateur_tui.protocol.documents import dump_gzip_json, dump_json

MAX_BODY_BYTES = 64 * 1024 * 1024  # as sent (gzip'd or not); load_json caps the JSON itself
JSON = "application/json"


class BodyTooLarge(HubError):
    """HTTP 413: the request body is over MAX_BODY_BYTES."""

    def __init__(self) -> None:
        super().__init__(f"Document trop volumineux ({MAX_BODY_BYTES // 1024 // 1024} Mo au plus).")


async def read_body(request: Request) -> bytes:
    """The request body, refused as soon as its declared or received size is over the limit."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLarge()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def json_response(
    document: dict[str, Any], status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(dump_json(document), status_code=status_code, media_type=JSON, headers=headers)


def gzip_response(document: dict[str, Any]) -> Response:
    return Response(dump_gzip_json(document), media_type=JSON, headers={"Content-Encoding": "gzip"})


def negotiated_response(document: dict[str, Any], request: Request) -> Response:
    """Plain JSON, or gzip'd JSON when the client accepts it."""
    if "gzip" in request.headers.get("accept-encoding", ""):
        return gzip_response(document)
    return json_response(document)
