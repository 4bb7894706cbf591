"""Documents as bytes: JSON, gzip-compressed JSON, and loading either with its limits."""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import MAX_DOCUMENT_BYTES


def dump_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def dump_gzip_json(document: dict[str, Any]) -> bytes:
    """Gzip-compressed JSON (mtime 0, so the same document always gives the same bytes)."""
    return gzip.compress(dump_json(document), compresslevel=6, mtime=0)


def load_json(data: bytes, expected_format: str) -> dict[str, Any]:
    """Parses JSON or gzip-compressed JSON and checks its `format`; French errors."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = _gunzip_limited(data)
        except (OSError, EOFError, zlib.error) as error:
            raise ProtocolError("Fichier compressé endommagé (gzip illisible).") from error
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProtocolError("Fichier illisible : ce n'est pas un document JSON valide.") from error
    if not isinstance(document, dict) or document.get("format") != expected_format:
        found = document.get("format") if isinstance(document, dict) else None
        raise ProtocolError(
            f"Ce fichier n'est pas du type attendu ({expected_format}) : type « {found} »."
        )
    return document


def _gunzip_limited(data: bytes) -> bytes:
    decompressor = zlib.decompressobj(wbits=31)
    out = decompressor.decompress(data, MAX_DOCUMENT_BYTES + 1)
    if len(out) > MAX_DOCUMENT_BYTES:
        raise ProtocolError("Document trop volumineux.")
    if not decompressor.eof:
        raise EOFError("truncated gzip stream")
    return out
