"""The demo hub served in the app's own process, on a loopback port chosen by the system, for
as long as the app runs. Its log goes where the app's goes (the data folder's log file), never
to the terminal the app draws on."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mediateur_tui.domain.errors import UserError
from mediateur_tui.hub.database import HubSettings

if TYPE_CHECKING:
    import uvicorn

STARTUP_SECONDS = 30
STOP_SECONDS = 10


class DemoHubDidNotStart(UserError):
    pass


@contextmanager
def serving(settings: HubSettings) -> Iterator[str]:
    """Serves the hub of `settings` on 127.0.0.1; yields its address."""
    import uvicorn

    from mediateur_tui.hub.api import create_app

    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.bind(("127.0.0.1", 0))
    listening.listen(128)
    port = listening.getsockname()[1]
    config = uvicorn.Config(create_app(settings), log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listening]}, name="demo-hub", daemon=True
    )
    thread.start()
    try:
        _wait_until_started(server, thread)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(STOP_SECONDS)
        listening.close()


def _wait_until_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise DemoHubDidNotStart(
                "Le hub de démonstration n'a pas démarré (le détail est dans mediateur.log)."
            )
        time.sleep(0.01)  # uvicorn says it has started by this flag only
