"""Reading a request body within its document's size cap, and answering a protocol document
as JSON, gzip'd or not.

Documents are answered as the hub signed them (`dump_json`), never re-serialised by FastAPI.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from mediateur_tui.hub.errors import HubError
from mediateur_tui.protocol.documents import dump_gzip_json, dump_json, load_json, readable_size
from mediateur_tui.protocol.formats import MAX_DOCUMENT_BYTES

JSON = "application/json"


class BodyTooLarge(HubError):
    """HTTP 413: the request body is over its document's cap, as sent."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"Document trop volumineux ({readable_size(limit)} au plus).")


async def read_body(request: Request, document_format: str) -> bytes:
    """The body of a request carrying a `document_format` document, refused as soon as its
    declared or received size passes that format's cap (MAX_DOCUMENT_BYTES).

    The hub thus holds at most the cap, and one more chunk from the network, of any body: a
    few KiB for the unauthenticated enrolment. A gzip'd body has the same cap as sent, and
    load_json stops decompressing it at the cap.
    """
    limit = MAX_DOCUMENT_BYTES[document_format]
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_document(request: Request, document_format: str) -> dict[str, Any]:
    """The `document_format` document a request carries (JSON or gzip'd JSON, within its
    cap), decompressed and parsed in a thread: a batch of thousands of lines would hold the
    event loop, and every other request of the worker, for as long."""
    body = await read_body(request, document_format)
    return await run_in_threadpool(load_json, body, document_format)


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
