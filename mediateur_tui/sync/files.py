"""Documents on files (the USB-key route): reading the region's, writing the site's."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mediateur_tui.protocol.documents import load_json
from mediateur_tui.sync.errors import SyncError


def read_document_file(path: Path, expected_format: str) -> dict[str, Any]:
    """A `.json.gz` or plain JSON document of `expected_format`, parsed but not yet verified."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as error:
        raise SyncError(f"Fichier introuvable : {path}") from error
    except OSError as error:
        raise SyncError(f"Fichier illisible : {path} ({error.strerror}).") from error
    return load_json(data, expected_format)


def write_file(path: Path, data: bytes) -> Path:
    """Writes `path` whole or not at all: a temporary file, synced to disk, then renamed over
    it (a USB key pulled out mid-write never leaves half a document)."""
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    temporary.replace(path)
    return path
