"""A real `mediateur-hub serve --port 0` process on 127.0.0.1, for the API and end-to-end tests.

    with HubProcess.start(folder) as hub:              # SQLite in `folder`
        httpx.get(f"{hub.url}/v1/health")
    HubProcess.start(folder, database_url=pg_url)      # PostgreSQL
    HubProcess.start(folder, workers=2)                # two uvicorn worker processes

The hub must already be initialised (`mediateur-hub init`) in `folder` (and in the database).
The port is read from uvicorn's log line, within STARTUP_SECONDS.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

STARTUP_SECONDS = 30
_LISTENING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


def hub_program() -> list[str]:
    """The `mediateur-hub` console script of this environment (or its module)."""
    script = Path(sys.executable).with_name("mediateur-hub")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mediateur_tui.hub.cli"]


@dataclass
class HubProcess:
    url: str
    process: subprocess.Popen
    log: list[str] = field(default_factory=list)
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)  # not read yet

    @classmethod
    def start(cls, folder: Path, database_url: str | None = None, workers: int = 1) -> HubProcess:
        """Starts the server on a free port; fails the test (with its log) if it does not start."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIATEUR_HUB_")}
        command = [*hub_program(), "serve", "--dir", str(folder), "--host", "127.0.0.1"]
        command += ["--port", "0", "--workers", str(workers)]
        if database_url is not None:
            command += ["--db", database_url]
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
        )
        lines: queue.Queue[str | None] = queue.Queue()
        log: list[str] = []

        def drain() -> None:  # keeps reading, so that the server never blocks on a full pipe
            assert process.stderr is not None
            for text in process.stderr:
                log.append(text)
                lines.put(text)
            lines.put(None)

        threading.Thread(target=drain, daemon=True).start()
        hub = cls(url="", process=process, log=log, lines=lines)
        try:
            port = _wait_for_port(lines, log)
            hub.url = f"http://127.0.0.1:{port}"
            assert httpx.get(f"{hub.url}/v1/health", timeout=10).status_code == 200
        except BaseException:
            hub.stop()
            raise
        return hub

    def wait_for_lines(self, pattern: re.Pattern[str], count: int) -> list[str]:
        """The first group of the next `count` log lines matching `pattern`, waiting for them
        (bounded by STARTUP_SECONDS); fails the test with the log if they do not come."""
        found: list[str] = []
        deadline = time.monotonic() + STARTUP_SECONDS
        while len(found) < count and (remaining := deadline - time.monotonic()) > 0:
            try:
                text = self.lines.get(timeout=remaining)
            except queue.Empty:
                break
            if text is None:
                break
            match = pattern.search(text)
            if match:
                found.append(match.group(1))
        if len(found) < count:
            pytest.fail(f"{count} lines like {pattern.pattern} expected:\n" + "".join(self.log))
        return found

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> HubProcess:
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()


def _wait_for_port(lines: queue.Queue[str | None], log: list[str]) -> int:
    """Reads the server's log until it says where it listens (bounded by STARTUP_SECONDS)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            text = lines.get(timeout=remaining)
        except queue.Empty:
            break
        if text is None:
            pytest.fail("mediateur-hub serve exited:\n" + "".join(log))
        found = _LISTENING.search(text)
        if found:
            return int(found.group(1))
    pytest.fail("mediateur-hub serve did not start in time:\n" + "".join(log))
