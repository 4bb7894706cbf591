"""Documents on files (the USB-key route): reading the region's, writing the site's.

Every file the site writes is readable by its owner only (0600): batches, exports, requests
and receipts name the site's passes and people's references.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from mediateur_tui.protocol.documents import DocumentTooLarge, load_json
from mediateur_tui.protocol.formats import MAX_DOCUMENT_BYTES
from mediateur_tui.sync.errors import SyncError


def read_document_file(path: Path, expected_format: str) -> dict[str, Any]:
    """A `.json.gz` or plain JSON document of `expected_format`, parsed but not yet verified.
    No more of the file is read than its format's cap: a larger file is refused."""
    limit = MAX_DOCUMENT_BYTES[expected_format]
    try:
        with path.open("rb") as stream:
            data = stream.read(limit + 1)
    except FileNotFoundError as error:
        raise SyncError(f"Fichier introuvable : {path}") from error
    except OSError as error:
        raise SyncError(f"Fichier illisible : {path} ({error.strerror}).") from error
    if len(data) > limit:
        raise DocumentTooLarge(expected_format)
    return load_json(data, expected_format)


def write_file(path: Path, data: bytes) -> Path:
    """Writes `path` whole or not at all: a temporary file, synced to disk, then renamed over
    it (a USB key pulled out mid-write never leaves half a document)."""
    temporary = path.with_name(path.name + ".tmp")
    with os.fdopen(_open_private(temporary), "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    temporary.replace(path)
    return path


@contextmanager
def private_text_file(path: Path, encoding: str = "utf-8") -> Iterator[IO[str]]:
    """`path` opened for writing text (a CSV), readable by its owner only."""
    with os.fdopen(_open_private(path), "w", encoding=encoding, newline="") as stream:
        yield stream


def make_private(path: Path) -> Path:
    """A file written by a library (a PDF): readable by its owner only."""
    os.chmod(path, 0o600)
    return path


def _open_private(path: Path) -> int:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # a file that existed keeps its mode otherwise
    return descriptor
