"""Documents as bytes: JSON, gzip-compressed JSON, and loading either within its limits.

Every document read from outside (a request body, an answer, a file) goes through
`load_json`, which refuses before parsing what would cost the reader too much: more bytes than
its format's cap once decompressed (a gzip bomb is never decompressed past the cap), and
arrays or objects nested deeper than MAX_DOCUMENT_DEPTH (json.loads recurses into every level).
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from typing import Any

from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import KIB, MAX_DOCUMENT_BYTES, MAX_DOCUMENT_DEPTH, MIB

_GZIP_MAGIC = b"\x1f\x8b"
GZIP_LEVEL = 6

_STRUCTURE = b'"[]{}'  # what the depth measure keeps of a JSON text: quotes and brackets
_NOT_STRUCTURE = bytes(set(range(256)) - set(_STRUCTURE))
_CURLY_AS_SQUARE = bytes.maketrans(b"{}", b"[]")
_STRING_WITH_BRACKETS = re.compile(rb'"[^"]*"')


def dump_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def dump_gzip_json(document: dict[str, Any]) -> bytes:
    """Gzip-compressed JSON (mtime 0, so the same document always gives the same bytes)."""
    return gzip.compress(dump_json(document), compresslevel=GZIP_LEVEL, mtime=0)


def load_json(data: bytes, expected_format: str, also: tuple[str, ...] = ()) -> dict[str, Any]:
    """Parses JSON or gzip-compressed JSON and checks its `format` (`expected_format`, or
    one of `also`); French errors.

    Refuses, before parsing, a document over its format's cap (MAX_DOCUMENT_BYTES) once
    decompressed, or nested deeper than MAX_DOCUMENT_DEPTH.
    """
    limit = MAX_DOCUMENT_BYTES[expected_format]
    if data[:2] == _GZIP_MAGIC:
        data = _gunzip_within(data, limit, expected_format)
    elif len(data) > limit:
        raise DocumentTooLarge(expected_format)
    if nesting_depth(data) > MAX_DOCUMENT_DEPTH:
        raise _too_deep()
    try:
        document = json.loads(data.decode("utf-8"))
    except ValueError as error:  # not UTF-8, not JSON, an integer past Python's 4,300 digits
        raise ProtocolError("Fichier illisible : ce n'est pas un document JSON valide.") from error
    except RecursionError as error:  # a safety net: nesting_depth refuses these first
        raise _too_deep() from error
    if not isinstance(document, dict) or document.get("format") not in (expected_format, *also):
        found = document.get("format") if isinstance(document, dict) else None
        raise ProtocolError(
            f"Ce fichier n'est pas du type attendu ({expected_format}) : type « {found} »."
        )
    return document


class DocumentTooLarge(ProtocolError):
    """A document over its format's cap (MAX_DOCUMENT_BYTES), as sent or once decompressed."""

    def __init__(self, expected_format: str) -> None:
        limit = readable_size(MAX_DOCUMENT_BYTES[expected_format])
        super().__init__(
            f"Document trop volumineux : un document {expected_format} fait au plus {limit}."
        )


def readable_size(size: int) -> str:
    """A size in bytes for a French reader, in Mo or Ko when it is a whole number of them."""
    for unit, name in ((MIB, "Mo"), (KIB, "Ko")):
        if size >= unit and size % unit == 0:
            return f"{size // unit} {name}"
    return f"{size} octets"


def nesting_depth(data: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (0 for a bare value), measured
    without parsing, so without recursing. Counting stops past MAX_DOCUMENT_DEPTH: a deeper
    text gives MAX_DOCUMENT_DEPTH + 1.

    Only the brackets outside strings count. Each round removes every innermost pair `[]`:
    a JSON text nested N deep is empty after N rounds. Unbalanced brackets that no round can
    peel (not JSON: json.loads will say so) count one level for each opening bracket.
    """
    brackets = _brackets_outside_strings(data)
    depth = 0
    while brackets and depth <= MAX_DOCUMENT_DEPTH:
        peeled = brackets.replace(b"[]", b"")
        if len(peeled) == len(brackets):
            return depth + brackets.count(b"[")
        brackets = peeled
        depth += 1
    return depth


def _brackets_outside_strings(data: bytes) -> bytes:
    """The brackets of a JSON text that are not inside a string, objects' `{}` as `[]`.

    Bytes operations only (C speed): escaped backslashes and quotes go first (when there is
    a backslash at all, which memchr finds at once), so that every quote left opens or closes
    a string; then everything but quotes and brackets goes. Two quotes side by side are an
    empty string, or the end of one string and the start of the next with nothing structural
    between them: removing them changes no bracket. The few quotes left enclose strings that
    hold brackets, which the regex removes.
    """
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = data.translate(_CURLY_AS_SQUARE, delete=_NOT_STRUCTURE)
    skeleton = skeleton.replace(b'""', b"")
    return _STRING_WITH_BRACKETS.sub(b"", skeleton)


def _too_deep() -> ProtocolError:
    return ProtocolError(
        "Document refusé : ses listes et objets sont imbriqués sur plus de "
        f"{MAX_DOCUMENT_DEPTH} niveaux (un document du protocole en a bien moins)."
    )


def _gunzip_within(data: bytes, limit: int, expected_format: str) -> bytes:
    """Decompresses gzip `data`, refused as soon as the output passes `limit`: zlib stops
    there (`max_length`), so a gzip bomb costs its cap (twice, while zlib joins its output
    buffers), not what it would expand to."""
    decompressor = zlib.decompressobj(wbits=31)
    try:
        out = decompressor.decompress(data, limit + 1)
    except zlib.error as error:
        raise _damaged_gzip() from error
    if len(out) > limit:
        raise DocumentTooLarge(expected_format)
    if not decompressor.eof:
        raise _damaged_gzip()
    return out


def _damaged_gzip() -> ProtocolError:
    return ProtocolError("Fichier compressé endommagé (gzip illisible).")
