"""Reading the region's signed documents from files (the USB-key route)."""

from __future__ import annotations

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
