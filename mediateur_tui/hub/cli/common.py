"""What the command modules share: the exit codes, `Commands`, where each adds its own, and
`read_document`, how they read a document file."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mediateur_tui.hub.database import HubSettings
from mediateur_tui.protocol.documents import DocumentTooLarge, load_json
from mediateur_tui.protocol.formats import MAX_DOCUMENT_BYTES

EXIT_OK = 0
EXIT_ERROR = 2

Handler = Callable[[argparse.Namespace, HubSettings], int]


class Commands:
    """The sub-commands of `mediateur-hub`; each takes --dir and --db too, as the main one."""

    def __init__(self, parser: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
        self._subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMANDE")
        self._common = common

    def add(self, name: str, help_text: str, handler: Handler) -> argparse.ArgumentParser:
        """A new sub-command, run by `handler(args, settings)`, whose options the caller adds."""
        sub = self._subparsers.add_parser(
            name, help=help_text, description=help_text, parents=[self._common]
        )
        sub.set_defaults(handler=handler)
        return sub


def read_document(path: Path, expected_format: str) -> dict[str, Any]:
    """The `expected_format` document of a file (JSON or gzip'd JSON), parsed within its
    limits (load_json). No more of the file is read than its format's cap: a larger file is
    refused, gzip'd or not, as the hub refuses a larger request body."""
    limit = MAX_DOCUMENT_BYTES[expected_format]
    with path.open("rb") as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise DocumentTooLarge(expected_format)
    return load_json(data, expected_format)
