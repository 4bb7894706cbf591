"""What the command modules share: the exit codes and `Commands`, where each adds its own."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from mediateur_tui.hub.database import Hub, HubSettings, open_hub

EXIT_OK = 0
EXIT_ERROR = 2

Handler = Callable[[argparse.Namespace, HubSettings], int]


@contextmanager
def opened_hub_of(settings: HubSettings) -> Iterator[Hub]:
    """The hub, open for the command's work, closed when it ends (however it ends)."""
    hub = open_hub(settings)
    try:
        yield hub
    finally:
        hub.engine.dispose()


class Commands:
    """The sub-commands of `mediateur-hub`; each takes --dir and --db too, as the main one."""

    def __init__(self, parser: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
        self._subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMANDE")
        self._common = common

    @property
    def common(self) -> argparse.ArgumentParser:
        """The options every command takes (--dir, --db), for a command's own sub-commands."""
        return self._common

    def add(self, name: str, help_text: str, handler: Handler) -> argparse.ArgumentParser:
        """A new sub-command, run by `handler(args, settings)`, whose options the caller adds."""
        sub = self._subparsers.add_parser(
            name, help=help_text, description=help_text, parents=[self._common]
        )
        sub.set_defaults(handler=handler)
        return sub

    def group(self, name: str, help_text: str) -> Commands:
        """A sub-command with sub-commands of its own (`mediateur-hub keys list`)."""
        sub = self._subparsers.add_parser(
            name, help=help_text, description=help_text, parents=[self._common]
        )
        return Commands(sub, self._common)
